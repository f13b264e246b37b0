package commonproxy_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestCORSThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := newConfig(t, echo(t))
	c.plugin("cors", map[string]any{
		"origins": []any{"http://app.example", `https://.*\.app\.example`}, "credentials": true, "max_age": 600,
		"exposed_headers": []any{"X-Total"},
	})
	addr := serve(t, c, nil)

	r := send(t, addr, http.MethodOptions, "/items", nil, "Origin", "https://eu.app.example", "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "X-Token")
	want := map[string]string{
		"Access-Control-Allow-Origin": "https://eu.app.example", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT",
		"Access-Control-Allow-Headers": "X-Token", "Access-Control-Max-Age": "600", "Vary": "Origin", "Content-Length": "0",
	}
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("preflight: %d %q", r.status, r.body)
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}

	r = send(t, addr, http.MethodGet, "/items", nil, "Origin", "http://app.example", "X-Respond-Vary", "Accept-Encoding")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "X-Total" || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!slices.Equal(r.header.Values("Vary"), []string{"Accept-Encoding", "Origin"}) {
		t.Errorf("actual request: %d %v", r.status, r.header)
	}
	if r.upstream(t).Method != http.MethodGet {
		t.Error("the actual request did not reach the service")
	}
	r = send(t, addr, http.MethodGet, "/items", nil, "Origin", "http://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "Origin" {
		t.Errorf("refused origin: %v", r.header)
	}
}

func TestCorrelationIDThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := newConfig(t, echo(t))
	c.plugin("correlation-id", map[string]any{"echo_downstream": true})
	addr := serve(t, c, nil)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}#[0-9]+$`)

	r := send(t, addr, http.MethodGet, "/", nil)
	up := r.upstream(t).Headers.Get("Kong-Request-Id")
	if !re.MatchString(up) || r.header.Get("Kong-Request-Id") != up {
		t.Errorf("upstream got %q, client got %q", up, r.header.Get("Kong-Request-Id"))
	}
	r = send(t, addr, http.MethodGet, "/", nil, "Kong-Request-ID", "mine")
	if got := r.upstream(t).Headers.Values("Kong-Request-Id"); !slices.Equal(got, []string{"mine"}) || r.header.Get("Kong-Request-Id") != "mine" {
		t.Errorf("incoming id: upstream %q, client %q", got, r.header.Get("Kong-Request-Id"))
	}
}

func TestIPRestrictionThroughTheProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		config  map[string]any
		status  int
		message string
	}{
		{"allowed", map[string]any{"allow": []any{"127.0.0.0/8", "::1"}}, 200, ""},
		{"denied", map[string]any{"deny": []any{"127.0.0.1"}}, 403, "IP address not allowed: 127.0.0.1"},
		{"not in the allow list", map[string]any{"allow": []any{"10.0.0.0/8"}, "status": 401, "message": "Nope"}, 401, "Nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConfig(t, echo(t))
			c.plugin("ip-restriction", tt.config)
			addr := serve(t, c, nil)
			r := send(t, addr, http.MethodGet, "/", nil)
			if r.status != tt.status {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if tt.message == "" {
				return
			}
			var body struct {
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			}
			r.json(t, &body)
			if body.Message != tt.message || body.RequestID != r.header.Get("X-Kong-Request-Id") || body.RequestID == "" {
				t.Errorf("body %s, request id %q", r.body, r.header.Get("X-Kong-Request-Id"))
			}
		})
	}
}

func TestRequestTerminationThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := newConfig(t, echo(t))
	c.plugin("request-termination", map[string]any{"status_code": 503, "trigger": "x-maintenance"})
	addr := serve(t, c, nil)
	if r := send(t, addr, http.MethodGet, "/", nil); r.status != 200 {
		t.Errorf("without trigger: %d", r.status)
	}
	r := send(t, addr, http.MethodGet, "/?x-maintenance", nil)
	if r.status != 503 || string(r.body) != `{"message":"Service unavailable"}` || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("triggered: %d %q %v", r.status, r.body, r.header)
	}

	c = newConfig(t, echo(t))
	c.plugin("request-termination", map[string]any{"status_code": 200, "echo": true})
	addr = serve(t, c, nil)
	r = send(t, addr, http.MethodPost, "/e?q=1", []byte(`{"a":1}`), "Content-Type", "application/json", "X-Test", "yes")
	var body struct {
		Request struct {
			Method  string            `json:"method"`
			Path    string            `json:"path"`
			Headers map[string]any    `json:"headers"`
			Query   map[string]string `json:"query"`
			Body    map[string]any    `json:"body"`
			RawBody string            `json:"raw_body"`
		} `json:"request"`
		Route   map[string]any `json:"matched_route"`
		Service map[string]any `json:"matched_service"`
	}
	r.json(t, &body)
	if r.status != 200 || body.Request.Method != http.MethodPost || body.Request.Path != "/e" || body.Request.Headers["x-test"] != "yes" ||
		body.Request.Query["q"] != "1" || body.Request.Body["a"] != 1.0 || body.Request.RawBody != `{"a":1}` ||
		body.Route["id"] != routeID || body.Service["id"] != serviceID {
		t.Errorf("echo: %d %s", r.status, r.body)
	}
}

func TestRequestTransformerThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := newConfig(t, echo(t))
	c.put("routes", map[string]any{"id": routeID, "name": "r1", "paths": []any{`~/users/(?<user>\w+)$`}, "service": ref(serviceID)})
	c.plugin("request-transformer", map[string]any{
		"http_method": "PUT",
		"remove":      map[string]any{"headers": []any{"X-Internal"}, "querystring": []any{"secret"}},
		"rename":      map[string]any{"headers": []any{"X-Old:X-New"}},
		"replace":     map[string]any{"uri": "/v2/accounts/$(uri_captures.user)"},
		"add": map[string]any{
			"headers": []any{"X-User:$(uri_captures.user)"}, "querystring": []any{"via:gatehouse"},
			"body": []any{"owner:$(uri_captures.user)"},
		},
		"append": map[string]any{"headers": []any{"X-Tag:b"}},
	})
	addr := serve(t, c, nil)
	r := send(t, addr, http.MethodPost, "/users/alice?secret=1&q=x", []byte(`{"n":1}`),
		"Content-Type", "application/json", "X-Internal", "1", "X-Old", "o", "X-Tag", "a")
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	up := r.upstream(t)
	if up.Method != http.MethodPut || up.URI != "/v2/accounts/alice?q=x&via=gatehouse" || up.Body != `{"n":1,"owner":"alice"}` {
		t.Errorf("upstream: %s %s %q", up.Method, up.URI, up.Body)
	}
	h := up.Headers
	if h.Get("X-Internal") != "" || h.Get("X-Old") != "" || h.Get("X-New") != "o" || h.Get("X-User") != "alice" ||
		!slices.Equal(h.Values("X-Tag"), []string{"a", "b"}) || h.Get("Content-Length") != strconv.Itoa(len(up.Body)) {
		t.Errorf("upstream headers: %v", h)
	}
}

func TestResponseTransformerThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := newConfig(t, echo(t))
	c.plugin("response-transformer", map[string]any{
		"remove":  map[string]any{"headers": []any{"X-Powered-By"}, "json": []any{"headers"}},
		"add":     map[string]any{"headers": []any{"X-Gateway:gatehouse"}, "json": []any{"via:gatehouse", "n:1"}, "json_types": []any{"string", "number"}},
		"rename":  map[string]any{"json": []any{"uri:path"}},
		"replace": map[string]any{"json": []any{"method:VERB"}},
	})
	addr := serve(t, c, nil)
	r := send(t, addr, http.MethodGet, "/things", nil, "X-Respond-X-Powered-By", "php")
	if r.status != 200 || r.header.Get("X-Powered-By") != "" || r.header.Get("X-Gateway") != "gatehouse" {
		t.Fatalf("response: %d %v", r.status, r.header)
	}
	var body map[string]any
	r.json(t, &body)
	if body["path"] != "/things" || body["method"] != "VERB" || body["via"] != "gatehouse" || body["n"] != 1.0 || body["headers"] != nil || body["uri"] != nil {
		t.Errorf("body %s", r.body)
	}
	if cl := r.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(r.body)) {
		t.Errorf("Content-Length %s for %d bytes", cl, len(r.body))
	}
}

func TestPrometheusThroughTheProxy(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := newConfig(t, echo(t))
	c.plugin("prometheus", map[string]any{"status_code_metrics": true, "latency_metrics": true, "bandwidth_metrics": true})
	c.plugin("request-termination", map[string]any{"status_code": 418, "trigger": "x-stop"})
	addr := serve(t, c, reg)
	for range 3 {
		send(t, addr, http.MethodGet, "/a", nil)
	}
	send(t, addr, http.MethodGet, "/a", nil, "X-Stop", "1")

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, m := range families["kong_http_requests_total"].GetMetric() {
		counts[labels(m)] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"code=200,consumer=,route=r1,service=svc,source=service": 3,
		"code=418,consumer=,route=r1,service=svc,source=kong":    1,
	}
	if len(counts) != len(want) || counts[keys(want)[0]] != want[keys(want)[0]] || counts[keys(want)[1]] != want[keys(want)[1]] {
		t.Errorf("kong_http_requests_total = %v, want %v", counts, want)
	}
	for name, n := range map[string]uint64{"kong_request_latency_ms": 4, "kong_kong_latency_ms": 4, "kong_upstream_latency_ms": 3} {
		ms := families[name].GetMetric()
		if len(ms) != 1 || ms[0].GetHistogram().GetSampleCount() != n || labels(ms[0]) != "route=r1,service=svc" {
			t.Errorf("%s = %v, want %d observations", name, ms, n)
		}
	}
	egress := 0.0
	for _, m := range families["kong_bandwidth_bytes"].GetMetric() {
		if strings.Contains(labels(m), "direction=egress") {
			egress = m.GetCounter().GetValue()
		}
	}
	if egress <= 0 {
		t.Errorf("kong_bandwidth_bytes egress = %v", egress)
	}
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func keys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// collector is an OTLP/HTTP receiver.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(data, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
}

func (c *collector) received() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

func TestOpenTelemetryThroughTheProxy(t *testing.T) {
	t.Parallel()
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	c := newConfig(t, echo(t))
	c.plugin("opentelemetry", map[string]any{
		"traces_endpoint": srv.URL + "/v1/traces", "http_response_header_for_traceid": "X-Trace-Id",
		"queue": map[string]any{"max_coalescing_delay": 0.05},
	})
	addr := serve(t, c, nil)
	// B3 in, B3 out (header_type "preserve"): the proxy, which does not
	// trace here, leaves these headers to the plugin.
	const traceHex, spanHex = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := send(t, addr, http.MethodGet, "/traced", nil, "X-B3-TraceId", traceHex, "X-B3-SpanId", spanHex, "X-B3-Sampled", "1")
	if r.status != 200 || r.header.Get("X-Trace-Id") != traceHex {
		t.Fatalf("response %d %v", r.status, r.header)
	}
	up := r.upstream(t).Headers
	if got := up.Values("X-B3-Traceid"); len(got) != 1 || got[0] != traceHex || up.Get("X-B3-Sampled") != "1" || up.Get("Traceparent") != "" {
		t.Fatalf("upstream b3 %v", up)
	}
	injected, injectedParent := up.Get("X-B3-Spanid"), up.Get("X-B3-Parentspanid")

	deadline := time.Now().Add(10 * time.Second)
	var spans []*tracepb.Span
	for time.Now().Before(deadline) {
		if spans = col.received(); len(spans) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.GetName()] = s
	}
	root, bal := byName["kong"], byName["kong.balancer"]
	if len(spans) != 2 || root == nil || bal == nil {
		t.Fatalf("spans %v", spans)
	}
	if hex.EncodeToString(root.GetTraceId()) != traceHex || hex.EncodeToString(root.GetParentSpanId()) != spanHex ||
		string(bal.GetParentSpanId()) != string(root.GetSpanId()) || hex.EncodeToString(bal.GetSpanId()) != injected ||
		hex.EncodeToString(root.GetSpanId()) != injectedParent {
		t.Errorf("ids: kong %x parent %x; balancer %x parent %x; injected %s parent %s",
			root.GetSpanId(), root.GetParentSpanId(), bal.GetSpanId(), bal.GetParentSpanId(), injected, injectedParent)
	}
}

// TestOpenTelemetryW3CWithoutProxyTracing pins a fixed bug: when the
// proxy does not trace, a plugin injecting w3c must replace the client's
// traceparent, not add a second one.
func TestOpenTelemetryW3CWithoutProxyTracing(t *testing.T) {
	t.Parallel()
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	c := newConfig(t, echo(t))
	c.plugin("opentelemetry", map[string]any{
		"traces_endpoint": srv.URL + "/v1/traces",
		"propagation":     map[string]any{"extract": []any{"w3c"}, "inject": []any{"w3c"}, "default_format": "w3c"},
		"queue":           map[string]any{"max_coalescing_delay": 0.05},
	})
	addr := serve(t, c, nil)
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := send(t, addr, http.MethodGet, "/traced", nil, "Traceparent", incoming)
	if r.status != 200 {
		t.Fatalf("response %d", r.status)
	}
	got := r.upstream(t).Headers.Values("Traceparent")
	if len(got) != 1 {
		t.Fatalf("upstream got %d traceparent headers: %q", len(got), got)
	}
	if got[0] == incoming || !strings.HasPrefix(got[0], "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
		t.Errorf("upstream traceparent %q: want the same trace with the plugin's span", got[0])
	}
}
