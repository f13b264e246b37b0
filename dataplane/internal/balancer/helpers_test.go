package balancer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var catalog = func() *entity.Catalog {
	c, err := entity.New(nil)
	if err != nil {
		panic(err)
	}
	return c
}()

// upstream returns an upstream entity as the control plane stores it.
func upstream(tb testing.TB, fields map[string]any) map[string]any {
	tb.Helper()
	in := map[string]any{"name": "backend.test"}
	maps.Copy(in, fields)
	u, err := catalog.Type(entity.Upstreams).Write(in, schema.Insert, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// target returns a target entity of upstream u.
func target(tb testing.TB, u map[string]any, tgt string, weight int) map[string]any {
	tb.Helper()
	e, err := catalog.Type(entity.Targets).Write(map[string]any{
		"upstream": map[string]any{"id": u["id"]}, "target": tgt, "weight": weight,
	}, schema.Insert, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// nxResolver answers every name with NXDOMAIN.
type nxResolver struct{}

func (nxResolver) Resolve(context.Context, string, bool) (dns.Answer, error) {
	return dns.Answer{}, &dns.Error{Server: true, Code: 3, Text: "name error"}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newManager returns a manager closed when the test ends.
func newManager(tb testing.TB, opts balancer.Options) *balancer.Manager {
	tb.Helper()
	if opts.Resolver == nil {
		opts.Resolver = nxResolver{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	m, err := balancer.New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

func update(tb testing.TB, m *balancer.Manager, ups []map[string]any, tgts ...map[string]any) *balancer.Set {
	tb.Helper()
	set, err := m.Update(tb.Context(), ups, tgts)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// pickN picks n times from b (reporting each pick at once) and counts
// the picks per address.
func pickN(tb testing.TB, b *balancer.Balancer, n int, hash func(i int) string) map[string]int {
	tb.Helper()
	counts := map[string]int{}
	for i := range n {
		h := ""
		if hash != nil {
			h = hash(i)
		}
		a, err := b.Pick(h, nil)
		if err != nil {
			tb.Fatal(err)
		}
		counts[a.HostPort()]++
		a.Report(balancer.Outcome{Status: 200})
	}
	return counts
}

// within reports whether got is within tol (a fraction) of want.
func within(got, want int, tol float64) bool {
	d := float64(got - want)
	return d <= tol*float64(want) && -d <= tol*float64(want)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// server is a real upstream whose status the test switches.
type server struct {
	*httptest.Server
	status atomic.Int64
	hits   atomic.Int64
}

func newServer(tb testing.TB) *server {
	tb.Helper()
	s := &server{}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		w.WriteHeader(int(s.status.Load()))
	}))
	tb.Cleanup(s.Close)
	return s
}

// addr is the server's "ip:port".
func (s *server) addr() string { return s.Listener.Addr().String() }

// client makes one connection per request, so no idle connection
// outlives a test.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

// proxy sends one request through b as a proxy would: pick, request,
// report. It returns the address used and the status.
func proxy(tb testing.TB, b *balancer.Balancer) (string, int, error) {
	tb.Helper()
	a, err := b.Pick("", nil)
	if err != nil {
		return "", 0, err
	}
	req, _ := http.NewRequestWithContext(tb.Context(), http.MethodGet, "http://"+a.HostPort()+"/", nil)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a.Report(balancer.Outcome{Failure: balancer.FailureTCP, ConnectTime: time.Since(start)})
		return a.HostPort(), 0, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	a.Report(balancer.Outcome{Status: resp.StatusCode, ResponseTime: time.Since(start)})
	return a.HostPort(), resp.StatusCode, nil
}

// healthOf returns the target health of the target string in u.
func healthOf(tb testing.TB, u balancer.UpstreamHealth, tgt string) balancer.TargetHealth {
	tb.Helper()
	for _, th := range u.Targets {
		if th.Target == tgt {
			return th
		}
	}
	tb.Fatalf("no target %s in %+v", tgt, u)
	return balancer.TargetHealth{}
}

func hostPort(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
