package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestStatusAPIOnARunningDataPlane serves the status API from a running
// data plane: readiness with a configuration, target health following a
// real upstream that fails and recovers, the gauges on /metrics, and
// draining.
func TestStatusAPIOnARunningDataPlane(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()

	dir := t.TempDir()
	decl := filepath.Join(dir, "kong.yaml")
	body := fmt.Sprintf(`_format_version: "3.0"
services:
- name: s
  host: up
  routes:
  - name: r
    paths: ["/"]
upstreams:
- name: up
  healthchecks:
    active:
      http_path: /health
      healthy: {interval: 1, successes: 1}
      unhealthy: {interval: 1, http_failures: 1}
  targets:
  - target: %s
`, strings.TrimPrefix(up.URL, "http://"))
	if err := os.WriteFile(decl, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GATEHOUSE_PREFIX":             filepath.Join(dir, "prefix"),
		"GATEHOUSE_DECLARATIVE_CONFIG": decl,
		"GATEHOUSE_LOG_LEVEL":          "info",
		"GATEHOUSE_PROXY_LISTEN":       "127.0.0.1:0",
		"GATEHOUSE_PROXY_SSL_LISTEN":   "off",
		"GATEHOUSE_STATUS_LISTEN":      "127.0.0.1:0",
		"GATEHOUSE_PROXY_ACCESS_LOG":   "off",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr) }()

	status := waitForLog(t, &stderr, `"status API listening"`, "address")
	base := "http://" + status

	eventually(t, "ready", func() (bool, string) {
		code, body := get(t, base+"/status/ready")
		return code == http.StatusOK && strings.Contains(body, `"ready"`), body
	})
	health := func() string {
		_, body := get(t, base+"/upstreams/up/health/")
		var out struct {
			Data []struct{ Health string } `json:"data"`
		}
		_ = json.Unmarshal([]byte(body), &out)
		if len(out.Data) != 1 {
			return body
		}
		return out.Data[0].Health
	}
	eventually(t, "target HEALTHY", func() (bool, string) { h := health(); return h == "HEALTHY", h })
	failing.Store(true)
	eventually(t, "target UNHEALTHY after failed probes", func() (bool, string) { h := health(); return h == "UNHEALTHY", h })
	gauge := func() float64 {
		_, text := get(t, base+"/metrics")
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		for _, m := range families["kong_upstream_target_health"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "state" && l.GetValue() == "unhealthy" {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	if g := gauge(); g != 1 {
		t.Errorf("kong_upstream_target_health{state=unhealthy} = %v, want 1", g)
	}
	failing.Store(false)
	eventually(t, "target HEALTHY again", func() (bool, string) { h := health(); return h == "HEALTHY", h })
	if g := gauge(); g != 0 {
		t.Errorf("kong_upstream_target_health{state=unhealthy} = %v after recovery, want 0", g)
	}

	// Draining: accepted from loopback, then /status/ready answers 503.
	resp, err := http.Post(base+"/status/ready", "application/x-www-form-urlencoded", strings.NewReader("status=draining")) //nolint:noctx // a test request
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST draining = %d, want 204", resp.StatusCode)
	}
	if code, body := get(t, base+"/status/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("GET /status/ready while draining = %d %s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the data plane did not stop")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx,gosec // a test request to a local listener
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls cond until it holds, failing after 20 s with cond's
// last description.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s (last: %s)", what, last)
		}
		timer := time.NewTimer(50 * time.Millisecond)
		<-timer.C
	}
}

// waitForLog waits for a JSON log line containing marker and returns the
// string value of its key.
func waitForLog(t *testing.T, log *syncBuffer, marker, key string) string {
	t.Helper()
	var value string
	eventually(t, "log line "+marker, func() (bool, string) {
		for line := range strings.SplitSeq(log.String(), "\n") {
			if !strings.Contains(line, marker) {
				continue
			}
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				value, _ = m[key].(string)
				if _, _, err := net.SplitHostPort(value); err == nil {
					return true, ""
				}
			}
		}
		return false, log.String()
	})
	return value
}
