package main

import (
	"bytes"
	"strings"
	"testing"

	"gatehouse.dev/shared/version"
)

// noEnv is a getenv that finds nothing.
func noEnv(string) string { return "" }

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // exact, when wantUsage is false
		wantUsage  bool   // stdout holds the usage text
		wantStderr []string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.String("dataplane") + "\n"},
		{name: "version single dash", args: []string{"-version"}, wantStdout: version.String("dataplane") + "\n"},
		{name: "help", args: []string{"--help"}, wantUsage: true},
		{name: "h", args: []string{"-h"}, wantUsage: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: []string{"-bogus", "Usage: dataplane"}},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: []string{`unknown command "bogus"`, "Usage: dataplane"}},
		{name: "server", args: nil, wantCode: 1, wantStderr: []string{"dataplane: not implemented yet"}},
		{name: "cache export", args: []string{"cache", "export", "/tmp/x"}, wantCode: 1, wantStderr: []string{"dataplane: cache export: not implemented yet"}},
		{name: "cache export without dir", args: []string{"cache", "export"}, wantCode: 2, wantStderr: []string{"want cache export DIR", "Usage: dataplane"}},
		{name: "cache bogus", args: []string{"cache", "bogus", "/tmp/x"}, wantCode: 2, wantStderr: []string{"want cache export DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, noEnv, &stdout, &stderr)
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

// TestUsageListsSettings pins the settings DESIGN.md lists for dataplane.
func TestUsageListsSettings(t *testing.T) {
	t.Parallel()
	for _, want := range []string{
		"cache export DIR",
		"GATEHOUSE_PREFIX",
		"GATEHOUSE_CLUSTER_CONTROL_PLANE",
		"GATEHOUSE_CLUSTER_CERT ",
		"GATEHOUSE_CLUSTER_CERT_KEY",
		"GATEHOUSE_CLUSTER_MTLS",
		"GATEHOUSE_CLUSTER_CA_CERT",
		"GATEHOUSE_CLUSTER_SERVER_NAME",
		"GATEHOUSE_CLUSTER_DP_LABELS",
		"GATEHOUSE_DECLARATIVE_CONFIG",
		"GATEHOUSE_PROXY_LISTEN",
		"GATEHOUSE_PROXY_SSL_LISTEN",
		"GATEHOUSE_STATUS_LISTEN",
		"GATEHOUSE_STATUS_TOKEN",
		"GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE",
		"GATEHOUSE_TRUSTED_IPS",
		"GATEHOUSE_REAL_IP_HEADER",
		"GATEHOUSE_REAL_IP_RECURSIVE",
		"GATEHOUSE_PLUGINS",
		"GATEHOUSE_LOG_LEVEL",
		"OTEL_",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not mention %q", want)
		}
	}
}
