package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/admin-api/internal/config"
	"gatehouse.dev/shared/store/storetest"
	"gatehouse.dev/shared/version"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

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
		{name: "version", args: []string{"--version"}, wantStdout: version.String("admin-api") + "\n"},
		{name: "version single dash", args: []string{"-version"}, wantStdout: version.String("admin-api") + "\n"},
		{name: "help", args: []string{"--help"}, wantUsage: true},
		{name: "h", args: []string{"-h"}, wantUsage: true},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: []string{"-bogus", "Usage: admin-api"}},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: []string{`unknown command "bogus"`, "Usage: admin-api"}},
		{name: "migrate with arguments", args: []string{"migrate", "now"}, wantCode: 2, wantStderr: []string{"migrate takes no arguments"}},
		{
			name: "public listener without token", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "0.0.0.0:8001"},
			wantCode: 1, wantStderr: []string{"admin-api: GATEHOUSE_ADMIN_TOKEN is required"},
		},
		{
			name: "bad setting", args: []string{"--log-level", "loud"},
			wantCode: 1, wantStderr: []string{`GATEHOUSE_LOG_LEVEL: "loud" is not a log level`},
		},
		{
			name: "unknown plugin", env: map[string]string{"GATEHOUSE_PLUGINS": "nope", "GATEHOUSE_PG_URL": "postgres://127.0.0.1:1/x"},
			args: []string{"migrate"}, wantCode: 1, wantStderr: []string{"GATEHOUSE_PLUGINS: plugin 'nope' is not available"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, envOf(tt.env), &stdout, &stderr)
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

// TestUsageListsSettings pins the settings DESIGN.md lists for admin-api.
func TestUsageListsSettings(t *testing.T) {
	t.Parallel()
	for _, want := range []string{
		"migrate",
		"GATEHOUSE_PG_URL",
		"GATEHOUSE_ADMIN_LISTEN",
		"GATEHOUSE_ADMIN_SSL_LISTEN",
		"GATEHOUSE_ADMIN_SSL_CERT,",
		"GATEHOUSE_ADMIN_SSL_CERT_KEY",
		"GATEHOUSE_ADMIN_TOKEN",
		"GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS",
		"GATEHOUSE_CHANGE_LOG_MAX_AGE",
		"GATEHOUSE_PLUGINS",
		"GATEHOUSE_LOG_LEVEL",
		"OTEL_",
	} {
		if !strings.Contains(usage(), want) {
			t.Errorf("usage does not mention %q", want)
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"GATEHOUSE_PG_URL": storetest.NewDatabase(t)})
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, env, &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied migration 1\n") {
		t.Errorf("first run printed %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate"}, env, &out, &out); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if !strings.Contains(out.String(), "database schema is up to date") {
		t.Errorf("second run printed %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
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

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestServe starts the server with migrations on start and the admin
// token, serves a request, and shuts down on cancellation.
func TestServe(t *testing.T) {
	t.Parallel()
	addr := freePort(t)
	env := envOf(map[string]string{
		"GATEHOUSE_PG_URL":           storetest.NewDatabase(t),
		"GATEHOUSE_ADMIN_LISTEN":     addr,
		"GATEHOUSE_ADMIN_TOKEN":      "s3cret",
		"GATEHOUSE_MIGRATE_ON_START": "on",
		"GATEHOUSE_LOG_LEVEL":        "info",
	})
	ctx, cancel := context.WithCancel(t.Context())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, &logs, &logs) }()

	client := &http.Client{Timeout: 2 * time.Second}
	get := func(token string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/status", nil)
		if token != "" {
			req.Header.Set("Kong-Admin-Token", token)
		}
		return client.Do(req)
	}
	deadline := time.Now().Add(20 * time.Second)
	var res *http.Response
	for {
		var err error
		res, err = get("s3cret")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not answer: %v\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var status struct {
		Database struct {
			Reachable bool `json:"reachable"`
		} `json:"database"`
	}
	if err := json.NewDecoder(res.Body).Decode(&status); err != nil || res.StatusCode != http.StatusOK || !status.Database.Reachable {
		t.Errorf("GET /status = %d %+v (%v)", res.StatusCode, status, err)
	}
	_ = res.Body.Close()
	if res, err := get(""); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /status without token = %v, %v; want 401", res, err)
	} else {
		_ = res.Body.Close()
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not shut down")
	}
	for _, want := range []string{`"msg":"admin API listening"`, `"msg":"shutting down"`, `"level":"NOTICE"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("the token appears in the logs")
	}
}

// TestSettingsDocumented keeps the README's settings reference in step
// with the declared settings.
func TestSettingsDocumented(t *testing.T) {
	t.Parallel()
	readme := readme(t)
	for _, s := range config.Settings() {
		if !strings.Contains(readme, "`"+s.Env+"`") {
			t.Errorf("README.md does not document %s", s.Env)
		}
	}
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeTLS serves the API on a TLS listener only.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := writeCert(t, dir)
	addr := freePort(t)
	env := envOf(map[string]string{
		"GATEHOUSE_PG_URL":             storetest.NewMigrated(t),
		"GATEHOUSE_ADMIN_LISTEN":       "off",
		"GATEHOUSE_ADMIN_SSL_LISTEN":   addr,
		"GATEHOUSE_ADMIN_SSL_CERT":     certFile,
		"GATEHOUSE_ADMIN_SSL_CERT_KEY": keyFile,
	})
	ctx, cancel := context.WithCancel(t.Context())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, &logs, &logs) }()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true,
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+addr+"/", nil)
		res, err := client.Do(req)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
				t.Errorf("GET / over TLS: %d %s", res.StatusCode, res.Proto)
			}
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no TLS answer: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(logs.String(), `"tls":true`) {
		t.Errorf("start-up log lacks the TLS listener:\n%s", logs.String())
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their paths and a pool that trusts the certificate.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin-api test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
