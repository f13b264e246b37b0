package proxy_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/proxy"
)

// switchable is an echo upstream whose answers the test switches
// between 200 and 500.
type switchable struct {
	url  string
	fail atomic.Bool
}

func newSwitchable(t *testing.T, name string) *switchable {
	t.Helper()
	s := &switchable{}
	s.url = echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if s.fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		echoHandler(name)(w, r)
	})
	return s
}

func (s *switchable) host() string {
	u, _ := url.Parse(s.url)
	return u.Host
}

// only reports whether the next n requests all went to name.
func (h *harness) only(name string, n int) bool {
	for range n {
		resp, body := get(h.t, h.url("/lb"))
		if resp.StatusCode != http.StatusOK || decodeEcho(h.t, body).Name != name {
			return false
		}
	}
	return true
}

func TestActiveHealthChecks(t *testing.T) {
	t.Parallel()
	h := start(t)
	a, b := newSwitchable(t, "a"), newSwitchable(t, "b")
	h.balanced(map[string]any{"healthchecks": map[string]any{"active": map[string]any{
		"http_path": "/health",
		"healthy":   map[string]any{"interval": 0.05, "successes": 1},
		"unhealthy": map[string]any{"interval": 0.05, "http_failures": 1},
	}}}, []string{a.host(), b.host()}, nil)
	h.apply()
	if got := h.counts(20, nil); got["a"] == 0 || got["b"] == 0 {
		t.Fatalf("both healthy: %v", got)
	}
	a.fail.Store(true)
	eventually(t, 5*time.Second, "a to be taken out", func() bool { return h.only("b", 6) })
	a.fail.Store(false)
	eventually(t, 5*time.Second, "a to come back", func() bool {
		got := h.counts(6, nil)
		return got["a"] > 0
	})
}

func TestPassiveCircuitBreaking(t *testing.T) {
	t.Parallel()
	h := start(t)
	a, b := newSwitchable(t, "a"), newSwitchable(t, "b")
	h.balanced(map[string]any{"healthchecks": map[string]any{"passive": map[string]any{
		"unhealthy": map[string]any{"http_failures": 2, "http_statuses": []any{500}},
	}}}, []string{a.host(), b.host()}, nil)
	h.apply()
	a.fail.Store(true)
	fails := 0
	for range 10 {
		resp, _ := get(t, h.url("/lb"))
		if resp.StatusCode == http.StatusInternalServerError {
			fails++
		}
	}
	if fails != 2 {
		t.Errorf("%d requests answered 500, want 2 before the breaker opened", fails)
	}
	if !h.only("b", 10) {
		t.Error("a still gets traffic after two failures")
	}
	set := h.holder.Load().Part(proxy.BalancerPart).(*balancer.Set)
	uh, ok := set.Health("lb.upstream")
	if !ok {
		t.Fatal("no health for lb.upstream")
	}
	for _, tg := range uh.Targets {
		want := balancer.Healthy
		if tg.Target == a.host() {
			want = balancer.Unhealthy
		}
		if tg.Health != want {
			t.Errorf("target %s health %s, want %s", tg.Target, tg.Health, want)
		}
	}
}

func TestRetriesOnConnectionFailure(t *testing.T) {
	t.Parallel()
	h := start(t)
	dead := deadPort(t)
	live := echoServer(t, "live")
	h.balanced(map[string]any{}, []string{dead, hostOf(live)}, nil)
	h.apply()
	if got := h.counts(10, nil); got["live"] != 10 {
		t.Errorf("answers %v, want every request retried to the live target", got)
	}
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	h := start(t, func(o *proxy.Options) {
		o.Upstream.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "127.0.0.1:1" {
				<-ctx.Done() // a black hole
				return nil, ctx.Err()
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	})
	h.service("http://127.0.0.1:1", map[string]any{"connect_timeout": int64(100), "retries": int64(1)}, map[string]any{"paths": []any{"/hole"}})
	h.apply()
	started := time.Now()
	resp, body := get(t, h.url("/hole"))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d (%s), want 504", resp.StatusCode, body)
	}
	if d := time.Since(started); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("took %v, want two tries of 100ms", d)
	}
}
