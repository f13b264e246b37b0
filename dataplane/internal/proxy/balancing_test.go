package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
)

// namedUpstreams starts n echo upstreams named a, b, c...
func namedUpstreams(t *testing.T, n int) []*httptest.Server {
	t.Helper()
	var out []*httptest.Server
	for i := range n {
		out = append(out, echoServer(t, string(rune('a'+i))))
	}
	return out
}

func hostOf(s *httptest.Server) string {
	u, _ := url.Parse(s.URL)
	return u.Host
}

// balanced adds an upstream with targets (weights) and a service and
// route /lb on it.
func (h *harness) balanced(upstream map[string]any, targets []string, weights []int) {
	h.t.Helper()
	upstream["name"] = "lb.upstream"
	id := h.add(entity.Upstreams, upstream)
	for i, tg := range targets {
		in := map[string]any{"upstream": map[string]any{"id": id}, "target": tg}
		if weights != nil {
			in["weight"] = int64(weights[i])
		}
		h.add(entity.Targets, in)
	}
	h.service("http://lb.upstream", map[string]any{"retries": int64(2)}, map[string]any{"paths": []any{"/lb"}})
}

// counts sends n requests to /lb (headers each time) and counts the
// upstreams that answered.
func (h *harness) counts(n int, headers func(i int) []string) map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for i := range n {
		var hs []string
		if headers != nil {
			hs = headers(i)
		}
		resp, body := get(h.t, h.url("/lb"), hs...)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("request %d: status %d %s", i, resp.StatusCode, body)
		}
		out[decodeEcho(h.t, body).Name]++
	}
	return out
}

func TestRoundRobinWeights(t *testing.T) {
	t.Parallel()
	h := start(t)
	ups := namedUpstreams(t, 3)
	h.balanced(map[string]any{}, []string{hostOf(ups[0]), hostOf(ups[1]), hostOf(ups[2])}, []int{10, 20, 10})
	h.apply()
	got := h.counts(200, nil)
	if got["a"] != 50 || got["b"] != 100 || got["c"] != 50 {
		t.Errorf("distribution %v, want a:50 b:100 c:50", got)
	}
}

func TestConsistentHashing(t *testing.T) {
	t.Parallel()
	h := start(t)
	ups := namedUpstreams(t, 3)
	h.balanced(map[string]any{"algorithm": "consistent-hashing", "hash_on": "header", "hash_on_header": "X-User"},
		[]string{hostOf(ups[0]), hostOf(ups[1]), hostOf(ups[2])}, nil)
	h.apply()
	seen := map[string]bool{}
	for u := range 30 {
		user := fmt.Sprintf("user-%d", u)
		got := h.counts(4, func(int) []string { return []string{"X-User", user} })
		if len(got) != 1 {
			t.Fatalf("%s went to %v, want one upstream", user, got)
		}
		for name := range got {
			seen[name] = true
		}
	}
	if len(seen) < 2 {
		t.Errorf("30 users all went to %v", seen)
	}
}

func TestHashOnCookieSetsIt(t *testing.T) {
	t.Parallel()
	h := start(t)
	ups := namedUpstreams(t, 2)
	h.balanced(map[string]any{"algorithm": "consistent-hashing", "hash_on": "cookie", "hash_on_cookie": "lb", "hash_on_cookie_path": "/lb"},
		[]string{hostOf(ups[0]), hostOf(ups[1])}, nil)
	h.apply()
	resp, _ := get(t, h.url("/lb"))
	c := resp.Header.Get("Set-Cookie")
	var value string
	if _, err := fmt.Sscanf(c, "lb=%36s", &value); err != nil || c != "lb="+value+"; Path=/lb; Same-Site=Lax; HttpOnly" {
		t.Fatalf("Set-Cookie %q", c)
	}
	first := ""
	for range 5 {
		resp, body := get(t, h.url("/lb"), "Cookie", "lb="+value)
		if resp.Header.Get("Set-Cookie") != "" {
			t.Error("a request with the cookie got a new one")
		}
		name := decodeEcho(t, body).Name
		if first == "" {
			first = name
		}
		if name != first {
			t.Fatalf("the cookie's requests went to %s and %s", first, name)
		}
	}
}

func TestLeastConnections(t *testing.T) {
	t.Parallel()
	h := start(t)
	release := make(chan struct{})
	var slowHits atomic.Int32
	slow := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		<-release
		echoHandler("slow")(w, r)
	})
	fast := echoServer(t, "fast")
	su, _ := url.Parse(slow)
	h.balanced(map[string]any{"algorithm": "least-connections"}, []string{su.Host, hostOf(fast)}, nil)
	h.apply()

	// While one request is held by the slow target, every new request
	// goes to the fast one, which has no connection in flight.
	var wg sync.WaitGroup
	answered := make(chan string, 20)
	for i := range 10 {
		wg.Go(func() {
			resp, body := get(t, h.url("/lb"))
			if resp.StatusCode == http.StatusOK {
				answered <- decodeEcho(t, body).Name
			}
		})
		eventually(t, 5*time.Second, fmt.Sprintf("request %d to arrive", i), func() bool {
			return int(slowHits.Load())+len(answered) == i+1
		})
	}
	if n := slowHits.Load(); n != 1 {
		t.Errorf("the slow target got %d requests, want 1", n)
	}
	close(release)
	wg.Wait()
}

func TestLatencyPrefersTheFastTarget(t *testing.T) {
	t.Parallel()
	h := start(t)
	slow := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		echoHandler("slow")(w, r)
	})
	fast := echoServer(t, "fast")
	su, _ := url.Parse(slow)
	h.balanced(map[string]any{"algorithm": "latency"}, []string{su.Host, hostOf(fast)}, nil)
	h.apply()
	h.counts(10, nil) // both get measured
	got := h.counts(40, nil)
	if got["fast"] < 34 {
		t.Errorf("distribution %v, want most on the fast target", got)
	}
}
