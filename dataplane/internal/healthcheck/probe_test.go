package healthcheck_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/healthcheck"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// target returns the probe target of a test server's address.
func target(t *testing.T, addr string) healthcheck.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return healthcheck.Target{IP: host, Port: p, Hostname: host, State: healthcheck.NewState(true)}
}

func active(typ string) *healthcheck.Active {
	c := healthcheck.Default()
	c.Active.Type = typ
	c.Active.Timeout = 2 * time.Second
	return &c.Active
}

// seen records the requests a test server received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	sni  []string
}

func (s *seen) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		if r.TLS != nil {
			s.sni = append(s.sni, r.TLS.ServerName)
		}
		s.mu.Unlock()
		w.WriteHeader(status)
	}
}

func (s *seen) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the server got no request")
	}
	sni := ""
	if len(s.sni) > 0 {
		sni = s.sni[len(s.sni)-1]
	}
	return s.reqs[len(s.reqs)-1], sni
}

func TestProbeHTTP(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 500, 302} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			var s seen
			srv := httptest.NewServer(s.handler(status))
			defer srv.Close()
			a := active("http")
			a.HTTPPath = "/health?deep=1"
			a.Headers = []string{"X-Probe: a", "X-Probe: b"}
			tg := target(t, srv.Listener.Addr().String())
			tg.Hostname = "backend.test"
			r, err := healthcheck.Probe(t.Context(), a, tg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r != (healthcheck.Result{Status: status}) {
				t.Fatalf("result = %+v, want status %d", r, status)
			}
			req, _ := s.last(t)
			switch {
			case req.Method != http.MethodGet || req.URL.RequestURI() != "/health?deep=1":
				t.Errorf("request = %s %s", req.Method, req.URL.RequestURI())
			case req.Proto != "HTTP/1.0":
				t.Errorf("proto = %s, want HTTP/1.0", req.Proto)
			case req.Host != "backend.test":
				t.Errorf("Host = %q, want the target's host name", req.Host)
			case len(req.Header.Values("X-Probe")) != 2:
				t.Errorf("X-Probe = %q", req.Header.Values("X-Probe"))
			}
		})
	}
}

func TestProbeHostHeader(t *testing.T) {
	t.Parallel()
	var s seen
	srv := httptest.NewServer(s.handler(200))
	defer srv.Close()
	tg := target(t, srv.Listener.Addr().String())
	tg.HostHeader = "override.test"
	if _, err := healthcheck.Probe(t.Context(), active("http"), tg, nil); err != nil {
		t.Fatal(err)
	}
	if req, _ := s.last(t); req.Host != "override.test" {
		t.Fatalf("Host = %q, want the upstream's host_header", req.Host)
	}
}

func TestProbeFailures(t *testing.T) {
	t.Parallel()

	// A port nothing listens on.
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()

	// A server that accepts and never answers, and one that answers
	// garbage, and one that closes at once.
	silent := rawServer(t, func(net.Conn) { <-t.Context().Done() })
	garbage := rawServer(t, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH\r\n")) })
	hangup := rawServer(t, func(net.Conn) {})

	tests := []struct {
		name string
		addr string
		want healthcheck.Result
	}{
		{"connection refused", closed, healthcheck.Result{Failure: healthcheck.FailureTCP}},
		{"no answer", silent, healthcheck.Result{Failure: healthcheck.FailureTimeout}},
		{"not http", garbage, healthcheck.Result{Status: 0}},
		{"closed before the status line", hangup, healthcheck.Result{Failure: healthcheck.FailureTCP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := active("http")
			a.Timeout = 200 * time.Millisecond
			r, err := healthcheck.Probe(t.Context(), a, target(t, tt.addr), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Fatalf("result = %+v, want %+v", r, tt.want)
			}
		})
	}
}

// rawServer accepts connections and hands each to serve, then closes it.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = c.Close() }()
				stop := context.AfterFunc(t.Context(), func() { _ = c.Close() })
				defer stop()
				serve(c)
			})
		}
	})
	return ln.Addr().String()
}

func TestProbeCanceled(t *testing.T) {
	t.Parallel()
	silent := rawServer(t, func(net.Conn) { <-t.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := healthcheck.Probe(ctx, active("http"), target(t, silent), nil); err == nil {
		t.Fatal("a probe under a canceled context returned a result")
	}
}

// TestProbeHTTPS runs its cases in turn: they read the server's last
// request.
func TestProbeHTTPS(t *testing.T) {
	var s seen
	srv := httptest.NewTLSServer(s.handler(204))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	trusted := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}

	tests := []struct {
		name     string
		verify   bool
		sni      string
		hostname string
		base     *tls.Config
		want     healthcheck.Result
		wantSNI  string
	}{
		{"verified", true, "", "example.com", trusted, healthcheck.Result{Status: 204}, "example.com"},
		{"https_sni wins", true, "example.com", "other.test", trusted, healthcheck.Result{Status: 204}, "example.com"},
		{"unknown authority", true, "", "example.com", nil, healthcheck.Result{Failure: healthcheck.FailureTCP}, ""},
		{"wrong name", true, "", "wrong.test", trusted, healthcheck.Result{Failure: healthcheck.FailureTCP}, ""},
		{"verification off", false, "", "wrong.test", nil, healthcheck.Result{Status: 204}, "wrong.test"},
		{"ip target", true, "", "127.0.0.1", trusted, healthcheck.Result{Status: 204}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := active("https")
			a.HTTPSVerifyCertificate = tt.verify
			a.HTTPSSNI = tt.sni
			tg := target(t, srv.Listener.Addr().String())
			tg.Hostname = tt.hostname
			r, err := healthcheck.Probe(t.Context(), a, tg, tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.want {
				t.Fatalf("result = %+v, want %+v", r, tt.want)
			}
			if tt.want.Status != 0 {
				if _, sni := s.last(t); sni != tt.wantSNI {
					t.Errorf("server name = %q, want %q", sni, tt.wantSNI)
				}
			}
		})
	}
}
