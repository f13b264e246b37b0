package ratelimiting_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/plugins"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/proxy/proxytest"
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

func ref(id string) map[string]any { return map[string]any{"id": id} }

// dataPlane is the real proxy with every bundled plugin, serving a
// configuration the test builds, on a clock the test sets.
type dataPlane struct {
	t       *testing.T
	addr    string
	builder *gateway.Builder
	holder  *gateway.Holder
	set     *configset.Set
	now     atomic.Pointer[time.Time]
	// ids of the configuration
	route, service string
}

// startDataPlane serves one service (upstream) on one route (paths /)
// with key-auth, two consumers (keys "alice-key" and "bob-key") and the
// rate-limiting config conf on the route.
func startDataPlane(t *testing.T, upstream string, conf map[string]any) *dataPlane {
	t.Helper()
	dp := &dataPlane{t: t, route: schema.NewUUID(), service: schema.NewUUID(), set: configset.New()}
	start := time.Unix(1700000000, 0).UTC()
	dp.now.Store(&start)
	t.Cleanup(func() { deleteKeys(t, "ratelimit:"+dp.route+":*") })
	dp.put(entity.Services, map[string]any{"id": dp.service, "name": "svc", "url": upstream})
	dp.put(entity.Routes, map[string]any{"id": dp.route, "name": "r1", "paths": []any{"/"}, "service": ref(dp.service)})
	for _, name := range []string{"alice", "bob"} {
		id := consumerID(name)
		dp.put(entity.Consumers, map[string]any{"id": id, "username": name})
		dp.put(entity.KeyAuthCredentials, map[string]any{"key": name + "-key", "consumer": ref(id)})
	}
	dp.put(entity.Plugins, map[string]any{"name": "key-auth", "route": ref(dp.route)})
	dp.put(entity.Plugins, map[string]any{"id": pluginID, "name": "rate-limiting", "config": conf, "route": ref(dp.route)})

	mgr := proxytest.Balancers(t)
	dp.builder = gateway.NewBuilder(catalog(), proxy.RouterExtension(nil), proxy.TLSExtension(nil), proxy.BalancerExtension(mgr),
		chain.NewExtension(chain.Options{
			Factories: plugins.Bundled(), Logger: slog.New(slog.DiscardHandler),
			Now: func() time.Time { return *dp.now.Load() },
		}))
	rt, err := dp.builder.Build(context.Background(), dp.set, dp.set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	dp.holder = gateway.NewHolder(rt)
	// The Redis client closes once the runtime's instances are garbage
	// (TestMain collects before checking for leaks).
	dp.addr = proxytest.Serve(t, dp.holder, nil)
	return dp
}

var pluginID = schema.NewUUID()

// consumerID is the id of a test consumer, fresh for each test binary.
var consumerIDs sync.Map

func consumerID(name string) string {
	id, _ := consumerIDs.LoadOrStore(name, schema.NewUUID())
	return id.(string)
}

func (dp *dataPlane) put(typ string, in map[string]any) {
	dp.t.Helper()
	if in["id"] == nil {
		in["id"] = schema.NewUUID()
	}
	if err := dp.set.Put(typ, fixture.Write(catalog(), typ, in)); err != nil {
		dp.t.Fatal(err)
	}
}

// reconfigure applies a change to the rate-limiting plugin's config as a
// delta, as the sync client does.
func (dp *dataPlane) reconfigure(conf map[string]any) {
	dp.t.Helper()
	p := fixture.Write(catalog(), entity.Plugins, map[string]any{"id": pluginID, "name": "rate-limiting", "config": conf, "route": ref(dp.route)})
	next := dp.set.Clone()
	changes := []protocol.Change{{Op: protocol.OpUpsert, Type: entity.Plugins, ID: pluginID, Entity: p}}
	if err := next.Apply(changes); err != nil {
		dp.t.Fatal(err)
	}
	rt, err := dp.builder.Update(context.Background(), dp.holder.Load(), next, next.Hash(), changes)
	if err != nil {
		dp.t.Fatal(err)
	}
	dp.holder.Swap(rt)
	dp.set = next
}

func (dp *dataPlane) setNow(t time.Time) { dp.now.Store(&t) }

// response is what a client got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (dp *dataPlane) get(key string) response {
	dp.t.Helper()
	req, err := http.NewRequestWithContext(dp.t.Context(), http.MethodGet, "http://"+dp.addr+"/orders", nil)
	if err != nil {
		dp.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		dp.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		dp.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// upstream is a service that answers 200 with a header of its own.
func upstream(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func redisSettings() map[string]any {
	addr := os.Getenv("GATEHOUSE_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return map[string]any{"host": host, "port": n, "timeout": 1000}
}

func deleteKeys(tb testing.TB, pattern string) {
	tb.Helper()
	rs := redisSettings()
	c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(rs["host"].(string), strconv.Itoa(rs["port"].(int))), Protocol: 2, DisableIdentity: true})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

func TestThroughTheProxy(t *testing.T) {
	t.Parallel()
	for _, pol := range []struct {
		name string
		conf map[string]any
	}{
		{"local", map[string]any{}},
		{"redis", map[string]any{"policy": "redis", "redis": redisSettings()}},
		{"redis sync", map[string]any{"policy": "redis", "redis": redisSettings(), "sync_rate": 0.05}},
	} {
		t.Run(pol.name, func(t *testing.T) {
			t.Parallel()
			conf := maps.Clone(pol.conf)
			conf["minute"] = 3
			conf["hour"] = 100
			dp := startDataPlane(t, upstream(t), conf)
			for i := range 3 {
				r := dp.get("alice-key")
				want := map[string]string{
					"X-Upstream": "yes", "X-RateLimit-Limit-Minute": "3", "X-RateLimit-Remaining-Minute": strconv.Itoa(2 - i),
					"X-RateLimit-Limit-Hour": "100", "X-RateLimit-Remaining-Hour": strconv.Itoa(99 - i),
					"RateLimit-Limit": "3", "RateLimit-Remaining": strconv.Itoa(2 - i), "RateLimit-Reset": "40",
				}
				for k, v := range want {
					if got := r.header.Get(k); got != v {
						t.Errorf("request %d: %s = %q, want %q", i+1, k, got, v)
					}
				}
				if r.status != 200 || string(r.body) != "ok" {
					t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
				}
			}
			r := dp.get("alice-key")
			var body map[string]string
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("429 body %q: %v", r.body, err)
			}
			if r.status != 429 || body["message"] != "API rate limit exceeded" || len(body["request_id"]) != 32 ||
				r.header.Get("Retry-After") != "40" || r.header.Get("X-Upstream") != "" ||
				r.header.Get("X-RateLimit-Remaining-Hour") != "97" {
				t.Fatalf("4th request: %d %v %s", r.status, r.header, r.body)
			}
			if id := r.header.Get("X-Kong-Request-Id"); id != "" && id != body["request_id"] {
				t.Errorf("request_id %s, X-Kong-Request-Id %s", body["request_id"], id)
			}
			// Another consumer has its own counters (limit_by consumer).
			if r := dp.get("bob-key"); r.status != 200 || r.header.Get("X-RateLimit-Remaining-Minute") != "2" {
				t.Fatalf("bob: %d %v", r.status, r.header)
			}
			// A configuration change swaps the runtime: counters survive.
			conf["hour"] = 200
			dp.reconfigure(conf)
			if r := dp.get("alice-key"); r.status != 429 || r.header.Get("X-RateLimit-Limit-Hour") != "200" {
				t.Fatalf("after the swap: %d %v", r.status, r.header)
			}
			// The next minute starts afresh.
			dp.setNow(time.Unix(1700000000+40, 0))
			if r := dp.get("alice-key"); r.status != 200 || r.header.Get("X-RateLimit-Remaining-Minute") != "2" ||
				r.header.Get("RateLimit-Reset") != "60" {
				t.Fatalf("next minute: %d %v", r.status, r.header)
			}
		})
	}
}

func TestThroughTheProxyWhenRedisFails(t *testing.T) {
	t.Parallel()
	// Nothing listens on the port: Redis is down from the start.
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tolerant := range []bool{true, false} {
		t.Run("fault_tolerant="+strconv.FormatBool(tolerant), func(t *testing.T) {
			t.Parallel()
			dp := startDataPlane(t, upstream(t), map[string]any{
				"minute": 3, "policy": "redis", "fault_tolerant": tolerant,
				"redis": map[string]any{"host": "127.0.0.1", "port": port, "timeout": 200},
			})
			for range 5 {
				r := dp.get("alice-key")
				if tolerant {
					if r.status != 200 || r.header.Get("X-RateLimit-Limit-Minute") != "" {
						t.Fatalf("%d %v, want 200 without rate-limiting headers", r.status, r.header)
					}
					continue
				}
				var body map[string]any
				_ = json.Unmarshal(r.body, &body)
				if r.status != 500 || body["message"] != "An unexpected error occurred" {
					t.Fatalf("%d %s, want Kong's 500", r.status, r.body)
				}
			}
		})
	}
}
