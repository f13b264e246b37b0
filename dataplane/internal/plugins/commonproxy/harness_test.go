package commonproxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/plugins"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/proxy/proxytest"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
)

var (
	catOnce sync.Once
	cat     *entity.Catalog
)

func catalog() *entity.Catalog {
	catOnce.Do(func() { cat = fixture.Catalog() })
	return cat
}

// Fixed ids of the test configurations.
var (
	serviceID = fixture.ID("service", 1)
	routeID   = fixture.ID("route", 1)
)

func ref(id string) map[string]any { return map[string]any{"id": id} }

// config is a configuration: one service at an upstream URL, one route
// (paths /, named "r1"), and the plugins added.
type config struct {
	tb      testing.TB
	set     *configset.Set
	plugins int
}

func newConfig(tb testing.TB, upstream string) *config {
	tb.Helper()
	c := &config{tb: tb, set: configset.New()}
	c.put(entity.Services, map[string]any{"id": serviceID, "name": "svc", "url": upstream})
	c.put(entity.Routes, map[string]any{"id": routeID, "name": "r1", "paths": []any{"/"}, "service": ref(serviceID)})
	return c
}

func (c *config) put(typ string, in map[string]any) {
	c.tb.Helper()
	if err := c.set.Put(typ, fixture.Write(catalog(), typ, in)); err != nil {
		c.tb.Fatal(err)
	}
}

// plugin adds a plugin on the route.
func (c *config) plugin(name string, cfg map[string]any) {
	c.tb.Helper()
	c.plugins++
	c.put(entity.Plugins, map[string]any{
		"id": fixture.ID("plugin-"+name, c.plugins), "name": name, "config": cfg, "route": ref(routeID),
	})
}

// serve runs the real proxy, with every bundled plugin, on c and returns
// its address; reg receives the plugins' metrics (nil: a new registry).
// The proxy does not trace.
func serve(t *testing.T, c *config, reg prometheus.Registerer) string {
	t.Helper()
	return serveTraced(t, c, reg, noop.NewTracerProvider())
}

// serveTraced is serve with the proxy's spans made by tp.
func serveTraced(t *testing.T, c *config, reg prometheus.Registerer, tp trace.TracerProvider) string {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	mgr := proxytest.Balancers(t)
	b := gateway.NewBuilder(catalog(), proxy.RouterExtension(nil), proxy.TLSExtension(nil), proxy.BalancerExtension(mgr),
		chain.NewExtension(chain.Options{Factories: plugins.Bundled(), Registerer: reg, Logger: slog.New(slog.DiscardHandler)}))
	rt, err := b.Build(context.Background(), c.set, c.set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return proxytest.Serve(t, gateway.NewHolder(rt), tp)
}

// seen is what the upstream received.
type seen struct {
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

// echo is an upstream answering with what it received as JSON, plus the
// response headers the test asks for with X-Respond-<Name> headers.
func echo(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for name, vs := range r.Header {
			if n, ok := bytes.CutPrefix([]byte(name), []byte("X-Respond-")); ok {
				for _, v := range vs {
					w.Header().Add(string(n), v)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{Method: r.Method, URI: r.RequestURI, Headers: r.Header, Body: string(body)})
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// result is a response from the proxy.
type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// upstream decodes what the echo upstream received.
func (r result) upstream(t *testing.T) seen {
	t.Helper()
	var s seen
	r.json(t, &s)
	return s
}

func send(t *testing.T, addr, method, path string, body []byte, headers ...string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: data}
}
