package ratelimiting

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/shared/schema"
)

// policies are the ways of counting every behaviour test runs under.
var policies = []struct {
	name   string
	config func(map[string]any) map[string]any
	// countsRejected: Kong's realtime Redis mode counts rejected requests.
	countsRejected bool
}{
	{"local", func(c map[string]any) map[string]any { return c }, false},
	{"redis", redisConfig, true},
	{"redis sync", func(c map[string]any) map[string]any {
		c = redisConfig(c)
		c["sync_rate"] = 3600 // never flushes during the test: counts stay local
		return c
	}, false},
}

func TestEveryPeriodLimitsAndRollsOver(t *testing.T) {
	t.Parallel()
	for _, pol := range policies {
		for p := range numPeriods {
			t.Run(pol.name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				env := pdktest.NewEnv()
				// Start 2 s into a window of p (for second: at a whole
				// second), so moving by the window's length rolls over.
				start := time.Unix(p.start(t0.Unix())+min(2, p.seconds()-1), 0)
				env.SetNow(start)
				in := newInstance(t, env, newScope(t), pol.config(map[string]any{p.String(): 3, "limit_by": "ip"}))
				for i := range 3 {
					r := do(in, get("10.0.0.1"))
					if r.status != 200 || r.headers.Get(remainingHeaders[p]) != strconv.Itoa(2-i) || r.headers.Get(limitHeaders[p]) != "3" {
						t.Fatalf("request %d: %d %v", i+1, r.status, r.headers)
					}
				}
				if r := do(in, get("10.0.0.1")); r.status != 429 {
					t.Fatalf("4th request: %d, want 429", r.status)
				}
				// Another identifier has its own counter.
				if r := do(in, get("10.0.0.2")); r.status != 200 {
					t.Fatalf("another client: %d", r.status)
				}
				// The next window starts afresh (Kong's window lengths: a
				// month from the 1st is the 1st of the next month only
				// for 30-day months, so move to the next calendar window).
				next := nextWindow(p, start.Unix())
				env.SetNow(time.Unix(next, 0))
				r := do(in, get("10.0.0.1"))
				if r.status != 200 || r.headers.Get(remainingHeaders[p]) != "2" {
					t.Fatalf("next window: %d %v", r.status, r.headers)
				}
			})
		}
	}
}

// nextWindow is the start of the window after the one holding now.
func nextWindow(p period, now int64) int64 {
	s := p.start(now)
	n := s + p.seconds()
	for p.start(n) == s {
		n += 86400
	}
	return p.start(n)
}

func TestLimitBy(t *testing.T) {
	t.Parallel()
	alice := &pdk.Consumer{ID: schema.NewUUID()}
	cred := &pdk.Credential{ID: schema.NewUUID(), ConsumerID: alice.ID}
	service := schema.NewUUID()
	tests := []struct {
		name string
		conf map[string]any
		req  func() *pdktest.Context
		want string
	}{
		{"consumer", map[string]any{"limit_by": "consumer"}, func() *pdktest.Context { return get("10.1.0.1").WithConsumer(alice, cred) }, alice.ID},
		{"consumer falls back to the credential", map[string]any{"limit_by": "consumer"}, func() *pdktest.Context { return get("10.1.0.1").WithConsumer(nil, cred) }, cred.ID},
		{"consumer falls back to the IP", map[string]any{}, func() *pdktest.Context { return get("10.1.0.1") }, "10.1.0.1"},
		{"credential", map[string]any{"limit_by": "credential"}, func() *pdktest.Context { return get("10.1.0.1").WithConsumer(alice, cred) }, cred.ID},
		{"anonymous consumer: credential falls back to the IP", map[string]any{"limit_by": "credential"}, func() *pdktest.Context { return get("10.1.0.1").WithConsumer(alice, nil) }, "10.1.0.1"},
		{"ip", map[string]any{"limit_by": "ip"}, func() *pdktest.Context { return get("10.1.0.1").WithConsumer(alice, cred) }, "10.1.0.1"},
		{"ip is the real client address", map[string]any{"limit_by": "ip"}, func() *pdktest.Context { return get("10.1.0.1").WithRemoteIP("10.9.9.9") }, "10.1.0.1"},
		{"ipv6", map[string]any{"limit_by": "ip"}, func() *pdktest.Context { return get("2001:db8::1") }, "2001:db8::1"},
		{"service", map[string]any{"limit_by": "service"}, func() *pdktest.Context { return get("10.1.0.1").WithService(service, "s") }, service},
		{"service falls back to the IP", map[string]any{"limit_by": "service"}, func() *pdktest.Context { return get("10.1.0.1") }, "10.1.0.1"},
		{"header", map[string]any{"limit_by": "header", "header_name": "X-Api-Tenant"}, func() *pdktest.Context { return get("10.1.0.1").WithHeader("x-api-tenant", "acme") }, "acme"},
		{"header: the first value", map[string]any{"limit_by": "header", "header_name": "X-Api-Tenant"}, func() *pdktest.Context {
			return get("10.1.0.1").WithHeader("X-Api-Tenant", "a").WithHeader("X-Api-Tenant", "b")
		}, "a"},
		{"header sent empty", map[string]any{"limit_by": "header", "header_name": "X-Api-Tenant"}, func() *pdktest.Context { return get("10.1.0.1").WithHeader("X-Api-Tenant", "") }, ""},
		{"header falls back to the IP", map[string]any{"limit_by": "header", "header_name": "X-Api-Tenant"}, func() *pdktest.Context { return get("10.1.0.1") }, "10.1.0.1"},
		{"path", map[string]any{"limit_by": "path", "path": "/v1/orders"}, func() *pdktest.Context {
			return pdktest.NewContext("GET", "/v1/orders?x=1").WithClientIP("10.1.0.1")
		}, "/v1/orders"},
		{"path only when equal", map[string]any{"limit_by": "path", "path": "/v1/orders"}, func() *pdktest.Context {
			return pdktest.NewContext("GET", "/v1/orders/7").WithClientIP("10.1.0.1")
		}, "10.1.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.conf["minute"] = 5
			env := pdktest.NewEnv()
			s := newScope(t)
			// Kong's key in Redis names the identifier.
			in := newInstance(t, env, s, redisConfig(maps.Clone(tt.conf)))
			if got := in.identifier(tt.req()); got != tt.want {
				t.Fatalf("identifier = %q, want %q", got, tt.want)
			}
			if r := do(in, tt.req()); r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			key := minuteKey(s, tt.want, t0.Unix())
			rdb := sharedRedis(t)
			if n, err := rdb.Get(context.Background(), key).Int(); err != nil || n != 1 {
				t.Errorf("redis %s = %d, %v; want 1", key, n, err)
			}
			// The local policy counts under the same identifier.
			local := newInstance(t, env, s, tt.conf)
			do(local, tt.req())
			sh := local.local.shard(bucketKey{local.scope, tt.want})
			sh.mu.Lock()
			_, ok := sh.buckets[bucketKey{local.scope, tt.want}]
			sh.mu.Unlock()
			if !ok {
				t.Errorf("no local counter for %q", tt.want)
			}
		})
	}
}

func TestCounterKeysAreKongs(t *testing.T) {
	t.Parallel()
	rdb := sharedRedis(t)
	route, service := schema.NewUUID(), schema.NewUUID()
	ip := "10.2." + strconv.Itoa(int(time.Now().UnixNano()%250)) + ".1"
	tests := []struct {
		name   string
		s      scope
		prefix string
	}{
		{"route and service", scope{route, service}, "ratelimit:" + route + ":" + service + ":"},
		{"route", scope{route: route}, "ratelimit:" + route + ":" + emptyUUID + ":"},
		{"service", scope{service: service}, "ratelimit:" + emptyUUID + ":" + service + ":"},
		{"global", scope{}, "ratelimit:" + emptyUUID + ":" + emptyUUID + ":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := schema.NewUUID() // a consumer of this test alone
			t.Cleanup(func() { deleteKeys(t, tt.prefix+id+":*") })
			env := pdktest.NewEnv()
			in := newInstance(t, env, tt.s, redisConfig(map[string]any{"second": 1, "minute": 2, "hour": 3, "day": 4, "month": 5, "year": 6}))
			do(in, get(ip).WithConsumer(consumer(id), nil))
			now := t0.Unix()
			ctx := context.Background()
			for p := range numPeriods {
				key := tt.prefix + id + ":" + strconv.FormatInt(p.start(now)*1000, 10) + ":" + p.String()
				if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 1 {
					t.Errorf("%s = %d, %v; want 1", key, n, err)
				}
				// The expiry is Kong's window length (the key's TTL when
				// the window starts, less the seconds since).
				ttl := rdb.TTL(ctx, key).Val()
				if ttl <= 0 || ttl > time.Duration(p.seconds())*time.Second {
					t.Errorf("%s ttl %v, want up to %d s", key, ttl, p.seconds())
				}
			}
		})
	}
}

func TestRedisCountsRejectedRequestsLocalDoesNot(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	env := pdktest.NewEnv()
	ip := "10.3.0.1"
	rdb := sharedRedis(t)
	in := newInstance(t, env, s, redisConfig(map[string]any{"minute": 2, "limit_by": "ip"}))
	for range 5 {
		do(in, get(ip))
	}
	if n, _ := rdb.Get(context.Background(), minuteKey(s, ip, t0.Unix())).Int(); n != 5 {
		t.Errorf("redis counter = %d, want 5 (Kong counts every request in realtime mode)", n)
	}
	local := newInstance(t, env, newScope(t), map[string]any{"minute": 2, "limit_by": "ip"})
	for range 5 {
		do(local, get(ip))
	}
	k := bucketKey{local.scope, ip}
	sh := local.local.shard(k)
	sh.mu.Lock()
	n := sh.buckets[k].slots[minute].count
	sh.mu.Unlock()
	if n != 2 {
		t.Errorf("local counter = %d, want 2 (rejected requests are not counted)", n)
	}
}

func TestBlockedResponse(t *testing.T) {
	t.Parallel()
	for _, pol := range policies {
		t.Run(pol.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name    string
				conf    map[string]any
				status  int
				message string
			}{
				{"default", map[string]any{}, 429, "API rate limit exceeded"},
				{"custom", map[string]any{"error_code": 503, "error_message": "Slow down, please"}, 503, "Slow down, please"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.conf["minute"] = 1
					tt.conf["hour"] = 10
					env := pdktest.NewEnv()
					in := newInstance(t, env, newScope(t), pol.config(tt.conf))
					do(in, get("10.4.0.1"))
					ctx := get("10.4.0.1").WithRequestID("0123456789abcdef0123456789abcdef")
					r := do(in, ctx)
					e := ctx.ExitCall()
					if r.err != nil || e == nil || !e.IsError || e.Status != tt.status {
						t.Fatalf("got %d %v %+v", r.status, r.err, e)
					}
					body, err := e.JSON()
					if err != nil {
						t.Fatal(err)
					}
					want := map[string]any{"message": tt.message, "request_id": "0123456789abcdef0123456789abcdef"}
					if !maps.Equal(body, want) {
						t.Errorf("body = %v, want %v", body, want)
					}
					wantHeaders := map[string]string{
						"X-RateLimit-Limit-Minute": "1", "X-RateLimit-Remaining-Minute": "0",
						"X-RateLimit-Limit-Hour": "10", "X-RateLimit-Remaining-Hour": "9",
						"RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
						"Retry-After": "40",
					}
					if got := rateHeaders(r); !maps.Equal(got, canon(wantHeaders)) {
						t.Errorf("headers\n got %v\nwant %v", got, wantHeaders)
					}
					// Kong's HeaderFilter adds nothing to its own error.
					before := ctx.ClientResponse().Headers()
					in.HeaderFilter(ctx)
					if after := ctx.ClientResponse().Headers(); len(after) != len(before) {
						t.Errorf("header filter changed the error's headers: %v", after)
					}
				})
			}
		})
	}
}

func TestHideClientHeaders(t *testing.T) {
	t.Parallel()
	for _, pol := range policies {
		t.Run(pol.name, func(t *testing.T) {
			t.Parallel()
			env := pdktest.NewEnv()
			in := newInstance(t, env, newScope(t), pol.config(map[string]any{"minute": 1, "hide_client_headers": true}))
			ok := do(in, get("10.5.0.1"))
			blocked := do(in, get("10.5.0.1"))
			if ok.status != 200 || blocked.status != 429 {
				t.Fatalf("statuses %d, %d", ok.status, blocked.status)
			}
			for _, r := range []result{ok, blocked} {
				if h := rateHeaders(r); len(h) != 0 {
					t.Errorf("status %d: headers %v, want none (not even Retry-After)", r.status, h)
				}
			}
		})
	}
}

func TestHeadersOverrideTheUpstreams(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	in := newInstance(t, env, newScope(t), map[string]any{"minute": 5})
	ctx := get("10.6.0.1")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	ctx.WithResponse(200, map[string][]string{"X-Ratelimit-Remaining-Minute": {"999"}}, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().HeaderValues("X-RateLimit-Remaining-Minute"); len(got) != 1 || got[0] != "4" {
		t.Errorf("X-RateLimit-Remaining-Minute = %v, want [4]", got)
	}
}

func TestRemainingCountsDownAcrossPeriods(t *testing.T) {
	t.Parallel()
	for _, pol := range policies {
		t.Run(pol.name, func(t *testing.T) {
			t.Parallel()
			env := pdktest.NewEnv()
			env.SetNow(time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC))
			in := newInstance(t, env, newScope(t), pol.config(map[string]any{"second": 2, "minute": 3, "hour": 10}))
			want := []map[string]string{
				{"S": "1", "M": "2", "H": "9", "RL": "2", "RR": "1", "Reset": "1"},
				{"S": "0", "M": "1", "H": "8", "RL": "2", "RR": "0", "Reset": "1"},
			}
			for i, w := range want {
				r := do(in, get("10.7.0.1"))
				got := map[string]string{
					"S": r.headers.Get("X-RateLimit-Remaining-Second"), "M": r.headers.Get("X-RateLimit-Remaining-Minute"),
					"H": r.headers.Get("X-RateLimit-Remaining-Hour"), "RL": r.headers.Get("RateLimit-Limit"),
					"RR": r.headers.Get("RateLimit-Remaining"), "Reset": r.headers.Get("RateLimit-Reset"),
				}
				if r.status != 200 || !maps.Equal(got, w) {
					t.Fatalf("request %d: %d %v, want %v", i+1, r.status, got, w)
				}
			}
			// The second's limit is used up: blocked by it, with the
			// other periods' remaining shown without this request.
			r := do(in, get("10.7.0.1"))
			if r.status != 429 || r.headers.Get("X-RateLimit-Remaining-Minute") != "1" || r.headers.Get("X-RateLimit-Remaining-Second") != "0" ||
				r.headers.Get("Retry-After") != "1" || r.headers.Get("RateLimit-Limit") != "2" {
				t.Fatalf("blocked: %d %v", r.status, r.headers)
			}
			// A second later the minute has one left, unless the
			// rejected request was counted (Kong's realtime Redis mode).
			env.SetNow(time.Date(2023, 11, 14, 22, 13, 21, 0, time.UTC))
			r = do(in, get("10.7.0.1"))
			if pol.countsRejected {
				if r.status != 429 || r.headers.Get("X-RateLimit-Remaining-Minute") != "0" || r.headers.Get("Retry-After") != "39" {
					t.Fatalf("next second: %d %v, want 429", r.status, r.headers)
				}
				return
			}
			if r.status != 200 || r.headers.Get("X-RateLimit-Remaining-Minute") != "0" || r.headers.Get("RateLimit-Reset") != "39" {
				t.Fatalf("next second: %d %v", r.status, r.headers)
			}
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		conf map[string]any
		want string
	}{
		{"cluster policy", map[string]any{"minute": 1, "policy": "cluster"}, "not available on a data plane"},
		{"no limit", map[string]any{"policy": "local"}, "no limit configured"},
		{"redis without host", map[string]any{"minute": 1, "policy": "redis", "redis": map[string]any{}}, "redis.host is required"},
		{"sync_rate with local", map[string]any{"minute": 1, "sync_rate": 1.0}, "sync_rate can only be used with the redis policy"},
		{"sync_rate too small", map[string]any{"minute": 1, "policy": "redis", "redis": map[string]any{"host": "h"}, "sync_rate": 0.01}, "sync_rate must be greater than 0.02"},
		{"header without a name", map[string]any{"minute": 1, "limit_by": "header"}, "header_name is required"},
		{"path without a path", map[string]any{"minute": 1, "limit_by": "path"}, "path is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Factory{}.New(pdk.Config{ID: "p1", Config: tt.conf, Env: pdktest.NewEnv()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLocalCountersSurviveNewInstancesAndExpire(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	s := newScope(t)
	conf := map[string]any{"minute": 2, "limit_by": "ip"}
	first := newInstance(t, env, s, conf)
	do(first, get("10.8.0.1"))
	// A configuration swap makes a new instance of the same plugin: the
	// counters are the data plane's, not the instance's.
	second := newInstance(t, env, s, conf)
	if first.local != second.local {
		t.Fatal("instances do not share the data plane's local counters")
	}
	if r := do(second, get("10.8.0.1")); r.headers.Get("X-RateLimit-Remaining-Minute") != "0" {
		t.Fatalf("after the swap: %v", r.headers)
	}
	if second.local.len() == 0 {
		t.Fatal("no bucket")
	}
	// Once the counters expire, a sweep drops their buckets.
	env.SetNow(t0.Add(10 * time.Minute))
	do(second, get("10.8.0.2"))
	sh := second.local.shard(bucketKey{second.scope, "10.8.0.1"})
	sh.mu.Lock()
	_, kept := sh.buckets[bucketKey{second.scope, "10.8.0.1"}]
	sh.mu.Unlock()
	if kept {
		// The sweep runs per shard on its first request after the
		// sweep time: force one in this shard.
		sh.mu.Lock()
		sh.sweep(t0.Add(10 * time.Minute).Unix())
		_, kept = sh.buckets[bucketKey{second.scope, "10.8.0.1"}]
		sh.mu.Unlock()
	}
	if kept {
		t.Error("an expired bucket was not swept")
	}
}

// TestMonthCounterExpiresAfterThirtyDays shows Kong's shared-dict
// semantics: a counter lives for its window length from its first
// request, so on the 31st of a month a counter created on the 1st is gone.
func TestMonthCounterExpiresAfterThirtyDays(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	env.SetNow(time.Date(2024, 1, 1, 0, 0, 5, 0, time.UTC))
	in := newInstance(t, env, newScope(t), map[string]any{"month": 1, "limit_by": "ip"})
	do(in, get("10.9.0.1"))
	env.SetNow(time.Date(2024, 1, 30, 0, 0, 0, 0, time.UTC))
	if r := do(in, get("10.9.0.1")); r.status != 429 {
		t.Fatalf("30th: %d, want 429", r.status)
	}
	env.SetNow(time.Date(2024, 1, 31, 0, 0, 5, 0, time.UTC))
	if r := do(in, get("10.9.0.1")); r.status != 200 || r.headers.Get("RateLimit-Reset") != "1" {
		t.Fatalf("31st: %d %v, want 200 with reset 1", r.status, r.headers)
	}
}
