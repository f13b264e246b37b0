package ratelimiting

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse.dev/dataplane/internal/pdk/pdktest"
)

// TestLimitsAreExactAcrossTwoDataPlanesConcurrentSafe runs 2 data planes
// (independent instances, clients and pools on one Redis) with 8
// goroutines each against a limit of 100: exactly 100 requests pass.
func TestLimitsAreExactAcrossTwoDataPlanesConcurrentSafe(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	conf := redisConfig(map[string]any{"minute": 100, "hour": 1000, "limit_by": "ip"})
	dps := []*Instance{newInstance(t, pdktest.NewEnv(), s, conf), newInstance(t, pdktest.NewEnv(), s, conf)}
	if dps[0].redis == dps[1].redis {
		t.Fatal("the two data planes share a client")
	}
	var admitted, rejected atomic.Int64
	var wg sync.WaitGroup
	for _, in := range dps {
		for range 8 {
			wg.Go(func() {
				for range 25 {
					switch r := do(in, get("10.20.0.1")); r.status {
					case 200:
						admitted.Add(1)
					case 429:
						rejected.Add(1)
					default:
						t.Errorf("status %d: %v", r.status, r.err)
					}
				}
			})
		}
	}
	wg.Wait()
	if admitted.Load() != 100 || rejected.Load() != 300 {
		t.Errorf("admitted %d, rejected %d; want exactly 100 and 300", admitted.Load(), rejected.Load())
	}
}

func TestLocalLimitIsExactUnderConcurrencyConcurrentSafe(t *testing.T) {
	t.Parallel()
	in := newInstance(t, pdktest.NewEnv(), newScope(t), map[string]any{"second": 100, "limit_by": "ip"})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 25 {
				if do(in, get("10.21.0.1")).status == 200 {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 100 {
		t.Errorf("admitted %d, want exactly 100", admitted.Load())
	}
}

// TestSyncRateBatchesAndBoundsOverAdmission runs two data planes in
// sync_rate mode at a steady request rate. They make about no Redis round
// trips per request, and together admit more than the limit by no more
// than the documented bound: what the other data plane admitted within
// two sync intervals (plus the flush's own latency).
func TestSyncRateBatchesAndBoundsOverAdmission(t *testing.T) {
	t.Parallel()
	const (
		limit    = 200
		interval = 50 * time.Millisecond
	)
	s := newScope(t)
	conf := redisConfig(map[string]any{"minute": limit, "limit_by": "ip", "sync_rate": interval.Seconds()})
	dps := []*Instance{newInstance(t, pdktest.NewEnv(), s, conf), newInstance(t, pdktest.NewEnv(), s, conf)}
	type dpStats struct {
		mu       sync.Mutex
		admitted []time.Time
		requests int
		// refusedSince is when the data plane began refusing, zero
		// while it admits.
		refusedSince time.Time
	}
	stats := make([]*dpStats, len(dps))
	// Run until both data planes have refused for a while (their views
	// have converged past the limit), or 20 s.
	var stop atomic.Bool
	start := time.Now()
	var wg sync.WaitGroup
	for i, in := range dps {
		st := &dpStats{}
		stats[i] = st
		for range 2 {
			wg.Go(func() {
				for !stop.Load() && time.Since(start) < 20*time.Second {
					r := do(in, get("10.22.0.1"))
					now := time.Now()
					st.mu.Lock()
					st.requests++
					if r.status == 200 {
						st.admitted = append(st.admitted, now)
						st.refusedSince = time.Time{}
					} else if st.refusedSince.IsZero() {
						st.refusedSince = now
					}
					st.mu.Unlock()
					time.Sleep(4 * time.Millisecond) // a steady rate, not a burst
				}
			})
		}
	}
	wg.Go(func() {
		for !stop.Load() && time.Since(start) < 20*time.Second {
			settled := true
			for _, st := range stats {
				st.mu.Lock()
				settled = settled && !st.refusedSince.IsZero() && time.Since(st.refusedSince) > 5*interval
				st.mu.Unlock()
			}
			if settled {
				stop.Store(true)
			}
			time.Sleep(interval)
		}
	})
	wg.Wait()
	elapsed := time.Since(start)
	total, requests := 0, 0
	for _, st := range stats {
		total += len(st.admitted)
		requests += st.requests
	}
	// The bound: for each data plane, the most the other admitted in any
	// span of two intervals plus a flush's latency (and slack for a
	// loaded machine's late ticks).
	window := 2*interval + 150*time.Millisecond
	bound := 0
	for _, st := range stats {
		bound = max(bound, maxWithin(st.admitted, window))
	}
	over := total - limit
	t.Logf("%v: requests %d, admitted %d (over the limit by %d; bound %d), round trips %d and %d",
		elapsed.Round(time.Millisecond), requests, total, over, bound, dps[0].redis.client.RoundTrips(), dps[1].redis.client.RoundTrips())
	if over < 0 || over > bound {
		t.Errorf("admitted %d for a limit of %d; want between %d and %d", total, limit, limit, limit+bound)
	}
	for i, in := range dps {
		// One MGET at the window's start, then at most one pipeline
		// per interval, whatever the request rate.
		if n, most := in.redis.client.RoundTrips(), uint64(max(0, elapsed/interval))+3; n > most {
			t.Errorf("data plane %d: %d round trips for %d requests in %v; want at most %d", i, n, stats[i].requests, elapsed, most)
		}
	}
	// Redis holds the admitted total once the last counts are flushed.
	for _, in := range dps {
		in.redis.flush(t.Context())
	}
	n, err := sharedRedis(t).Get(t.Context(), minuteKey(s, "10.22.0.1", t0.Unix())).Int()
	if err != nil || n != total {
		t.Errorf("redis total = %d, %v; want %d", n, err, total)
	}
}

// maxWithin is the most times in any span of length w.
func maxWithin(times []time.Time, w time.Duration) int {
	sorted := slices.Clone(times)
	slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
	best, from := 0, 0
	for to := range sorted {
		for sorted[to].Sub(sorted[from]) > w {
			from++
		}
		best = max(best, to-from+1)
	}
	return best
}

func TestSyncRateReadsTheClusterCountAtAWindowsStart(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	rdb := sharedRedis(t)
	// Another data plane counted 7 already.
	if err := rdb.Set(t.Context(), minuteKey(s, "10.23.0.1", t0.Unix()), 7, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, pdktest.NewEnv(), s, redisConfig(map[string]any{"minute": 10, "limit_by": "ip", "sync_rate": 3600}))
	r := do(in, get("10.23.0.1"))
	if r.status != 200 || r.headers.Get("X-RateLimit-Remaining-Minute") != "2" {
		t.Fatalf("%d %v", r.status, r.headers)
	}
	// Later requests are decided locally: no round trip.
	before := in.redis.client.RoundTrips()
	do(in, get("10.23.0.1"))
	do(in, get("10.23.0.1"))
	if r := do(in, get("10.23.0.1")); r.status != 429 {
		t.Fatalf("4th: %d", r.status)
	}
	if n := in.redis.client.RoundTrips() - before; n != 0 {
		t.Errorf("%d round trips, want 0", n)
	}
	// A flush pushes the 3 admitted requests and reads the total back.
	if err := rdb.IncrBy(t.Context(), minuteKey(s, "10.23.0.1", t0.Unix()), 100).Err(); err != nil {
		t.Fatal(err)
	}
	in.redis.flush(t.Context())
	if n, _ := rdb.Get(t.Context(), minuteKey(s, "10.23.0.1", t0.Unix())).Int(); n != 110 {
		t.Errorf("redis = %d, want 110", n)
	}
	r = do(in, get("10.23.0.1"))
	if r.status != 429 || r.headers.Get("X-RateLimit-Remaining-Minute") != "0" {
		t.Errorf("after the flush: %d %v", r.status, r.headers)
	}
}

// TestRedisLostAndRegained stops a private Redis mid-test and starts it
// again: fault-tolerant instances proxy without headers, the others
// answer 500, every request fails fast, and all recover on their own.
func TestRedisLostAndRegained(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name     string
		syncRate float64
	}{{"realtime", -1}, {"sync", 0.05}} {
		for _, tolerant := range []bool{true, false} {
			name := mode.name + "/fault_tolerant=false"
			if tolerant {
				name = mode.name + "/fault_tolerant=true"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := startPrivateRedis(t)
				env := pdktest.NewEnv()
				in := newInstance(t, env, scope{}, srv.config(map[string]any{
					"minute": 1000, "limit_by": "ip", "fault_tolerant": tolerant, "sync_rate": mode.syncRate,
				}))
				if r := do(in, get("10.24.0.1")); r.status != 200 || r.headers.Get("X-RateLimit-Remaining-Minute") != "999" {
					t.Fatalf("before: %d %v", r.status, r.headers)
				}
				srv.stop()
				failed := func(r result) bool {
					if tolerant {
						return r.status == 200 && len(rateHeaders(r)) == 0
					}
					return r.err != nil && r.status == 500
				}
				if mode.syncRate > 0 {
					// Counters already read keep counting locally until
					// a flush finds Redis gone (within one interval).
					eventually(t, "the loss noticed", func() bool { return failed(do(in, get("10.24.0.1"))) })
				}
				start := time.Now()
				const n = 50
				for i := range n {
					if r := do(in, get("10.24.0.1")); !failed(r) {
						t.Fatalf("down, request %d: %d %v %v; want 200 without headers when fault-tolerant, else 500",
							i, r.status, r.err, r.headers)
					}
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("%d requests took %v while Redis was down", n, d)
				}
				srv.start()
				eventually(t, "recovery", func() bool {
					r := do(in, get("10.24.0.1"))
					return r.err == nil && r.status == 200 && r.headers.Get("X-RateLimit-Limit-Minute") == "1000"
				})
			})
		}
	}
}

// TestUnresponsiveRedisFailsFast black-holes Redis (connections accepted,
// never answered): one request waits for the configured timeout, the next
// ones fail at once, and the client recovers when Redis answers again.
func TestUnresponsiveRedisFailsFast(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	px := newBlackhole(t, srv.addr())
	port := px.l.Addr().(*net.TCPAddr).Port
	conf := map[string]any{
		"minute": 1000, "limit_by": "ip", "policy": "redis",
		"redis": map[string]any{"host": "127.0.0.1", "port": port, "timeout": 300},
	}
	in := newInstance(t, pdktest.NewEnv(), scope{}, conf)
	if r := do(in, get("10.25.0.1")); r.status != 200 || r.headers.Get("X-RateLimit-Limit-Minute") != "1000" {
		t.Fatalf("before: %d %v", r.status, r.headers)
	}
	px.freeze(true)
	var slow int
	var total time.Duration
	for range 100 {
		start := time.Now()
		r := do(in, get("10.25.0.1"))
		d := time.Since(start)
		total += d
		if d > 200*time.Millisecond {
			slow++
		}
		if r.status != 200 || len(rateHeaders(r)) != 0 {
			t.Fatalf("down: %d %v", r.status, r.headers)
		}
	}
	// Only the first request and the breaker's probes (at most one per
	// 100 ms..1 s) wait for the timeout.
	if slow > 1+int(total/(100*time.Millisecond)) || slow == 0 {
		t.Errorf("%d of 100 requests waited for the timeout (total %v)", slow, total)
	}
	px.freeze(false)
	eventually(t, "recovery", func() bool {
		return do(in, get("10.25.0.1")).headers.Get("X-RateLimit-Limit-Minute") == "1000"
	})
}

func TestFailuresAreLoggedAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	in := newInstance(t, pdktest.NewEnv(), scope{}, srv.config(map[string]any{"minute": 10}))
	srv.stop()
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	for range 20 {
		do(in, get("10.26.0.1").WithLogger(logger))
	}
	if lines := bytes.Count(buf.bytes(), []byte("\n")); lines != 1 {
		t.Errorf("%d log lines for 20 failures, want 1:\n%s", lines, buf.bytes())
	}
	if !bytes.Contains(buf.bytes(), []byte(`"redis":"127.0.0.1:`)) {
		t.Errorf("the log line does not name the server: %s", buf.bytes())
	}
	var l logLimiter
	now := time.Now()
	if _, ok := l.allow(now); !ok {
		t.Fatal("first line held back")
	}
	for range 3 {
		if _, ok := l.allow(now.Add(time.Second)); ok {
			t.Fatal("a line within the interval")
		}
	}
	if n, ok := l.allow(now.Add(logEvery)); !ok || n != 3 {
		t.Errorf("after the interval: %v, %d suppressed; want true, 3", ok, n)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func TestInstancesShareOneClientPerRedisSettings(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	s := newScope(t)
	base := func() map[string]any { return redisConfig(map[string]any{"minute": 10}) }
	a := newInstance(t, env, s, base())
	b := newInstance(t, env, newScope(t), redisConfig(map[string]any{"hour": 10, "limit_by": "ip", "sync_rate": 1}))
	if a.redis != b.redis || a.backend != b.backend {
		t.Error("equal Redis settings do not share a client")
	}
	for _, change := range []func(r map[string]any){
		func(r map[string]any) { r["database"] = 1 },
		func(r map[string]any) { r["timeout"] = 1000 },
		func(r map[string]any) { r["password"] = "x" },
		func(r map[string]any) { r["ssl"] = true },
	} {
		conf := base()
		change(conf["redis"].(map[string]any))
		if c := newInstance(t, env, s, conf); c.backend == a.backend {
			t.Errorf("settings %v share the client of %v", conf["redis"], base()["redis"])
		}
	}
	// Another data plane has its own.
	if c := newInstance(t, pdktest.NewEnv(), s, base()); c.backend == a.backend {
		t.Error("two data planes share a client")
	}
}

// TestClientClosesWhenNoInstanceUsesIt drops instances (as a
// configuration swap does) and waits for the garbage collector: the
// client stays open while any instance uses it and closes after the last.
func TestClientClosesWhenNoInstanceUsesIt(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	conf := redisConfig(map[string]any{"minute": 10, "sync_rate": 0.05})
	mk := func() *Instance {
		inst, err := Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": Name, "config": conf}))
		if err != nil {
			t.Fatal(err)
		}
		return inst.(*Instance)
	}
	// Instances made in a function are garbage once it returns, as a
	// swapped-out runtime's are.
	b, conn := func() (*backend, *redisConn) {
		old := mk()
		return old.backend, old.redis
	}()
	t.Cleanup(func() { _ = b.Close() })
	next := mk() // the swap's new instance
	if next.redis != conn {
		t.Fatal("the new instance has another client")
	}
	eventually(t, "the old instance's release", func() bool {
		runtime.GC()
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.refs == 1
	})
	b.mu.Lock()
	open := b.conn == conn
	b.mu.Unlock()
	if !open {
		t.Fatal("the client closed while an instance uses it")
	}
	runtime.KeepAlive(next)
	eventually(t, "the client's close", func() bool {
		runtime.GC()
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.conn == nil
	})
	select {
	case <-conn.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the flusher did not stop")
	}
	// A new instance opens a new client.
	again := mk()
	if again.redis == nil || again.redis == conn {
		t.Error("no new client after the close")
	}
}

func TestRedisAuthAndDatabase(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t, "--requirepass", "s3cret", "--user", "alice", "on", ">wonder", "~*", "&*", "+@all")
	tests := []struct {
		name  string
		redis map[string]any
		db    int
		ok    bool
	}{
		{"password", map[string]any{"password": "s3cret", "database": 3}, 3, true},
		{"username and password", map[string]any{"username": "alice", "password": "wonder", "database": 5}, 5, true},
		{"wrong password", map[string]any{"password": "nope"}, 0, false},
		{"no password", map[string]any{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := map[string]any{"host": "127.0.0.1", "port": srv.port, "timeout": 500}
			maps.Copy(r, tt.redis)
			in := newInstance(t, pdktest.NewEnv(), scope{}, map[string]any{
				"minute": 10, "limit_by": "ip", "policy": "redis", "redis": r, "fault_tolerant": false,
			})
			res := do(in, get("10.27.0.1"))
			if !tt.ok {
				if res.status != 500 || res.err == nil {
					t.Fatalf("status %d, want 500", res.status)
				}
				return
			}
			if res.status != 200 {
				t.Fatalf("status %d: %v", res.status, res.err)
			}
			c := redis.NewClient(&redis.Options{Addr: srv.addr(), Password: "s3cret", DB: tt.db, Protocol: 2, DisableIdentity: true})
			defer func() { _ = c.Close() }()
			if n, err := c.Get(t.Context(), minuteKey(scope{}, "10.27.0.1", t0.Unix())).Int(); err != nil || n != 1 {
				t.Errorf("database %d: counter %d, %v; want 1", tt.db, n, err)
			}
		})
	}
}

// blackhole is a TCP proxy the test can freeze: while frozen it accepts
// and reads but forwards nothing, so clients wait for replies.
type blackhole struct {
	t      *testing.T
	l      net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{t: t, l: l, target: target}
	b.wg.Go(b.accept)
	t.Cleanup(b.close)
	return b
}

func (b *blackhole) freeze(on bool) { b.frozen.Store(on) }

func (b *blackhole) accept() {
	for {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		up, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", b.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		b.mu.Lock()
		b.conns = append(b.conns, c, up)
		b.mu.Unlock()
		b.wg.Go(func() { b.pipe(up, c) })
		b.wg.Go(func() { b.pipe(c, up) })
	}
}

// pipe copies src to dst, dropping what arrives while frozen.
func (b *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !b.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (b *blackhole) close() {
	_ = b.l.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// TestScriptFallsBackToEval runs the counting script on a Redis that
// does not have it cached (a fresh server, then after SCRIPT FLUSH): the
// request pays EVALSHA and EVAL once, later ones EVALSHA alone.
func TestScriptFallsBackToEval(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	in := newInstance(t, pdktest.NewEnv(), scope{}, srv.config(map[string]any{"minute": 100, "limit_by": "ip"}))
	trips := func() uint64 { return in.redis.client.RoundTrips() }
	for i, want := range []uint64{2, 1, 1} {
		before := trips()
		if r := do(in, get("10.28.0.1")); r.status != 200 || r.headers.Get("X-RateLimit-Remaining-Minute") != strconv.Itoa(99-i) {
			t.Fatalf("request %d: %d %v", i+1, r.status, r.headers)
		}
		if n := trips() - before; n != want {
			t.Errorf("request %d: %d round trips, want %d", i+1, n, want)
		}
	}
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), Protocol: 2, DisableIdentity: true})
	defer func() { _ = c.Close() }()
	if err := c.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	before := trips()
	if r := do(in, get("10.28.0.1")); r.status != 200 || r.headers.Get("X-RateLimit-Remaining-Minute") != "96" {
		t.Fatalf("after SCRIPT FLUSH: %d %v", r.status, r.headers)
	}
	if n := trips() - before; n != 2 {
		t.Errorf("after SCRIPT FLUSH: %d round trips, want 2 (EVALSHA, then EVAL)", n)
	}
}
