package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/proxy/realip"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
)

var (
	catOnce sync.Once
	cat     *entity.Catalog
)

func catalog() *entity.Catalog {
	catOnce.Do(func() { cat = fixture.Catalog() })
	return cat
}

// syncBuffer is a buffer safe for concurrent writes and reads.
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

// harness is a proxy serving a runtime the test builds: the router, TLS
// and balancer extensions, no plugin chain.
type harness struct {
	t       testing.TB
	builder *gateway.Builder
	holder  *gateway.Holder
	mgr     *balancer.Manager
	dns     *dnstest.Server
	srv     *proxy.Server
	plain   string // host:port of the cleartext listener
	secure  string // host:port of the TLS listener
	access  *syncBuffer
	ents    protocol.Entities
	exts    []gateway.Extension
	cancel  context.CancelFunc
	done    chan error
}

type option func(*proxy.Options)

// proxyOptions is proxy.Options, for options in tests.
type proxyOptions = proxy.Options

func start(t *testing.T, opts ...option) *harness {
	t.Helper()
	return startTB(t, nil, opts...)
}

// startWithChain is start with the plugin chain of factories.
func startWithChain(t *testing.T, factories ...pdk.Factory) *harness {
	t.Helper()
	return startTB(t, chain.NewExtension(chain.Options{Factories: factories}))
}

// startBench is start for benchmarks; the access log is off unless asked.
func startBench(b *testing.B, access bool) *harness {
	b.Helper()
	if access {
		return startTB(b, nil)
	}
	return startTB(b, nil, func(o *proxy.Options) { o.AccessLog = nil })
}

func startTB(tb testing.TB, chainExt gateway.Extension, opts ...option) *harness {
	tb.Helper()
	t := tb
	ctx, cancel := context.WithCancel(context.Background())
	dnsSrv := dnstest.NewServer(t)
	mgr, err := balancer.New(ctx, balancer.Options{
		Resolver: &dns.Client{Servers: []string{dnsSrv.Addr}, Timeout: time.Second, Attempts: 1},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mgr: mgr, dns: dnsSrv, access: &syncBuffer{}, ents: protocol.Entities{}}
	h.exts = []gateway.Extension{proxy.RouterExtension(nil), proxy.TLSExtension(nil)}
	if chainExt != nil {
		h.exts = append(h.exts, chainExt)
	}
	h.exts = append(h.exts, proxy.BalancerExtension(mgr))
	h.builder = gateway.NewBuilder(catalog(), h.exts...)
	rt, err := h.builder.Empty(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.holder = gateway.NewHolder(rt)
	o := proxy.Options{
		Holder: h.holder, AccessLog: h.access, TracerProvider: noop.NewTracerProvider(),
		ShutdownTimeout: 2 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	h.srv, err = proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := listen(tb)
	if err != nil {
		t.Fatal(err)
	}
	secure, err := listen(tb)
	if err != nil {
		t.Fatal(err)
	}
	h.plain, h.secure = plain.Addr().String(), secure.Addr().String()
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.srv.Serve(ctx, plain, secure) }()
	t.Cleanup(func() {
		h.stop()
		mgr.Close()
	})
	return h
}

// stop shuts the proxy down and waits for Serve to return (once).
func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok && err != nil {
			h.t.Errorf("Serve: %v", err)
		}
		if ok {
			close(h.done)
		}
	case <-time.After(10 * time.Second):
		h.t.Error("Serve did not return")
	}
}

func withTrusted(trusted []string, header string, recursive bool) option {
	return func(o *proxy.Options) {
		r, err := realip.New(trusted, header, recursive)
		if err != nil {
			panic(err)
		}
		o.RealIP = r
	}
}

// add adds an entity (given its input; an id is made when missing) and
// returns its id. apply makes the added entities the runtime.
func (h *harness) add(typ string, in map[string]any) string {
	h.t.Helper()
	if _, ok := in["id"]; !ok {
		in["id"] = schema.NewUUID()
	}
	e, err := catalog().Type(typ).Write(in, schema.Insert, time.Now())
	if err != nil {
		h.t.Fatalf("%s: %v", typ, err)
	}
	h.ents[typ] = append(h.ents[typ], fixture.Wire(e))
	return in["id"].(string)
}

func (h *harness) apply() {
	h.t.Helper()
	set, err := configset.FromEntities(1, h.ents)
	if err != nil {
		h.t.Fatal(err)
	}
	rt, err := h.builder.Build(context.Background(), set, set.Hash())
	if err != nil {
		h.t.Fatal(err)
	}
	h.holder.Swap(rt)
}

// service adds a service to url (http://host:port/path) and a route with
// the route fields given; it returns the service id.
func (h *harness) service(url string, svc map[string]any, route map[string]any) string {
	h.t.Helper()
	if svc == nil {
		svc = map[string]any{}
	}
	svc["url"] = url
	id := h.add(entity.Services, svc)
	if route != nil {
		route["service"] = map[string]any{"id": id}
		h.add(entity.Routes, route)
	}
	return id
}

// url is a URL of the cleartext listener.
func (h *harness) url(path string) string { return "http://" + h.plain + path }

// client is an HTTP client that does not follow redirects.
func client() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableCompression: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the proxy's test certificates
	}
}

// result is a response whose body was read.
type result struct {
	StatusCode int
	Header     http.Header
	Proto      string
	ProtoMajor int
}

// do sends a request and returns the response with its body read.
func do(tb testing.TB, c *http.Client, req *http.Request) (result, string) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		tb.Fatalf("read %s: %v", req.URL, err)
	}
	return result{StatusCode: resp.StatusCode, Header: resp.Header, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor}, string(body)
}

func get(tb testing.TB, url string, headers ...string) (result, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	return do(tb, client(), req)
}

// echo is what the echo upstream saw.
type echo struct {
	Method string              `json:"method"`
	URI    string              `json:"uri"`
	Host   string              `json:"host"`
	Header map[string][]string `json:"header"`
	Body   int                 `json:"body"`
	Name   string              `json:"name"`
	TLS    bool                `json:"tls"`
	Proto  string              `json:"proto"`
}

// echoHandler answers with what it saw, as JSON; name tells upstreams
// apart.
func echoHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Only", "yes") // a header for filters to remove
		_ = json.NewEncoder(w).Encode(echo{
			Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header, Body: int(n),
			Name: name, TLS: r.TLS != nil, Proto: r.Proto,
		})
	}
}

func echoServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(echoHandler(name))
	t.Cleanup(s.Close)
	return s
}

func decodeEcho(tb testing.TB, body string) echo {
	tb.Helper()
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		tb.Fatalf("echo body %q: %v", body, err)
	}
	return e
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoServerFunc runs handler as an upstream and returns its URL.
func echoServerFunc(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(handler)
	t.Cleanup(s.Close)
	return s.URL
}

// listen listens on a free loopback port.
func listen(tb testing.TB) (net.Listener, error) {
	tb.Helper()
	var lc net.ListenConfig
	return lc.Listen(tb.Context(), "tcp", "127.0.0.1:0")
}

// deadPort returns the address of a loopback port nothing listens on.
func deadPort(tb testing.TB) string {
	tb.Helper()
	ln, err := listen(tb)
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func strconvItoa(n int) string { return strconv.Itoa(n) }
