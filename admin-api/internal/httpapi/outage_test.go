package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/store/storetest"
)

// tcpProxy forwards connections to a target until cut: then it closes
// every connection it holds and drops new ones at once, as a network
// failure or a stopped server would, until restored. It lets a test take
// Postgres away from the service without touching the shared server.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	up    bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		if up {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if !up {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: time.Second}
	up, err := d.DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if !p.up {
		p.mu.Unlock()
		_ = up.Close()
		p.drop(c)
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	p.drop(c)
	p.drop(up)
	<-done
}

func (p *tcpProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// cut closes every connection and refuses new ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	p.up = false
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// restore lets connections through again.
func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.up = true
	p.mu.Unlock()
}

// TestDatabaseOutage takes Postgres away: requests that need it answer
// 503 quickly with a clear message, the others keep working, and the
// service recovers by itself when Postgres is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NewMigrated(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr()
	s := newServerWith(t, serverOptions{pgURL: u.String()})
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)

	proxy.cut()
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/services", nil},
		{http.MethodGet, "/services/svc", nil},
		{http.MethodPost, "/services", map[string]any{"name": "b", "host": "b.example"}},
		{http.MethodPatch, "/services/svc", map[string]any{"retries": 1}},
		{http.MethodDelete, "/services/svc", nil},
		{http.MethodGet, "/", nil},
		{http.MethodGet, "/config", nil},
		{http.MethodGet, "/clustering/data-planes", nil},
	} {
		start := time.Now()
		r := s.request(req.method, req.path, req.body, "")
		took := time.Since(start)
		if r.status != http.StatusServiceUnavailable || r.str("message") != "The database is unavailable; try again later" {
			t.Errorf("%s %s during the outage: %d %s", req.method, req.path, r.status, r.raw)
		}
		if took > 2*time.Second {
			t.Errorf("%s %s took %v to fail", req.method, req.path, took)
		}
	}
	// What needs no database still answers.
	if r := must(t, s.get("/status"), http.StatusOK); r.obj()["database"].(map[string]any)["reachable"] != false {
		t.Errorf("/status during the outage: %s", r.raw)
	}
	must(t, s.get("/schemas/services"), http.StatusOK)
	must(t, s.get("/endpoints"), http.StatusOK)
	if _, err := s.svc.Latest(context.Background()); !errors.Is(err, errUnavailable()) {
		t.Errorf("Latest during the outage: %v", err)
	}

	proxy.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.get("/services/svc")
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d %s", r.status, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	must(t, s.post("/services", map[string]any{"name": "after", "host": "b.example"}), http.StatusCreated)
	if r := must(t, s.get("/status"), http.StatusOK); r.obj()["database"].(map[string]any)["reachable"] != true {
		t.Errorf("/status after the outage: %s", r.raw)
	}
}
