package proxy

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The request's server span is named "kong", as Kong's tracing names it,
// with children "kong.router" and "kong.balancer" (one per try, a client
// span whose context goes upstream); the plugin chain adds its own.

var traceContext = propagation.TraceContext{}

// headerCarrier reads the client's trace context headers.
type headerCarrier struct{ x *exchange }

func (c headerCarrier) Get(key string) string {
	v := c.x.request.Header.Peek(key)
	if key == "traceparent" {
		return b2s(v) // parsed at once into fixed arrays
	}
	return string(v) // tracestate is kept by the span context
}
func (c headerCarrier) Set(string, string) {}
func (c headerCarrier) Keys() []string     { return nil }

// noSpan is the span of requests that are not traced.
var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts the request's server span, a child of the client's
// trace context.
func (x *exchange) startSpan() {
	base := x.engineCtx
	if base == nil {
		base = context.Background()
	}
	if !x.s.tracing {
		x.ctx, x.span = base, noSpan
		return
	}
	parent := base
	if len(x.request.Header.Peek("traceparent")) > 0 {
		parent = traceContext.Extract(base, headerCarrier{x})
	}
	x.ctx, x.span = x.s.tracer.Start(parent, "kong",
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(x.start))
	if x.span.IsRecording() {
		scheme := "http"
		if x.tls {
			scheme = "https"
		}
		x.span.SetAttributes(
			attribute.String("http.request.method", x.method),
			attribute.String("url.scheme", scheme),
			attribute.String("url.path", strings.Clone(x.rawPath)),
			attribute.String("server.address", x.hostName),
			attribute.Int("server.port", x.port),
			attribute.String("client.address", string(x.ipText)),
			attribute.String("network.peer.address", x.peer.String()),
			attribute.String("network.protocol.version", x.httpVersion),
			attribute.String("user_agent.original", string(x.request.Header.UserAgent())),
			attribute.String("kong.request.id", string(x.rid[:])),
		)
	}
}

// childSpan starts a child span of the request and returns its end.
func (x *exchange) childSpan(name string) func(ok bool) {
	if !x.span.IsRecording() {
		return noEnd
	}
	_, sp := x.s.tracer.Start(x.ctx, name)
	return func(ok bool) {
		if !ok {
			sp.SetStatus(codes.Error, "")
		}
		sp.End()
	}
}

func noEnd(bool) {}

// balancerSpan is one try's span.
type balancerSpan struct {
	span trace.Span
	sc   trace.SpanContext
}

// startBalancerSpan starts the span of a try to target. An untraced
// request forwards its server span's context (the client's trace, not
// sampled).
func (x *exchange) startBalancerSpan(target string) balancerSpan {
	if !x.s.tracing {
		return balancerSpan{}
	}
	if !x.span.IsRecording() {
		return balancerSpan{sc: x.span.SpanContext()}
	}
	_, sp := x.s.tracer.Start(x.ctx, "kong.balancer", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("network.peer.address", target),
			attribute.Int("try_count", x.tries),
		))
	return balancerSpan{span: sp, sc: sp.SpanContext()}
}

// context is the trace context sent upstream.
func (b balancerSpan) context() trace.SpanContext { return b.sc }

func (b balancerSpan) fail(err error) {
	if b.span == nil {
		return
	}
	b.span.RecordError(err)
	b.span.SetStatus(codes.Error, err.Error())
	b.span.End()
}

func (b balancerSpan) ok(status int) {
	if b.span == nil {
		return
	}
	b.span.SetAttributes(attribute.Int("http.response.status_code", status))
	b.span.End()
}

// endSpan ends the server span with the request's outcome.
func (x *exchange) endSpan() {
	if !x.span.IsRecording() {
		x.span.End()
		return
	}
	attrs := []attribute.KeyValue{attribute.Int("http.response.status_code", x.status)}
	if x.matched {
		r := x.match.Route
		attrs = append(attrs, attribute.String("kong.route.id", r.ID))
		if r.Name != "" {
			attrs = append(attrs, attribute.String("kong.route.name", r.Name))
		}
		if len(r.Record) > 0 {
			if paths, ok := r.Record["paths"].([]any); ok && len(paths) > 0 {
				if p, ok := paths[0].(string); ok {
					attrs = append(attrs, attribute.String("http.route", p))
				}
			}
		}
	}
	if x.svc != nil {
		attrs = append(attrs, attribute.String("kong.service.id", x.svc.ID))
		if x.svc.Name != "" {
			attrs = append(attrs, attribute.String("kong.service.name", x.svc.Name))
		}
	}
	if x.consumer != nil {
		attrs = append(attrs, attribute.String("kong.consumer.id", x.consumer.ID))
	}
	if x.tries > 0 {
		attrs = append(attrs, attribute.Int("kong.balancer.tries", x.tries))
	}
	x.span.SetAttributes(attrs...)
	if x.status >= 500 {
		msg := ""
		if x.failure != nil {
			msg = x.failure.Error()
		}
		x.span.SetStatus(codes.Error, msg)
	}
	x.span.End()
}
