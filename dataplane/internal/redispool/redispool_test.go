package redispool

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	var b breaker
	now := time.Unix(1000, 0)
	down := errors.New("connection refused")
	step := func(at time.Duration, wantProbe, wantAllowed bool) bool {
		t.Helper()
		probe, err := b.allow(now.Add(at))
		if allowed := err == nil; allowed != wantAllowed || probe != wantProbe {
			t.Fatalf("at %v: probe %v allowed %v (%v); want %v %v", at, probe, allowed, err, wantProbe, wantAllowed)
		}
		if err != nil && (!errors.Is(err, ErrUnavailable) || !errors.Is(err, down)) {
			t.Fatalf("error %v does not wrap ErrUnavailable and the cause", err)
		}
		return probe
	}
	step(0, false, true)
	b.report(false, down, now)
	if !b.down.Load() {
		t.Fatal("a failure did not open the breaker")
	}
	step(50*time.Millisecond, false, false) // within the first backoff
	p := step(100*time.Millisecond, true, true)
	step(100*time.Millisecond, false, false) // one probe at a time
	b.report(p, down, now.Add(100*time.Millisecond))
	step(250*time.Millisecond, false, false) // the backoff doubled: 200 ms
	p = step(300*time.Millisecond, true, true)
	// A probe the caller abandoned passes the turn.
	b.abandon(p)
	p = step(300*time.Millisecond, true, true)
	b.report(p, nil, now.Add(300*time.Millisecond))
	if b.down.Load() {
		t.Fatal("a successful probe did not close the breaker")
	}
	step(300*time.Millisecond, false, true)
	// The backoff starts again from the minimum, and never passes the
	// maximum.
	b.report(false, down, now)
	for i := range 10 {
		at := time.Duration(i+1) * 2 * time.Second
		b.report(step(at, true, true), down, now.Add(at))
	}
	if b.backoff != maxBackoff {
		t.Errorf("backoff %v, want %v", b.backoff, maxBackoff)
	}
}

func TestSettingsKey(t *testing.T) {
	t.Parallel()
	base := Settings{Host: "redis", Port: 6379, Timeout: 2 * time.Second}
	changes := []func(*Settings){
		func(s *Settings) { s.Host = "redis2" },
		func(s *Settings) { s.Port = 6380 },
		func(s *Settings) { s.Database = 1 },
		func(s *Settings) { s.Username = "u" },
		func(s *Settings) { s.Password = "p" },
		func(s *Settings) { s.SSL = true },
		func(s *Settings) { s.SSLVerify = true },
		func(s *Settings) { s.ServerName = "sni" },
		func(s *Settings) { s.Timeout = time.Second },
		// Field boundaries count: "ab"+"c" is not "a"+"bc".
		func(s *Settings) { s.Host, s.Username = "redi", "s" },
	}
	seen := map[string]bool{base.Key(): true}
	for i, change := range changes {
		s := base
		change(&s)
		if seen[s.Key()] {
			t.Errorf("change %d gives a key already seen", i)
		}
		seen[s.Key()] = true
	}
	if base.Key() != (Settings{Host: "redis", Port: 6379, Timeout: 2 * time.Second}).Key() {
		t.Error("equal settings, different keys")
	}
	s := Settings{Host: "redis", Port: 6379, Database: 2, Password: "hunter2"}
	if got := s.String(); got != "redis:6379/2" || strings.Contains(s.Key(), "hunter2") {
		t.Errorf("String %q, Key %q", got, s.Key())
	}
}

func TestClientFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	c := Open(Settings{Host: "127.0.0.1", Port: srv.port, Timeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	ping := func() error {
		return c.Do(t.Context(), func(ctx context.Context, rdb *redis.Client) error { return rdb.Ping(ctx).Err() })
	}
	if err := ping(); err != nil || c.Down() {
		t.Fatalf("ping: %v, down %v", err, c.Down())
	}
	srv.stop()
	if err := ping(); err == nil || errors.Is(err, ErrUnavailable) || !c.Down() {
		t.Fatalf("first ping after the stop: %v, down %v; want the connection error", err, c.Down())
	}
	if err := ping(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second ping: %v, want ErrUnavailable at once", err)
	}
	// A reply error means the server is there.
	srv.start()
	deadline := time.Now().Add(10 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			t.Fatal("no recovery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := c.Do(t.Context(), func(ctx context.Context, rdb *redis.Client) error {
		return rdb.Do(ctx, "NO-SUCH-COMMAND").Err()
	})
	if err == nil || c.Down() {
		t.Errorf("a reply error: %v, down %v; want the error with the breaker closed", err, c.Down())
	}
	// A caller giving up is not the server's failure.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Do(ctx, func(ctx context.Context, rdb *redis.Client) error { return rdb.Ping(ctx).Err() }); err == nil || c.Down() {
		t.Errorf("cancelled: %v, down %v", err, c.Down())
	}
}

func TestRoundTrips(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	c := Open(Settings{Host: "127.0.0.1", Port: srv.port, Timeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	err := c.Do(t.Context(), func(ctx context.Context, rdb *redis.Client) error {
		if err := rdb.Set(ctx, "a", 1, 0).Err(); err != nil {
			return err
		}
		pipe := rdb.Pipeline()
		pipe.Incr(ctx, "a")
		pipe.Incr(ctx, "a")
		_, err := pipe.Exec(ctx)
		return err
	})
	if err != nil || c.RoundTrips() != 2 {
		t.Errorf("round trips %d (%v), want 2: a command and a pipeline", c.RoundTrips(), err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	writeCert(t, cert, key, "redis.test")
	port := freePort(t)
	srv := startRedisArgs(t, port, "--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert, "--tls-auth-clients", "no")
	_ = srv
	tests := []struct {
		name string
		s    Settings
		ok   bool
	}{
		{"ssl without verification", Settings{SSL: true}, true},
		{"ssl with a server name", Settings{SSL: true, ServerName: "redis.test"}, true},
		{"ssl_verify refuses an untrusted certificate", Settings{SSL: true, SSLVerify: true, ServerName: "redis.test"}, false},
		{"plain text to a TLS port", Settings{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.s
			s.Host, s.Port, s.Timeout = "127.0.0.1", port, 5*time.Second
			c := Open(s)
			defer func() { _ = c.Close() }()
			err := c.Do(t.Context(), func(ctx context.Context, rdb *redis.Client) error { return rdb.Ping(ctx).Err() })
			if (err == nil) != tt.ok {
				t.Errorf("ping: %v, want ok %v", err, tt.ok)
			}
			if !tt.ok && tt.s.SSLVerify {
				if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
					t.Errorf("error %v, want an unknown authority", err)
				}
			}
		})
	}
}

// writeCert writes a self-signed certificate for name and 127.0.0.1.
func writeCert(t *testing.T, certFile, keyFile, name string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// server is a redis-server of the test's own (never the shared one).
type server struct {
	t    *testing.T
	port int
	args []string
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func startRedis(t *testing.T) *server {
	t.Helper()
	port := freePort(t)
	return startRedisArgs(t, port, "--port", strconv.Itoa(port))
}

// startRedisArgs starts redis-server with args and waits for port.
func startRedisArgs(t *testing.T, port int, args ...string) *server {
	t.Helper()
	s := &server{t: t, port: port, args: append([]string{
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir(),
	}, args...)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	// Not the test's context: stop kills the server.
	s.cmd = exec.CommandContext(context.Background(), "redis-server", s.args...) //nolint:gosec // G204: the test's own arguments
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{Timeout: 100 * time.Millisecond}
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("redis-server on %s did not start: %v\n%s", addr, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
