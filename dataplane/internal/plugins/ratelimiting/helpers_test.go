package ratelimiting

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/shared/schema"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(collectAfter{m},
		// fasthttp's worker-pool cleaners and its date updater outlive
		// the proxy servers of the proxy tests (package proxy's own).
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}

// collectAfter runs the garbage collector after the tests: Redis clients
// of instances the tests dropped (the proxy tests' runtimes) close when
// their instances are collected.
type collectAfter struct{ m *testing.M }

func (c collectAfter) Run() int {
	code := c.m.Run()
	runtime.GC()
	runtime.GC()
	return code
}

// t0 is the tests' clock: 2023-11-14T22:13:20Z (a Tuesday, mid-month).
var t0 = time.Unix(1700000000, 0).UTC()

// redisAddr is the shared test Redis (never flushed: each test keys its
// counters under its own route id).
func redisAddr() (host string, port int) {
	addr := os.Getenv("GATEHOUSE_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		panic(err)
	}
	return h, n
}

// sharedRedis returns a client of the shared test Redis, closed with t.
func sharedRedis(t *testing.T) *redis.Client {
	t.Helper()
	h, p := redisAddr()
	c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(h, strconv.Itoa(p)), Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisConfig is a config for the redis policy on the shared test Redis.
func redisConfig(conf map[string]any) map[string]any {
	h, p := redisAddr()
	conf["policy"] = "redis"
	conf["redis"] = map[string]any{"host": h, "port": p, "timeout": 500}
	return conf
}

// scope is a fresh route and service for one test's counters.
type scope struct{ route, service string }

func newScope(t *testing.T) scope {
	t.Helper()
	s := scope{route: schema.NewUUID(), service: schema.NewUUID()}
	t.Cleanup(func() { deleteKeys(t, "ratelimit:"+s.route+":*") })
	return s
}

// deleteKeys removes the shared Redis's keys matching pattern (never the
// whole database: other tests and services use it).
func deleteKeys(tb testing.TB, pattern string) {
	tb.Helper()
	h, p := redisAddr()
	c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(h, strconv.Itoa(p)), Protocol: 2, DisableIdentity: true})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

// newInstance makes an instance of conf attached to s (route and service
// when set) on env; its Redis backend is closed with the test.
func newInstance(t *testing.T, env *pdktest.Env, s scope, conf map[string]any) *Instance {
	t.Helper()
	in := map[string]any{"name": Name, "config": conf}
	if s.route != "" {
		in["route"] = map[string]any{"id": s.route}
	}
	if s.service != "" {
		in["service"] = map[string]any{"id": s.service}
	}
	inst, err := Factory{}.New(pdktest.NewConfig(t, env, in))
	if err != nil {
		t.Fatal(err)
	}
	i := inst.(*Instance)
	if i.backend != nil {
		t.Cleanup(func() {
			if err := i.backend.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	return i
}

// result is what one request through an instance came to.
type result struct {
	ctx     *pdktest.Context
	err     error
	status  int // 200 when admitted
	headers http.Header
}

// do runs a request through Access and, when admitted, HeaderFilter on an
// upstream 200.
func do(in *Instance, ctx *pdktest.Context) result {
	err := in.Access(ctx)
	r := result{ctx: ctx, err: err, status: 200, headers: http.Header{}}
	if err != nil {
		r.status = 500
		return r
	}
	if e := ctx.ExitCall(); e != nil {
		r.status = e.Status
		r.headers = e.Header.Clone()
		return r
	}
	ctx.WithResponse(200, nil, nil)
	in.HeaderFilter(ctx)
	r.headers = ctx.ClientResponse().Headers()
	return r
}

// get is a GET from ip.
func get(ip string) *pdktest.Context {
	return pdktest.NewContext("GET", "/").WithClientIP(ip).WithHeader("Accept", "application/json")
}

// rateHeaders are the headers of r but Content-Type, with canonical
// names.
func rateHeaders(r result) map[string]string {
	out := map[string]string{}
	for k := range r.headers {
		if k != "Content-Type" {
			out[k] = r.headers.Get(k)
		}
	}
	return out
}

// canon returns h with canonical header names.
func canon(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

// privateRedis is a redis-server of the test's own, on a random port, that
// the test may stop and start again (the shared server is never stopped).
type privateRedis struct {
	t    *testing.T
	port int
	args []string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, extra ...string) *privateRedis {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := &privateRedis{t: t, port: port, args: append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(),
	}, extra...)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start runs the server and waits until it listens.
func (r *privateRedis) start() {
	r.t.Helper()
	// Not the test's context: stop kills the server, and a cleanup may
	// need it after the test's context is done.
	r.cmd = exec.CommandContext(context.Background(), "redis-server", r.args...) //nolint:gosec // G204: the test's own arguments
	var out bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{Timeout: 100 * time.Millisecond}
		c, err := d.DialContext(context.Background(), "tcp", r.addr())
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.stop()
			r.t.Fatalf("redis-server on %s did not start: %v\n%s", r.addr(), err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop kills the server and waits for it to exit.
func (r *privateRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *privateRedis) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// config points a redis-policy config at the private server.
func (r *privateRedis) config(conf map[string]any) map[string]any {
	conf["policy"] = "redis"
	conf["redis"] = map[string]any{"host": "127.0.0.1", "port": r.port, "timeout": 500}
	return conf
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// consumer is a pdk consumer with id.
func consumer(id string) *pdk.Consumer { return &pdk.Consumer{ID: id} }

// minuteKey is Kong's minute counter key of id in s at now (zero UUIDs
// for what s lacks).
func minuteKey(s scope, id string, now int64) string {
	route, service := s.route, s.service
	if route == "" {
		route = emptyUUID
	}
	if service == "" {
		service = emptyUUID
	}
	return fmt.Sprintf("ratelimit:%s:%s:%s:%d:minute", route, service, id, minute.start(now)*1000)
}
