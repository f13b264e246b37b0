package commonproxy_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestProxiedRequestIsOneTrace reads the spans of a proxied request from
// the SDK's in-memory exporter: the server span, routing, each plugin's
// phases and the upstream call, with the client's trace as parent and
// the upstream call's context forwarded.
func TestProxiedRequestIsOneTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })

	c := newConfig(t, echo(t))
	c.plugin("cors", map[string]any{})
	c.plugin("correlation-id", map[string]any{})
	c.plugin("opentelemetry", map[string]any{
		"traces_endpoint": "http://127.0.0.1:1/v1/traces", "sampling_rate": 0,
		"propagation": map[string]any{"extract": []any{"w3c"}, "inject": []any{"w3c", "b3"}, "default_format": "w3c"},
	})
	addr := serveTraced(t, c, nil, tp)
	const traceHex, parentHex = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := send(t, addr, http.MethodGet, "/items?x=1", nil, "traceparent", "00-"+traceHex+"-"+parentHex+"-01", "Origin", "http://a.example")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	up := r.upstream(t).Headers

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	var names []string
	for _, s := range spans {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	slices.Sort(names)
	for _, want := range []string{
		"kong", "kong.router", "kong.balancer",
		"kong.access.plugin.correlation-id", "kong.access.plugin.cors", "kong.access.plugin.opentelemetry",
		"kong.header_filter.plugin.cors",
	} {
		if _, ok := byName[want]; !ok {
			t.Errorf("no span %q in %v", want, names)
		}
	}
	root := byName["kong"]
	if root.SpanKind != trace.SpanKindServer || root.SpanContext.TraceID().String() != traceHex ||
		root.Parent.SpanID().String() != parentHex || !root.Parent.IsRemote() {
		t.Errorf("kong: kind %v trace %s parent %s", root.SpanKind, root.SpanContext.TraceID(), root.Parent.SpanID())
	}
	for _, s := range spans {
		if s.Name != "kong" && s.Parent.SpanID() != root.SpanContext.SpanID() {
			t.Errorf("%s's parent is %s, not the server span", s.Name, s.Parent.SpanID())
		}
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("%s is in trace %s", s.Name, s.SpanContext.TraceID())
		}
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range root.Attributes {
		attrs[kv.Key] = kv.Value
	}
	if attrs["http.request.method"].AsString() != "GET" || attrs["http.response.status_code"].AsInt64() != 200 ||
		attrs["kong.route.id"].AsString() != routeID || attrs["kong.service.id"].AsString() != serviceID ||
		attrs["http.route"].AsString() != "/" || attrs["kong.request.id"].AsString() != r.header.Get("X-Kong-Request-Id") {
		t.Errorf("kong attributes: %v", root.Attributes)
	}
	bal := byName["kong.balancer"]
	if bal.SpanKind != trace.SpanKindClient {
		t.Errorf("kong.balancer kind %v", bal.SpanKind)
	}
	// The upstream call's context goes upstream, once; the plugin adds
	// its other formats (b3), with the same trace and the client's
	// sampling decision (which wins over sampling_rate 0).
	want := "00-" + traceHex + "-" + bal.SpanContext.SpanID().String() + "-01"
	if got := up.Values("Traceparent"); len(got) != 1 || got[0] != want {
		t.Errorf("upstream traceparent %q, want %q", got, want)
	}
	if up.Get("X-B3-Traceid") != traceHex || !strings.EqualFold(up.Get("X-B3-Sampled"), "1") {
		t.Errorf("upstream b3: %v", up)
	}
}
