package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/shared/version"
)

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string // exact, when wantUsage is false
		wantUsage  bool   // stdout holds the usage text
		wantStderr []string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.String("dataplane") + "\n"},
		{name: "version single dash", args: []string{"-version"}, wantStdout: version.String("dataplane") + "\n"},
		{name: "help", args: []string{"--help"}, wantUsage: true},
		{name: "h", args: []string{"-h"}, wantUsage: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: []string{"dataplane: flag provided but not defined: -bogus", "Usage: dataplane"}},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: []string{`unknown command "bogus"`, "Usage: dataplane"}},
		{name: "cache export without dir", args: []string{"cache", "export"}, wantCode: 2, wantStderr: []string{"want cache export DIR", "Usage: dataplane"}},
		{name: "cache bogus", args: []string{"cache", "bogus", "/tmp/x"}, wantCode: 2, wantStderr: []string{"want cache export DIR"}},
		{
			name: "invalid labels", env: map[string]string{"GATEHOUSE_CLUSTER_DP_LABELS": "w@:_a"}, wantCode: 1,
			wantStderr: []string{"dataplane: label key validation failed: w@ is invalid"},
		},
		{
			name: "control plane without certificate", env: map[string]string{"GATEHOUSE_CLUSTER_CONTROL_PLANE": "127.0.0.1:8005"}, wantCode: 1,
			wantStderr: []string{"dataplane: cluster certificate and key must be provided to use Hybrid mode"},
		},
		{
			name: "bad environment value", env: map[string]string{"GATEHOUSE_REAL_IP_RECURSIVE": "maybe"}, wantCode: 1,
			wantStderr: []string{`dataplane: GATEHOUSE_REAL_IP_RECURSIVE: invalid value "maybe"`},
		},
		{
			name: "export without a cache", args: []string{"--prefix", "/nonexistent/prefix", "cache", "export", "/tmp/never"}, wantCode: 1,
			wantStderr: []string{"dataplane: cache export: no cache in /nonexistent/prefix"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code := exitCode(err, &stderr); code != tt.wantCode {
				t.Errorf("exit code = %d (err %v), want %d", code, err, tt.wantCode)
			}
			switch {
			case tt.wantUsage:
				if stdout.String() != usage {
					t.Errorf("stdout = %q, want the usage text", stdout.String())
				}
			case stdout.String() != tt.wantStdout:
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if len(tt.wantStderr) == 0 && stderr.Len() != 0 {
				t.Errorf("stderr = %q, want it empty", stderr.String())
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr = %q, want it to contain %q", stderr.String(), want)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStandaloneAndShutdown runs the data plane from a declarative
// file until it is told to stop.
func TestServeStandaloneAndShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	decl := filepath.Join(dir, "kong.yaml")
	body := "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://example.com\n"
	if err := os.WriteFile(decl, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GATEHOUSE_PREFIX":             filepath.Join(dir, "prefix"),
		"GATEHOUSE_DECLARATIVE_CONFIG": decl,
		"GATEHOUSE_LOG_LEVEL":          "info",
		"GATEHOUSE_PROXY_LISTEN":       "127.0.0.1:0",
		"GATEHOUSE_PROXY_SSL_LISTEN":   "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr) }()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stderr.String(), "running standalone") {
		if time.Now().After(deadline) {
			t.Fatalf("the data plane did not start: %s", stderr.String())
		}
		timer := time.NewTimer(10 * time.Millisecond)
		<-timer.C
	}
	for _, want := range []string{`"loaded declarative config `, `"starting data plane"`, `"node_id":"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s: %s", want, stderr.String())
		}
	}
	// The proxy serves the configuration: no route matches.
	addr := listening(t, stderr.String(), "proxy_listen")
	resp, err := http.Get("http://" + addr + "/nothing") //nolint:noctx // a test request
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || len(resp.Header.Get("X-Kong-Request-Id")) != 32 {
		t.Errorf("proxy answered %d %v, want Kong's 404", resp.StatusCode, resp.Header)
	}
	for !strings.Contains(stdout.String(), `"status":404`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access log line on stdout: %q", stdout.String())
		}
		timer := time.NewTimer(10 * time.Millisecond)
		<-timer.C
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want a clean stop", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the data plane did not stop")
	}
	if !strings.Contains(stderr.String(), "data plane stopped") {
		t.Errorf("log = %s", stderr.String())
	}
}

// listening returns the address the log says a listener bound.
func listening(t *testing.T, log, setting string) string {
	t.Helper()
	for line := range strings.SplitSeq(log, "\n") {
		var rec struct {
			Msg, Setting, Address string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "proxy listening" && rec.Setting == setting {
			return rec.Address
		}
	}
	t.Fatalf("no %s listening line in %s", setting, log)
	return ""
}

// TestUsageListsSettings keeps --help in step with the settings.
func TestUsageListsSettings(t *testing.T) {
	t.Parallel()
	if !strings.Contains(usage, "cache export DIR") || !strings.Contains(usage, "OTEL_") {
		t.Error("usage lacks the commands or OTEL_*")
	}
	for _, s := range config.Settings() {
		if !strings.Contains(usage, s.Env+", --"+s.Flag) {
			t.Errorf("usage does not list %s", s.Env)
		}
	}
}

// TestReadmeListsSettings keeps README.md's settings table in step with
// the settings: every one with its default.
func TestReadmeListsSettings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		def := s.Default
		if def == "" {
			def = "(none)"
		}
		row := "| `" + s.Env + "` | `" + def + "` |"
		if def == "(none)" {
			row = "| `" + s.Env + "` | (none) |"
		}
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
}
