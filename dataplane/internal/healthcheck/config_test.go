package healthcheck_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/healthcheck"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// upstream writes an upstream through the entity type, as the control
// plane stores it, with every default filled in.
func upstream(t *testing.T, in map[string]any) map[string]any {
	t.Helper()
	cat, err := entity.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	in["name"] = "svc.test"
	up, serr := cat.Type(entity.Upstreams).Write(in, schema.Insert, time.Now())
	if serr != nil {
		t.Fatal(serr)
	}
	return up
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	stored := upstream(t, map[string]any{})
	fromEntity, err := healthcheck.Parse(stored["healthchecks"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]healthcheck.Config{"entity defaults": fromEntity, "nil": healthcheck.Default()} {
		if c.Enabled() || c.Probing() {
			t.Errorf("%s: health checking on by default", name)
		}
		a := c.Active
		if a.Type != "http" || a.Timeout != time.Second || a.Concurrency != 10 || a.HTTPPath != "/" ||
			!a.HTTPSVerifyCertificate || a.HTTPSSNI != "" || a.Headers != nil {
			t.Errorf("%s: active = %+v", name, a)
		}
		if !a.HealthyStatuses.Has(200) || !a.HealthyStatuses.Has(302) || a.HealthyStatuses.Has(201) {
			t.Errorf("%s: active healthy statuses wrong", name)
		}
		for _, code := range []int{429, 404, 500, 501, 502, 503, 504, 505} {
			if !a.UnhealthyStatuses.Has(code) {
				t.Errorf("%s: active unhealthy statuses lack %d", name, code)
			}
		}
		if !c.Passive.HealthyStatuses.Has(226) || !c.Passive.HealthyStatuses.Has(308) || c.Passive.HealthyStatuses.Has(404) {
			t.Errorf("%s: passive healthy statuses wrong", name)
		}
		if !c.Passive.UnhealthyStatuses.Has(429) || c.Passive.UnhealthyStatuses.Has(502) {
			t.Errorf("%s: passive unhealthy statuses wrong", name)
		}
	}
}

func TestParseValues(t *testing.T) {
	t.Parallel()
	stored := upstream(t, map[string]any{"healthchecks": map[string]any{
		"threshold": 25.5,
		"active": map[string]any{
			"type": "https", "timeout": 0.5, "concurrency": 3, "http_path": "/status",
			"https_sni": "probe.test", "https_verify_certificate": false,
			"headers":   map[string]any{"x-b": []any{"2", "1"}, "x-a": []any{"a"}},
			"healthy":   map[string]any{"interval": 2, "successes": 4, "http_statuses": []any{204}},
			"unhealthy": map[string]any{"interval": 0.25, "http_failures": 5, "tcp_failures": 6, "timeouts": 7},
		},
		"passive": map[string]any{"unhealthy": map[string]any{"http_failures": 1}},
	}})
	c, err := healthcheck.Parse(stored["healthchecks"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Active
	switch {
	case c.Threshold != 25.5:
		t.Errorf("threshold = %v", c.Threshold)
	case a.Type != "https" || a.Timeout != 500*time.Millisecond || a.Concurrency != 3 || a.HTTPPath != "/status":
		t.Errorf("active = %+v", a)
	case a.HTTPSSNI != "probe.test" || a.HTTPSVerifyCertificate:
		t.Errorf("https settings = %q %v", a.HTTPSSNI, a.HTTPSVerifyCertificate)
	case a.HealthyInterval != 2*time.Second || a.UnhealthyInterval != 250*time.Millisecond:
		t.Errorf("intervals = %v %v", a.HealthyInterval, a.UnhealthyInterval)
	case a.Successes != 4 || a.HTTPFailures != 5 || a.TCPFailures != 6 || a.Timeouts != 7:
		t.Errorf("active counters = %+v", a.Checks)
	case !a.HealthyStatuses.Has(204) || a.HealthyStatuses.Has(200):
		t.Errorf("active healthy statuses not replaced")
	case c.Passive.HTTPFailures != 1:
		t.Errorf("passive = %+v", c.Passive)
	case !c.Enabled() || !c.Probing():
		t.Errorf("enabled %v, probing %v; want both", c.Enabled(), c.Probing())
	}
	if want := []string{"x-a: a", "x-b: 2", "x-b: 1"}; !slices.Equal(a.Headers, want) {
		t.Errorf("headers = %q, want %q", a.Headers, want)
	}
}

func TestParseJSONNumbers(t *testing.T) {
	t.Parallel()
	c, err := healthcheck.Parse(map[string]any{
		"threshold": json.Number("50"),
		"passive":   map[string]any{"unhealthy": map[string]any{"timeouts": json.Number("3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Threshold != 50 || c.Passive.Timeouts != 3 || !c.Enabled() || c.Probing() {
		t.Fatalf("config = %+v", c)
	}
}

func TestEnabledAndProbing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		hc               map[string]any
		enabled, probing bool
	}{
		{"passive tcp failures", map[string]any{"passive": map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}}}, true, false},
		{"passive successes only", map[string]any{"passive": map[string]any{"healthy": map[string]any{"successes": 1}}}, false, false},
		{"active unhealthy interval", map[string]any{"active": map[string]any{"unhealthy": map[string]any{"interval": 1}}}, true, true},
		{"tcp probes do not run", map[string]any{"active": map[string]any{"type": "tcp", "healthy": map[string]any{"interval": 1}}}, true, false},
		{"grpc probes do not run", map[string]any{"active": map[string]any{"type": "grpc", "healthy": map[string]any{"interval": 1}}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := healthcheck.Parse(tt.hc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Enabled() != tt.enabled || c.Probing() != tt.probing {
				t.Errorf("enabled %v probing %v, want %v %v", c.Enabled(), c.Probing(), tt.enabled, tt.probing)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hc   map[string]any
	}{
		{"threshold not a number", map[string]any{"threshold": "x"}},
		{"active not a record", map[string]any{"active": "x"}},
		{"negative counter", map[string]any{"passive": map[string]any{"unhealthy": map[string]any{"timeouts": -1}}}},
		{"statuses not an array", map[string]any{"active": map[string]any{"healthy": map[string]any{"http_statuses": 200}}}},
		{"header value not a string", map[string]any{"active": map[string]any{"headers": map[string]any{"a": []any{1}}}}},
		{"header injection", map[string]any{"active": map[string]any{"headers": map[string]any{"a": []any{"x\r\nb: y"}}}}},
		{"interval too long", map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 70000}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := healthcheck.Parse(tt.hc); err == nil {
				t.Fatal("Parse accepted it")
			}
		})
	}
}
