package prometheus_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/prometheus"
)

const (
	routeID   = "0b9f7a5e-1c7e-4c55-9d6a-8d7b7f2c0a01"
	serviceID = "5c2d5f3e-2a9b-4f6e-8b1d-3e4f5a6b7c02"
)

func newEnv() *pdktest.Env {
	return pdktest.NewEnv().
		Put("services", map[string]any{"id": serviceID, "host": "svc.internal", "port": json.Number("80"), "protocol": "http"}).
		Put("routes", map[string]any{"id": routeID, "paths": []any{"/"}, "service": map[string]any{"id": serviceID}})
}

func newInstance(tb testing.TB, env *pdktest.Env, config map[string]any) pdk.Logger {
	tb.Helper()
	in, err := prometheus.Factory{}.New(pdktest.NewConfig(tb, env, map[string]any{"name": "prometheus", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(pdk.Logger)
}

var allFlags = map[string]any{
	"per_consumer": true, "status_code_metrics": true, "latency_metrics": true, "bandwidth_metrics": true,
}

// scrape serves the registry as /metrics does and parses the text.
func scrape(t *testing.T, reg *promclient.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body)
	}
	return families
}

// sample finds the metric of a family with exactly these labels.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

func labelSets(families map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range families[name].GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		out = append(out, strings.Join(parts, ","))
	}
	sort.Strings(out)
	return out
}

// proxied is a request the service answered.
func proxied(status int) *pdktest.Context {
	return pdktest.NewContext("GET", "/x").WithRoute(routeID, "r1").WithService(serviceID, "s1").
		WithResponse(status, http.Header{"Content-Length": {"10"}}, nil).
		WithLatencies(pdk.Latencies{Proxy: 3 * time.Millisecond, Upstream: 120 * time.Millisecond, Request: 124 * time.Millisecond})
}

func TestRequestsCounted(t *testing.T) {
	t.Parallel()
	env := newEnv()
	in := newInstance(t, env, allFlags)
	alice := &pdk.Consumer{ID: "c1", Username: "alice"}
	in.Log(proxied(200).WithConsumer(alice, nil))
	in.Log(proxied(200).WithConsumer(alice, nil))
	in.Log(proxied(503))
	exited := pdktest.NewContext("GET", "/x").WithRoute(routeID, "").WithService(serviceID, "").
		WithLatencies(pdk.Latencies{Proxy: 2 * time.Millisecond, Request: 2 * time.Millisecond})
	exited.Exit(401, nil, nil)
	in.Log(exited)
	in.Log(pdktest.NewContext("GET", "/none").WithResponse(404, nil, nil)) // no service: not counted

	f := scrape(t, env.Registry())
	for _, c := range []struct {
		labels map[string]string
		value  float64
	}{
		{map[string]string{"service": "s1", "route": "r1", "code": "200", "source": "service", "consumer": "alice"}, 2},
		{map[string]string{"service": "s1", "route": "r1", "code": "503", "source": "service", "consumer": ""}, 1},
		// Unnamed service and route: the host and the id.
		{map[string]string{"service": "svc.internal", "route": routeID, "code": "401", "source": "kong", "consumer": ""}, 1},
	} {
		m := sample(f, "kong_http_requests_total", c.labels)
		if m == nil || m.GetCounter().GetValue() != c.value {
			t.Errorf("kong_http_requests_total%v = %v, want %v; have %v", c.labels, m, c.value, labelSets(f, "kong_http_requests_total"))
		}
	}
	if n := len(f["kong_http_requests_total"].GetMetric()); n != 3 {
		t.Errorf("%d series, want 3: %v", n, labelSets(f, "kong_http_requests_total"))
	}
	if f["kong_http_requests_total"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("type = %v", f["kong_http_requests_total"].GetType())
	}
}

func TestLatencyHistograms(t *testing.T) {
	t.Parallel()
	env := newEnv()
	in := newInstance(t, env, map[string]any{"latency_metrics": true})
	in.Log(proxied(200))
	exited := pdktest.NewContext("GET", "/x").WithRoute(routeID, "r1").WithService(serviceID, "s1").
		WithLatencies(pdk.Latencies{Proxy: 8 * time.Millisecond, Request: 9 * time.Millisecond})
	exited.Exit(403, nil, nil)
	in.Log(exited)

	f := scrape(t, env.Registry())
	labels := map[string]string{"service": "s1", "route": "r1"}
	tests := []struct {
		name    string
		count   uint64
		sum     float64
		buckets []float64
		// cumulative count at each bucket bound, for a few bounds
		at map[float64]uint64
	}{
		{"kong_kong_latency_ms", 2, 11, []float64{1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000}, map[float64]uint64{2: 0, 5: 1, 7: 1, 10: 2}},
		{"kong_upstream_latency_ms", 1, 120, []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}, map[float64]uint64{100: 0, 250: 1}},
		{"kong_request_latency_ms", 2, 133, []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}, map[float64]uint64{25: 1, 100: 1, 250: 2}},
	}
	for _, tt := range tests {
		m := sample(f, tt.name, labels)
		if m == nil {
			t.Errorf("%s%v missing", tt.name, labels)
			continue
		}
		h := m.GetHistogram()
		if h.GetSampleCount() != tt.count || h.GetSampleSum() != tt.sum {
			t.Errorf("%s: count %d sum %v, want %d %v", tt.name, h.GetSampleCount(), h.GetSampleSum(), tt.count, tt.sum)
		}
		var bounds []float64
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() < 1e300 {
				bounds = append(bounds, b.GetUpperBound())
			}
			if want, ok := tt.at[b.GetUpperBound()]; ok && b.GetCumulativeCount() != want {
				t.Errorf("%s le=%v: %d, want %d", tt.name, b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
		if !equalFloats(bounds, tt.buckets) {
			t.Errorf("%s buckets = %v, want Kong's %v", tt.name, bounds, tt.buckets)
		}
	}
	if f["kong_http_requests_total"] != nil || f["kong_bandwidth_bytes"] != nil {
		t.Error("families of flags that are off have samples")
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// reqCtx lets counting embed the fake without a field named Context
// (which would hide the Context method).
type reqCtx = pdktest.Context

// counting is a context that knows its byte counts.
type counting struct {
	*reqCtx
	in, out int64
}

func (c *counting) BytesReceived() int64 { return c.in }
func (c *counting) BytesSent() int64     { return c.out }

func TestBandwidth(t *testing.T) {
	t.Parallel()
	env := newEnv()
	in := newInstance(t, env, map[string]any{"bandwidth_metrics": true, "per_consumer": true})
	in.Log(&counting{reqCtx: proxied(200).WithConsumer(&pdk.Consumer{ID: "c", Username: "bob"}, nil), in: 300, out: 1200})
	in.Log(&counting{reqCtx: proxied(200), in: 100, out: 0})
	// Without byte counts: request line, headers and declared lengths.
	est := pdktest.NewContext("POST", "/e?q=1").WithHeader("Content-Length", "5").WithBody([]byte("hello")).
		WithRoute(routeID, "r1").WithService(serviceID, "s1").WithResponse(200, http.Header{"Content-Length": {"42"}}, nil)
	in.Log(est)

	f := scrape(t, env.Registry())
	bob := func(dir string) map[string]string {
		return map[string]string{"service": "s1", "route": "r1", "direction": dir, "consumer": "bob"}
	}
	anon := func(dir string) map[string]string {
		return map[string]string{"service": "s1", "route": "r1", "direction": dir, "consumer": ""}
	}
	// "POST /e?q=1 HTTP/1.1\r\n" (22) + "Content-Length: 5\r\n" (19) + "\r\n" (2) + 5
	wantIn := 100.0 + 22 + 19 + 2 + 5
	for _, c := range []struct {
		labels map[string]string
		value  float64
	}{
		{bob("ingress"), 300}, {bob("egress"), 1200}, {anon("ingress"), wantIn}, {anon("egress"), 42},
	} {
		if m := sample(f, "kong_bandwidth_bytes", c.labels); m == nil || m.GetCounter().GetValue() != c.value {
			t.Errorf("kong_bandwidth_bytes%v = %v, want %v; have %v", c.labels, m.GetCounter().GetValue(), c.value, labelSets(f, "kong_bandwidth_bytes"))
		}
	}
}

func TestCollectorsSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	env := newEnv()
	a := newInstance(t, env, map[string]any{"status_code_metrics": true})
	b := newInstance(t, env, map[string]any{"status_code_metrics": true})
	a.Log(proxied(200))
	b.Log(proxied(200))
	// Another environment on the same registry, with its own shared
	// state, adopts the registered collectors.
	other := &freshShared{Env: env, m: map[string]any{}}
	inst, err := prometheus.Factory{}.New(pdktest.NewConfig(t, other, map[string]any{"name": "prometheus", "config": map[string]any{"status_code_metrics": true}}))
	if err != nil {
		t.Fatal(err)
	}
	inst.(pdk.Logger).Log(proxied(200))
	if len(other.m) != 1 {
		t.Errorf("shared keys = %v", other.m)
	}
	f := scrape(t, env.Registry())
	m := sample(f, "kong_http_requests_total", map[string]string{"service": "s1", "route": "r1", "code": "200", "source": "service", "consumer": ""})
	if m == nil || m.GetCounter().GetValue() != 3 {
		t.Errorf("count = %v, want 3 across instances", m)
	}
}

// freshShared is env with shared state of its own.
type freshShared struct {
	*pdktest.Env
	m map[string]any
}

func (e *freshShared) Shared(key string, create func() any) any {
	if v, ok := e.m[key]; ok {
		return v
	}
	v := create()
	e.m[key] = v
	return v
}

func TestPerConsumerOff(t *testing.T) {
	t.Parallel()
	env := newEnv()
	in := newInstance(t, env, map[string]any{"status_code_metrics": true})
	in.Log(proxied(200).WithConsumer(&pdk.Consumer{ID: "c", Username: "alice"}, nil))
	f := scrape(t, env.Registry())
	if m := sample(f, "kong_http_requests_total", map[string]string{"service": "s1", "route": "r1", "code": "200", "source": "service", "consumer": ""}); m == nil {
		t.Errorf("consumer label set without per_consumer: %v", labelSets(f, "kong_http_requests_total"))
	}
}

func BenchmarkLog(b *testing.B) {
	env := newEnv()
	in := newInstance(b, env, allFlags)
	ctx := &counting{reqCtx: proxied(200).WithConsumer(&pdk.Consumer{ID: "c", Username: "alice"}, nil), in: 200, out: 800}
	b.ReportAllocs()
	for b.Loop() {
		in.Log(ctx)
	}
}
