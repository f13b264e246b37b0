package opentelemetry

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
)

// receiver is an OTLP/HTTP trace endpoint keeping what it receives.
type receiver struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	headers  []http.Header
	errs     []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(body, req)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		rc.errs = append(rc.errs, err)
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	rc.requests = append(rc.requests, req)
	rc.headers = append(rc.headers, r.Header.Clone())
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// spans returns the spans received so far with their resources.
func (rc *receiver) spans(t *testing.T) ([]*tracepb.Span, []map[string]string) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, err := range rc.errs {
		t.Errorf("receiver: %v", err)
	}
	var spans []*tracepb.Span
	var resources []map[string]string
	for _, req := range rc.requests {
		for _, rs := range req.GetResourceSpans() {
			res := attrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					spans = append(spans, s)
					resources = append(resources, res)
				}
			}
		}
	}
	return spans, resources
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			out[kv.GetKey()] = v.GetStringValue()
		default:
			b, _ := json.Marshal(v.GetIntValue())
			out[kv.GetKey()] = string(b)
		}
	}
	return out
}

func newReceiver(t *testing.T) (*receiver, string) {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/v1/traces"
}

const (
	routeID   = "3d8f8c6a-1b7e-4a55-9c6b-7d7a6f1b0a11"
	serviceID = "9e2a4f3c-5b6d-4e7f-8a9b-0c1d2e3f4a22"
)

func newEnv() *pdktest.Env {
	return pdktest.NewEnv().
		Put("services", map[string]any{"id": serviceID, "name": "svc", "host": "backend.internal", "port": json.Number("8080"), "protocol": "http"}).
		Put("routes", map[string]any{"id": routeID, "paths": []any{"/api"}, "service": map[string]any{"id": serviceID}})
}

func newInstance(t *testing.T, env *pdktest.Env, config map[string]any) *instance {
	t.Helper()
	in, err := Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": "opentelemetry", "config": config}))
	if err != nil {
		t.Fatal(err)
	}
	return in.(*instance)
}

// flush exports what the instance's exporter holds.
func flush(t *testing.T, in *instance) {
	t.Helper()
	if err := in.exp.tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// request runs a proxied request through the plugin's three phases.
func request(t *testing.T, in *instance, ctx *pdktest.Context) *pdktest.Context {
	t.Helper()
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	ctx.WithResponse(200, nil, nil)
	in.HeaderFilter(ctx)
	in.Log(ctx)
	return ctx
}

func proxied() *pdktest.Context {
	return pdktest.NewContext("GET", "https://gw.example/api/items?page=2").WithClientIP("203.0.113.5").WithRemoteIP("10.0.0.9").
		WithRoute(routeID, "").WithService(serviceID, "svc").WithStartedAt(time.Unix(1700000000, 0)).
		WithLatencies(pdk.Latencies{Proxy: 2 * time.Millisecond, Upstream: 30 * time.Millisecond, Request: 33 * time.Millisecond})
}

func TestExportsKongsSpans(t *testing.T) {
	t.Parallel()
	rc, endpoint := newReceiver(t)
	in := newInstance(t, newEnv(), map[string]any{
		"traces_endpoint":     endpoint,
		"resource_attributes": map[string]any{"deployment.environment": "test", "service.name": "edge"},
		"headers":             map[string]any{"X-Auth": "secret"},
		"queue":               map[string]any{"max_coalescing_delay": 0.01},
	})
	ctx := proxied().WithHeader("traceparent", "00-"+traceHex+"-"+spanHex+"-01")
	request(t, in, ctx)
	flush(t, in)

	spans, resources := rc.spans(t)
	if len(spans) != 2 {
		t.Fatalf("received %d spans, want 2", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for i, s := range spans {
		byName[s.GetName()] = s
		if resources[i]["service.name"] != "edge" || resources[i]["deployment.environment"] != "test" || resources[i]["service.version"] != "3.10.0" {
			t.Errorf("resource = %v", resources[i])
		}
	}
	root, bal := byName["kong"], byName["kong.balancer"]
	if root == nil || bal == nil {
		t.Fatalf("spans = %v", byName)
	}
	if hex.EncodeToString(root.GetTraceId()) != traceHex || hex.EncodeToString(bal.GetTraceId()) != traceHex {
		t.Errorf("trace ids %x %x, want the incoming %s", root.GetTraceId(), bal.GetTraceId(), traceHex)
	}
	if hex.EncodeToString(root.GetParentSpanId()) != spanHex {
		t.Errorf("kong's parent = %x, want the client's span %s", root.GetParentSpanId(), spanHex)
	}
	if string(bal.GetParentSpanId()) != string(root.GetSpanId()) {
		t.Errorf("kong.balancer's parent = %x, want kong %x", bal.GetParentSpanId(), root.GetSpanId())
	}
	if root.GetKind() != tracepb.Span_SPAN_KIND_SERVER || bal.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("kinds %v %v", root.GetKind(), bal.GetKind())
	}
	start := uint64(time.Unix(1700000000, 0).UnixNano())
	if root.GetStartTimeUnixNano() != start || root.GetEndTimeUnixNano() != start+uint64(33*time.Millisecond) ||
		bal.GetStartTimeUnixNano() != start+uint64(2*time.Millisecond) || bal.GetEndTimeUnixNano() != start+uint64(32*time.Millisecond) {
		t.Errorf("times: kong %d-%d, balancer %d-%d", root.GetStartTimeUnixNano(), root.GetEndTimeUnixNano(), bal.GetStartTimeUnixNano(), bal.GetEndTimeUnixNano())
	}
	wantRoot := map[string]string{
		"http.method": "GET", "http.url": "https://gw.example/api/items?page=2", "http.host": "gw.example", "http.scheme": "https",
		"http.flavor": "1.1", "http.client_ip": "203.0.113.5", "net.peer.ip": "10.0.0.9", "kong.request.id": pdktest.DefaultRequestID,
		"http.route": "/api", "http.status_code": "200",
	}
	if got := attrs(root.GetAttributes()); !equalMaps(got, wantRoot) {
		t.Errorf("kong attributes = %v\nwant %v", got, wantRoot)
	}
	wantBal := map[string]string{
		"try_count": "1", "http.method": "GET", "net.peer.name": "backend.internal", "net.peer.port": "8080",
		"http.url": "http://backend.internal/api/items?page=2",
	}
	if got := attrs(bal.GetAttributes()); !equalMaps(got, wantBal) {
		t.Errorf("kong.balancer attributes = %v\nwant %v", got, wantBal)
	}
	// The upstream was told about the balancer span.
	want := "00-" + traceHex + "-" + hex.EncodeToString(bal.GetSpanId()) + "-01"
	if got := ctx.UpstreamRequest().Header("traceparent"); got != want {
		t.Errorf("traceparent upstream = %q, want %q", got, want)
	}
	rc.mu.Lock()
	if rc.headers[0].Get("X-Auth") != "secret" {
		t.Errorf("export headers = %v", rc.headers[0])
	}
	rc.mu.Unlock()
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSampling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rate     any
		incoming string
		sampled  bool
	}{
		{"default samples", nil, "", true},
		{"rate 0", 0, "", false},
		{"rate 1", 1, "", true},
		{"incoming sampled wins over rate 0", 0, "00-" + traceHex + "-" + spanHex + "-01", true},
		{"incoming not sampled wins over rate 1", 1, "00-" + traceHex + "-" + spanHex + "-00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc, endpoint := newReceiver(t)
			config := map[string]any{"traces_endpoint": endpoint}
			if tt.rate != nil {
				config["sampling_rate"] = tt.rate
			}
			in := newInstance(t, newEnv(), config)
			ctx := proxied()
			if tt.incoming != "" {
				ctx.WithHeader("traceparent", tt.incoming)
			}
			request(t, in, ctx)
			flush(t, in)
			spans, _ := rc.spans(t)
			if (len(spans) > 0) != tt.sampled {
				t.Errorf("exported %d spans, sampled %v", len(spans), tt.sampled)
			}
			flag := "-00"
			if tt.sampled {
				flag = "-01"
			}
			if tp := ctx.UpstreamRequest().Header("traceparent"); !strings.HasSuffix(tp, flag) {
				t.Errorf("traceparent %q, want flag %s", tp, flag)
			}
		})
	}
}

func TestExitedRequestHasNoBalancerSpan(t *testing.T) {
	t.Parallel()
	rc, endpoint := newReceiver(t)
	in := newInstance(t, newEnv(), map[string]any{"traces_endpoint": endpoint})
	// A request answered before this plugin's access phase (an auth
	// plugin's 401) is still exported.
	ctx := proxied()
	ctx.Exit(401, nil, nil)
	in.HeaderFilter(ctx)
	in.Log(ctx)
	flush(t, in)
	spans, _ := rc.spans(t)
	if len(spans) != 1 || spans[0].GetName() != "kong" || attrs(spans[0].GetAttributes())["http.status_code"] != "401" {
		t.Errorf("spans = %v", spans)
	}
}

func TestTraceIDHeader(t *testing.T) {
	t.Parallel()
	in := newInstance(t, newEnv(), map[string]any{"traces_endpoint": "http://127.0.0.1:1/v1/traces", "http_response_header_for_traceid": "X-Trace-Id"})
	ctx := proxied().WithHeader("x-b3-traceid", traceHex).WithHeader("x-b3-spanid", spanHex).WithHeader("x-b3-sampled", "0")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	ctx.WithResponse(200, nil, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().Header("X-Trace-Id"); got != traceHex {
		t.Errorf("X-Trace-Id = %q, want %s", got, traceHex)
	}
	// The default propagation preserves the incoming b3 format.
	up := ctx.UpstreamRequest()
	if up.Header("X-B3-Traceid") != traceHex || up.Header("X-B3-Parentspanid") == "" || up.Header("X-B3-Sampled") != "0" || up.Header("traceparent") != "" {
		t.Errorf("upstream = %v", up.Headers())
	}
}

func TestClearAndInjectFormats(t *testing.T) {
	t.Parallel()
	in := newInstance(t, newEnv(), map[string]any{
		"traces_endpoint": "http://127.0.0.1:1/v1/traces",
		"propagation": map[string]any{
			"extract": []any{"w3c"}, "inject": []any{"b3-single", "jaeger", "datadog"}, "clear": []any{"X-Old-Trace"},
			"default_format": "w3c",
		},
	})
	ctx := proxied().WithHeader("X-Old-Trace", "x").WithHeader("traceparent", "00-"+traceHex+"-"+spanHex+"-01")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	up := ctx.UpstreamRequest()
	if up.HasHeader("X-Old-Trace") || !strings.HasPrefix(up.Header("b3"), traceHex+"-") ||
		!strings.HasPrefix(up.Header("uber-trace-id"), traceHex+":") || up.Header("traceparent") != "00-"+traceHex+"-"+spanHex+"-01" {
		t.Errorf("upstream = %v", up.Headers())
	}
	if len(in.unsupported) != 1 || in.unsupported[0] != "datadog" {
		t.Errorf("unsupported = %v", in.unsupported)
	}
}

func TestDataPlaneTracing(t *testing.T) {
	t.Parallel()
	// The data plane traces the request: its trace id is used, its
	// decision followed, and it forwards its own traceparent.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter())),
		sdktrace.WithSampler(sdktrace.NeverSample()))
	reqCtx, span := tp.Tracer("dp").Start(t.Context(), "kong")
	defer span.End()
	rc, endpoint := newReceiver(t)
	in := newInstance(t, newEnv(), map[string]any{
		"traces_endpoint": endpoint, "propagation": map[string]any{"inject": []any{"w3c", "b3"}, "default_format": "w3c"},
		"http_response_header_for_traceid": "X-Trace",
	})
	ctx := request(t, in, proxied().WithContext(reqCtx))
	flush(t, in)
	dp := span.SpanContext().TraceID()
	if got := ctx.ClientResponse().Header("X-Trace"); got != dp.String() {
		t.Errorf("trace id %s, want the data plane's %s", got, dp)
	}
	up := ctx.UpstreamRequest()
	if up.Header("traceparent") != "" || up.Header("X-B3-Traceid") != dp.String() || up.Header("X-B3-Sampled") != "0" {
		t.Errorf("upstream = %v", up.Headers())
	}
	if spans, _ := rc.spans(t); len(spans) != 0 {
		t.Errorf("exported %d spans of a request the data plane did not sample", len(spans))
	}
}

func TestExportersShared(t *testing.T) {
	t.Parallel()
	env := newEnv()
	_, endpoint := newReceiver(t)
	a := newInstance(t, env, map[string]any{"traces_endpoint": endpoint})
	b := newInstance(t, env, map[string]any{"traces_endpoint": endpoint, "sampling_rate": 0.5})
	c := newInstance(t, env, map[string]any{"traces_endpoint": endpoint, "resource_attributes": map[string]any{"k": "v"}})
	if a.exp != b.exp || a.exp == c.exp {
		t.Error("exporters are not shared per endpoint and settings")
	}
}

func TestNoEndpointPropagatesOnly(t *testing.T) {
	t.Parallel()
	in := newInstance(t, newEnv(), map[string]any{"logs_endpoint": "http://127.0.0.1:1/v1/logs"})
	ctx := request(t, in, proxied())
	if in.exp != nil || !strings.HasPrefix(ctx.UpstreamRequest().Header("traceparent"), "00-") {
		t.Errorf("exporter %v, traceparent %q", in.exp, ctx.UpstreamRequest().Header("traceparent"))
	}
}
