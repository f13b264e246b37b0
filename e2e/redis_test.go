package e2e_test

// Rate limiting with the redis policy when Redis goes away (Kong's
// fault_tolerant): a tolerant limit lets requests through, a strict one
// refuses them (500), and both count again once Redis is back. The link
// to a private Redis is cut with a TCP proxy (the counters survive), then
// the server itself is stopped and started empty (they do not).

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// rateLimit is the daily limit of the scenario's routes: a daily window
// does not roll over during a test (a minute one could).
const rateLimit = 3

// passedUncounted checks a tolerant limit's answer while Redis is away:
// served by the upstream, with no rate-limit headers.
func passedUncounted(r *e2etest.Response) error {
	if err := wantUpstream("limited")(r); err != nil {
		return err
	}
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-ratelimit-") || strings.EqualFold(name, "RateLimit-Remaining") {
			return fmt.Errorf("header %s present while Redis is away", name)
		}
	}
	return nil
}

// TestRedisLost exercises fault_tolerant on and off across a cut link and
// a Redis restart.
func TestRedisLost(t *testing.T) { //nolint:tparallel // the subtests are steps on one Redis, in order
	t.Parallel()
	redis := e2etest.StartRedis(t)
	link := e2etest.NewTCPProxy(t, redis.Addr())
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	up := e2etest.NewUpstream(t, "limited")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp.RequireProxy(t)
	addService(t, c.Admin, "limited", up.URL)
	for _, tc := range []struct {
		route    string
		tolerant bool
	}{{"tolerant", true}, {"strict", false}} {
		addRoute(t, c.Admin, "limited", tc.route, "/"+tc.route)
		c.Admin.MustDo(t, http.MethodPost, "/routes/"+tc.route+"/plugins", map[string]any{
			"name": "rate-limiting",
			"config": map[string]any{
				"day": rateLimit, "policy": "redis", "limit_by": "ip", "fault_tolerant": tc.tolerant,
				"redis": map[string]any{"host": "127.0.0.1", "port": e2etest.Port(link.Addr()), "timeout": 500},
			},
		}, http.StatusCreated)
	}
	c.WaitSynced(t, syncTimeout, dp)
	dp.WaitResponse(t, "/strict", syncTimeout, wantUpstream("limited"))
	dp.WaitResponse(t, "/tolerant", syncTimeout, wantUpstream("limited"))

	get := func(path string) *e2etest.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := dp.Get(ctx, path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return r
	}
	// exhaust sends requests until the limit answers 429, and fails if
	// that takes more than the limit allows.
	exhaust := func(path string) {
		t.Helper()
		for i := 0; ; i++ {
			r := get(path)
			if r.Status == http.StatusTooManyRequests {
				if i > rateLimit {
					t.Errorf("%s: 429 after %d requests, want after at most %d", path, i, rateLimit)
				}
				return
			}
			if r.Status != http.StatusOK || i > rateLimit+1 {
				t.Fatalf("%s: request %d answered %d, want 200 then 429: %.200s", path, i+1, r.Status, r.Body)
			}
		}
	}
	exhaust("/strict")
	exhaust("/tolerant")
	if n, err := e2etest.RedisCommand(ctxT(t), redis.Addr(), "DBSIZE"); err != nil || n == "0" {
		t.Fatalf("the counters are not in Redis: DBSIZE = %q, %v", n, err)
	}
	if r := get("/strict"); r.Header.Get("X-RateLimit-Limit-Day") != strconv.Itoa(rateLimit) {
		t.Errorf("X-RateLimit-Limit-Day = %q, want %d", r.Header.Get("X-RateLimit-Limit-Day"), rateLimit)
	}

	t.Run("link to Redis cut", func(t *testing.T) {
		link.Cut()
		// fault_tolerant: the request goes through without counting, and
		// without rate-limit headers (Kong's behaviour).
		dp.WaitResponse(t, "/tolerant", syncTimeout, passedUncounted)
		// Not tolerant: Kong answers 500.
		dp.WaitServes(t, "/strict", http.StatusInternalServerError, syncTimeout)
		link.Restore()
		// The counters survived: both limits are still exceeded.
		dp.WaitServes(t, "/tolerant", http.StatusTooManyRequests, syncTimeout)
		dp.WaitServes(t, "/strict", http.StatusTooManyRequests, syncTimeout)
	})

	t.Run("Redis restarted empty", func(t *testing.T) {
		redis.Stop(t)
		dp.WaitResponse(t, "/tolerant", syncTimeout, passedUncounted)
		dp.WaitServes(t, "/strict", http.StatusInternalServerError, syncTimeout)
		redis.StartAgain(t)
		// Counting starts over, and the limits hold again.
		dp.WaitResponse(t, "/strict", syncTimeout, func(r *e2etest.Response) error {
			if r.Status != http.StatusOK {
				return fmt.Errorf("status %d", r.Status)
			}
			return nil
		})
		exhaust("/strict")
		exhaust("/tolerant")
	})
}
