package proxy_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/proxy"
)

func TestTracing(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	h := start(t, func(o *proxy.Options) { o.TracerProvider = tp })
	up := echoServer(t, "a")
	svc := h.service(up.URL, nil, map[string]any{"paths": []any{"/traced"}})
	h.apply()

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	_, body := get(t, h.url("/traced/x"), "Traceparent", "00-"+traceID+"-"+parentID+"-01")
	sent := header(decodeEcho(t, body), "Traceparent")
	parts := strings.Split(sent, "-")
	if len(parts) != 4 || parts[1] != traceID || parts[2] == parentID || parts[3] != "01" {
		t.Fatalf("upstream traceparent %q, want the client's trace with the proxy's span", sent)
	}
	eventually(t, 5e9, "the server span", func() bool {
		for _, s := range exp.GetSpans() {
			if s.Name == "kong" {
				return true
			}
		}
		return false
	})
	spans := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		spans[s.Name] = s
	}
	server, router, balancer := spans["kong"], spans["kong.router"], spans["kong.balancer"]
	if server.SpanKind != trace.SpanKindServer || server.Parent.SpanID().String() != parentID || server.SpanContext.TraceID().String() != traceID {
		t.Errorf("server span %+v", server)
	}
	for name, child := range map[string]tracetest.SpanStub{"kong.router": router, "kong.balancer": balancer} {
		if child.Parent.SpanID() != server.SpanContext.SpanID() {
			t.Errorf("%s is not a child of the server span", name)
		}
	}
	if balancer.SpanKind != trace.SpanKindClient || balancer.SpanContext.SpanID().String() != parts[2] {
		t.Errorf("the upstream got span %s, the balancer span is %s", parts[2], balancer.SpanContext.SpanID())
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, a := range server.Attributes {
		attrs[a.Key] = a.Value
	}
	for k, want := range map[attribute.Key]string{
		"http.request.method": "GET", "url.scheme": "http", "url.path": "/traced/x",
		"kong.service.id": svc, "http.route": "/traced",
	} {
		if got := attrs[k].AsString(); got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	if attrs["http.response.status_code"].AsInt64() != 200 {
		t.Errorf("status attribute %v", attrs["http.response.status_code"])
	}
}

func TestTraceContextPassesThroughWithoutTracing(t *testing.T) {
	t.Parallel()
	h := start(t) // a no-op tracer provider
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/p"}})
	h.apply()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, body := get(t, h.url("/p"), "Traceparent", tp, "Tracestate", "k=v")
	e := decodeEcho(t, body)
	if header(e, "Traceparent") != tp || header(e, "Tracestate") != "k=v" {
		t.Errorf("trace context upstream %q %q", header(e, "Traceparent"), header(e, "Tracestate"))
	}
}
