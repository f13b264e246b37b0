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
		{name: "version", args: []string{"--version"}, wantStdout: version.String("admin-api") + "\n"},
		{name: "version single dash", args: []string{"-version"}, wantStdout: version.String("admin-api") + "\n"},
		{name: "help", args: []string{"--help"}, wantUsage: true},
		{name: "h", args: []string{"-h"}, wantUsage: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: []string{"-bogus", "Usage: admin-api"}},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: []string{`unknown command "bogus"`, "Usage: admin-api"}},
		{name: "server", args: nil, wantCode: 1, wantStderr: []string{"admin-api: not implemented yet"}},
		{name: "migrate", args: []string{"migrate"}, wantCode: 1, wantStderr: []string{"admin-api: migrate: not implemented yet"}},
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

// TestUsageListsSettings pins the settings DESIGN.md lists for admin-api.
func TestUsageListsSettings(t *testing.T) {
	t.Parallel()
	for _, want := range []string{
		"migrate",
		"GATEHOUSE_PG_URL",
		"GATEHOUSE_ADMIN_LISTEN",
		"GATEHOUSE_ADMIN_SSL_LISTEN",
		"GATEHOUSE_ADMIN_SSL_CERT ",
		"GATEHOUSE_ADMIN_SSL_CERT_KEY",
		"GATEHOUSE_ADMIN_TOKEN",
		"GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS",
		"GATEHOUSE_CHANGE_LOG_MAX_AGE",
		"GATEHOUSE_PLUGINS",
		"GATEHOUSE_LOG_LEVEL",
		"OTEL_",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not mention %q", want)
		}
	}
}
