package statusapi_test

import (
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	statusapi "gatehouse.dev/status-api"
)

// scrape gets /metrics and parses it with Prometheus' text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := do(t, h, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// gauge returns the value of the gauge series with exactly these labels,
// and whether it exists.
func gauge(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := families[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if maps.Equal(got, labels) {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// healthSeries returns the state whose series is 1 for a target address,
// and checks the four states are all present with exactly one set.
func healthState(t *testing.T, families map[string]*dto.MetricFamily, upstream, target, address string) string {
	t.Helper()
	var current []string
	for _, state := range []string{"healthchecks_off", "healthy", "unhealthy", "dns_error"} {
		v, ok := gauge(families, "kong_upstream_target_health", map[string]string{
			"upstream": upstream, "target": target, "address": address, "state": state, "subsystem": "http",
		})
		if !ok {
			t.Errorf("no %s series for %s %s %q", state, upstream, target, address)
			continue
		}
		switch v {
		case 1:
			current = append(current, state)
		case 0:
		default:
			t.Errorf("%s %s %q %s = %v, want 0 or 1", upstream, target, address, state, v)
		}
	}
	if len(current) != 1 {
		t.Errorf("%s %s %q: states at 1: %v, want exactly one", upstream, target, address, current)
		return ""
	}
	return current[0]
}

// TestMetrics scrapes /metrics from a registry holding the collector and
// checks every gauge, then changes the source and checks the next scrape
// follows.
func TestMetrics(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.update(func(f *fakeSource) { f.status.LastSync = time.Now().Add(-90 * time.Second) })
	reg := prometheus.NewRegistry()
	reg.MustRegister(statusapi.NewCollector(src))
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "kong_http_requests_total", Help: "requests"})
	reg.MustRegister(requests)
	requests.Add(3)
	h := statusapi.Handler(src, statusapi.Options{Gatherer: reg})

	start := time.Now()
	families := scrape(t, h)
	checks := []struct {
		name string
		want float64
	}{
		{"kong_control_plane_connected", 1},
		{"kong_data_plane_cluster_cert_expiry_timestamp", float64(mustTime("2028-01-01T00:00:00Z").Unix())},
		{"gatehouse_config_revision", 42},
		{"kong_http_requests_total", 3},
	}
	for _, c := range checks {
		mf := families[c.name]
		if mf == nil || len(mf.GetMetric()) != 1 {
			t.Errorf("%s: %v", c.name, mf)
			continue
		}
		m := mf.GetMetric()[0]
		v := m.GetGauge().GetValue()
		if mf.GetType() == dto.MetricType_COUNTER {
			v = m.GetCounter().GetValue()
		}
		if v != c.want {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	if mf := families["kong_control_plane_connected"]; mf.GetHelp() != "Kong connected to control plane, 0 is unconnected" || mf.GetType() != dto.MetricType_GAUGE {
		t.Errorf("kong_control_plane_connected help %q type %v", mf.GetHelp(), mf.GetType())
	}
	since, ok := gauge(families, "gatehouse_seconds_since_last_sync", map[string]string{})
	if maxSince := 90 + time.Since(start).Seconds() + 1; !ok || since < 90 || since > maxSince {
		t.Errorf("gatehouse_seconds_since_last_sync = %v (present %v), want 90 to %v", since, ok, maxSince)
	}

	ipv6 := "[0000:0000:0000:0000:0000:0000:0000:0001]"
	wantStates := []struct{ upstream, target, address, state string }{
		{"service-a", "10.0.0.1:80", "10.0.0.1:80", "healthy"},
		{"service-a", "10.0.0.2:80", "10.0.0.2:80", "unhealthy"},
		{"service-a", "api.internal:8080", "", "dns_error"},
		{"service-a", "missing.internal:80", "", "dns_error"},
		{"service-a", "multi.internal:8000", "10.0.1.1:8000", "unhealthy"},
		{"service-a", "multi.internal:8000", "10.0.1.2:8000", "healthy"},
		{"service-a", ipv6 + ":9000", ipv6 + ":9000", "healthy"},
		{"service-b", "b.internal:80", "10.0.2.1:80", "healthchecks_off"},
		{"service-b", "b.internal:80", "10.0.2.2:80", "healthchecks_off"},
		{"service-c", "10.0.3.1:80", "10.0.3.1:80", "unhealthy"},
	}
	for i := range 5 {
		ip := "10.9.0." + string(rune('1'+i))
		wantStates = append(wantStates, struct{ upstream, target, address, state string }{"many-upstream", ip + ":80", ip + ":80", "healthy"})
	}
	for _, w := range wantStates {
		if got := healthState(t, families, w.upstream, w.target, w.address); got != w.state {
			t.Errorf("%s %s %q: state %s, want %s", w.upstream, w.target, w.address, got, w.state)
		}
	}
	// Four series per address, and none for inactive targets.
	if got, want := len(families["kong_upstream_target_health"].GetMetric()), 4*len(wantStates); got != want {
		t.Errorf("kong_upstream_target_health has %d series, want %d", got, want)
	}

	// The next scrape reads the source again.
	src.update(func(f *fakeSource) {
		f.status.ControlPlane.Connected = false
		f.status.Revision = 43
		f.upstreams = slices.Clone(f.upstreams)
		f.upstreams[2].Targets = slices.Clone(f.upstreams[2].Targets)
		f.upstreams[2].Targets[0].Balancer = resolved("A", addr("10.0.3.1", 80, 100, true))
	})
	families = scrape(t, h)
	if v, _ := gauge(families, "kong_control_plane_connected", map[string]string{}); v != 0 {
		t.Errorf("after disconnect: kong_control_plane_connected = %v, want 0", v)
	}
	if v, _ := gauge(families, "gatehouse_config_revision", map[string]string{}); v != 43 {
		t.Errorf("after a sync: gatehouse_config_revision = %v, want 43", v)
	}
	if got := healthState(t, families, "service-c", "10.0.3.1:80", "10.0.3.1:80"); got != "healthy" {
		t.Errorf("after recovery: state %s, want healthy", got)
	}
}

// TestMetricsStandalone checks the gauges that need a value are absent
// when there is none: no cluster certificate, never synced.
func TestMetricsStandalone(t *testing.T) {
	t.Parallel()
	src := newStandaloneSource()
	reg := prometheus.NewRegistry()
	reg.MustRegister(statusapi.NewCollector(src))
	families := scrape(t, statusapi.Handler(src, statusapi.Options{Gatherer: reg}))
	got := slices.Sorted(maps.Keys(families))
	want := []string{"gatehouse_config_revision", "kong_control_plane_connected"}
	if !slices.Equal(got, want) {
		t.Errorf("families = %v, want %v", got, want)
	}
}

// brokenCollector reports an error for one metric and a value for
// another.
type brokenCollector struct{ ok, bad *prometheus.Desc }

func (b brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.ok; ch <- b.bad }

func (b brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(b.ok, prometheus.GaugeValue, 1)
	ch <- prometheus.NewInvalidMetric(b.bad, errBroken)
}

var errBroken = errors.New("collector broken")

// TestMetricsPartialGather checks a failing collector does not hide the
// others.
func TestMetricsPartialGather(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(brokenCollector{
		ok:  prometheus.NewDesc("gatehouse_test_ok", "ok", nil, nil),
		bad: prometheus.NewDesc("gatehouse_test_bad", "bad", nil, nil),
	})
	h := statusapi.Handler(newFakeSource(), statusapi.Options{Gatherer: reg, Logger: slog.New(slog.DiscardHandler)})
	rec := do(t, h, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "gatehouse_test_ok 1") {
		t.Errorf("GET /metrics = %d %s", rec.Code, rec.Body)
	}
}
