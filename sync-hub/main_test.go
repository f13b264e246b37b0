package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/store/storetest"
	"gatehouse.dev/shared/version"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// noEnv is a getenv that finds nothing.
func noEnv(string) string { return "" }

func TestRun(t *testing.T) {
	t.Parallel()
	certDir := t.TempDir()
	testCert, testKey := filepath.Join(certDir, "cluster.crt"), filepath.Join(certDir, "cluster.key")
	if err := clustertls.Generate(testCert, testKey, 30, time.Now()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string // exact, when wantUsage is false
		wantUsage  bool   // stdout holds the usage text
		wantStderr []string
	}{
		{name: "version", args: []string{"--version"}, wantStdout: version.String("sync-hub") + "\n"},
		{name: "version single dash", args: []string{"-version"}, wantStdout: version.String("sync-hub") + "\n"},
		{name: "version after a setting flag", args: []string{"--log-level=debug", "--version"}, wantStdout: version.String("sync-hub") + "\n"},
		{name: "help", args: []string{"--help"}, wantUsage: true},
		{name: "h", args: []string{"-h"}, wantUsage: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: []string{"-bogus", "Usage: sync-hub"}},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: []string{`unknown command "bogus"`, "Usage: sync-hub"}},
		{
			name: "bad setting", env: map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "big"}, wantCode: 2,
			wantStderr: []string{`GATEHOUSE_CLUSTER_MAX_PAYLOAD: invalid value "big"`},
		},
		{
			name: "payload below Kong's minimum", env: map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "1024"}, wantCode: 1,
			wantStderr: []string{"sync-hub: cluster_max_payload must be 4194304 (4MB) or greater"},
		},
		{
			name: "purge delay below Kong's minimum", env: map[string]string{"GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY": "30"}, wantCode: 1,
			wantStderr: []string{"sync-hub: cluster_data_plane_purge_delay must be 60 or greater"},
		},
		{
			name: "no certificate", wantCode: 1,
			wantStderr: []string{"sync-hub: cluster certificate and key must be provided to use Hybrid mode"},
		},
		{
			name: "unreadable certificate", wantCode: 1,
			env:        map[string]string{"GATEHOUSE_CLUSTER_CERT": "/nonexistent/cluster.crt", "GATEHOUSE_CLUSTER_CERT_KEY": "/nonexistent/cluster.key"},
			wantStderr: []string{"sync-hub: cluster_cert: failed loading certificate from /nonexistent/cluster.crt"},
		},
		{
			name: "pki without CA", wantCode: 1,
			env:        map[string]string{"GATEHOUSE_CLUSTER_MTLS": "pki", "GATEHOUSE_CLUSTER_CERT": testCert, "GATEHOUSE_CLUSTER_CERT_KEY": testKey},
			wantStderr: []string{`sync-hub: cluster_ca_cert must be specified when cluster_mtls = "pki"`},
		},
		{name: "cert with three names", args: []string{"cert", "a", "b", "c"}, wantCode: 2, wantStderr: []string{"want a certificate and a key file name"}},
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
				if stdout.String() != usage() {
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

// TestUsageListsSettings pins the settings DESIGN.md lists for sync-hub.
func TestUsageListsSettings(t *testing.T) {
	t.Parallel()
	for _, want := range []string{
		"cert",
		"GATEHOUSE_PG_URL",
		"GATEHOUSE_CLUSTER_LISTEN",
		"GATEHOUSE_CLUSTER_CERT,",
		"GATEHOUSE_CLUSTER_CERT_KEY",
		"GATEHOUSE_CLUSTER_MTLS",
		"GATEHOUSE_CLUSTER_CA_CERT",
		"GATEHOUSE_CLUSTER_CRL",
		"GATEHOUSE_CLUSTER_MAX_PAYLOAD",
		"GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY",
		"GATEHOUSE_STATUS_LISTEN",
		"GATEHOUSE_PLUGINS",
		"GATEHOUSE_LOG_LEVEL",
		"OTEL_",
	} {
		if !strings.Contains(usage(), want) {
			t.Errorf("usage does not mention %q", want)
		}
	}
}

func TestCert(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		args     func(dir string) []string
		wantDays int
	}{
		{"named files, default days", func(d string) []string { return []string{filepath.Join(d, "c.crt"), filepath.Join(d, "c.key")} }, 1095},
		{"days before names", func(d string) []string {
			return []string{"--days", "10", filepath.Join(d, "c.crt"), filepath.Join(d, "c.key")}
		}, 10},
		{"days after names", func(d string) []string {
			return []string{filepath.Join(d, "c.crt"), filepath.Join(d, "c.key"), "-d", "7"}
		}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := runCert(tt.args(dir), &stdout, &stderr, now); err != nil {
				t.Fatalf("cert: %v (stderr %s)", err, stderr.String())
			}
			raw, err := os.ReadFile(filepath.Join(dir, "c.crt")) //nolint:gosec // the test's temporary directory
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(raw)
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Add(time.Duration(tt.wantDays) * 24 * time.Hour); !cert.NotAfter.Equal(want) {
				t.Errorf("not after = %v, want %v", cert.NotAfter, want)
			}
			info, err := os.Stat(filepath.Join(dir, "c.key"))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("key mode = %v (%v), want 0600", info.Mode().Perm(), err)
			}
			if !strings.Contains(stdout.String(), "wrote the cluster certificate") {
				t.Errorf("stdout = %q", stdout.String())
			}
			// Never overwrites.
			err = runCert(tt.args(dir), &stdout, &stderr, now)
			if err == nil || !strings.Contains(err.Error(), "already exists; refusing to overwrite it") {
				t.Errorf("second cert = %v, want a refusal to overwrite", err)
			}
		})
	}
}

// TestCertDefaultNames runs in the package directory's temporary copy: the
// default names are relative to the working directory.
func TestCertDefaultNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"cert"}, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("cert: %v", err)
	}
	for _, f := range []string{"cluster.crt", "cluster.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// freePort returns a local address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func serveEnv(t *testing.T, dbURL string) map[string]string {
	t.Helper()
	_, cert, key := hubtest.SharedCert(t)
	return map[string]string{
		"GATEHOUSE_PG_URL":           dbURL,
		"GATEHOUSE_CLUSTER_CERT":     cert,
		"GATEHOUSE_CLUSTER_CERT_KEY": key,
		"GATEHOUSE_CLUSTER_LISTEN":   freePort(t),
		"GATEHOUSE_STATUS_LISTEN":    freePort(t),
		"GATEHOUSE_LOG_LEVEL":        "notice",
	}
}

func TestServeRefusesAnOutdatedSchema(t *testing.T) {
	t.Parallel()
	env := serveEnv(t, storetest.NewDatabase(t))
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), nil, func(k string) string { return env[k] }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "run `admin-api migrate`") {
		t.Errorf("run on an empty database = %v, want the advice to migrate", err)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	env := serveEnv(t, storetest.NewMigrated(t))
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+env["GATEHOUSE_STATUS_LISTEN"]+"/status/ready", nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync-hub never became ready; log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v; log:\n%s", err, stderr.String())
	}
	// Logs are JSON lines; info is below the notice level chosen.
	for line := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
		if m["level"] == "INFO" || m["level"] == "DEBUG" {
			t.Errorf("log line below notice: %q", line)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
