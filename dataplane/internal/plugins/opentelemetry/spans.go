package opentelemetry

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// export records the request as Kong's spans on the exporter: "kong"
// (the request) and, when the service answered, "kong.balancer" (the
// upstream call) below it.
func (p *instance) export(ctx pdk.Context, st *state) {
	r := ctx.Request()
	start := ctx.StartedAt()
	lat := ctx.Latencies()
	end := start.Add(lat.Request)
	if lat.Request <= 0 {
		end = time.Now()
	}

	// The request's context carries the data plane's own span: the
	// exported spans are parented explicitly instead.
	base := trace.ContextWithSpanContext(context.WithoutCancel(ctx.Context()), trace.SpanContext{})
	if st.parentID.IsValid() {
		base = trace.ContextWithRemoteSpanContext(base, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: st.traceID, SpanID: st.parentID, TraceFlags: trace.FlagsSampled, Remote: true,
		}))
	}

	scheme, host := r.Scheme(), r.Host()
	uri := requestURI(r.Path(), r.RawQuery())
	attrs := []attribute.KeyValue{
		attribute.String("http.method", r.Method()),
		attribute.String("http.url", scheme+"://"+host+uri),
		attribute.String("http.host", host),
		attribute.String("http.scheme", scheme),
		attribute.String("http.flavor", flavor(r.HTTPVersion())),
		attribute.String("http.client_ip", ctx.ClientIP()),
		attribute.String("net.peer.ip", ctx.RemoteIP()),
		attribute.String("kong.request.id", ctx.RequestID()),
		attribute.String("http.route", p.routePath(ctx.RouteID())),
	}
	resp := ctx.Response()
	if resp != nil {
		attrs = append(attrs, attribute.Int("http.status_code", resp.Status()))
	}
	rootCtx, root := p.exp.tracer.Start(withIDs(base, st.traceID, st.rootID), "kong",
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start), trace.WithAttributes(attrs...))

	if resp != nil && resp.FromUpstream() {
		bStart := start.Add(lat.Proxy)
		battrs := []attribute.KeyValue{
			attribute.Int("try_count", 1),
			attribute.String("http.method", r.Method()),
		}
		if svc, ok := p.service(ctx.ServiceID()); ok {
			battrs = append(battrs,
				attribute.String("net.peer.name", svc.host),
				attribute.Int("net.peer.port", svc.port),
				attribute.String("http.url", svc.protocol+"://"+svc.host+requestURI(ctx.Upstream().Path(), ctx.Upstream().RawQuery())),
			)
		}
		_, b := p.exp.tracer.Start(withIDs(rootCtx, st.traceID, st.balancerID), "kong.balancer",
			trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(bStart), trace.WithAttributes(battrs...))
		b.End(trace.WithTimestamp(bStart.Add(lat.Upstream)))
	}
	root.End(trace.WithTimestamp(end))
}

// requestURI is path with its query.
func requestURI(path, query string) string {
	if query == "" {
		return path
	}
	return path + "?" + query
}

// flavor is Kong's http.flavor: "1.0", "1.1", "2.0".
func flavor(v string) string {
	if !strings.Contains(v, ".") {
		return v + ".0"
	}
	return v
}

// routePath is Kong's http.route: the route's first path, "" when none.
func (p *instance) routePath(id string) string {
	if id == "" || p.env == nil {
		return ""
	}
	route, ok := p.env.Entity("routes", id)
	if !ok {
		return ""
	}
	if paths, ok := route["paths"].([]any); ok && len(paths) > 0 {
		s, _ := paths[0].(string)
		return s
	}
	return ""
}

type serviceInfo struct {
	protocol, host string
	port           int
}

// service returns a service's protocol, host and port.
func (p *instance) service(id string) (serviceInfo, bool) {
	if id == "" || p.env == nil {
		return serviceInfo{}, false
	}
	svc, ok := p.env.Entity("services", id)
	if !ok {
		return serviceInfo{}, false
	}
	info := serviceInfo{}
	info.protocol, _ = svc["protocol"].(string)
	info.host, _ = svc["host"].(string)
	if n, ok := conf.Int(svc, "port"); ok {
		info.port = int(n)
	}
	return info, true
}
