package dns_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// changes records the keys OnChange reports.
type changes struct {
	mu   sync.Mutex
	keys []dns.Key
}

func (c *changes) record(k dns.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, k)
}

func (c *changes) count(k dns.Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.keys {
		if x == k {
			n++
		}
	}
	return n
}

// startCache runs a cache until the test ends.
func startCache(t *testing.T, srv *dnstest.Server, opts dns.CacheOptions) (*dns.Cache, *changes) {
	t.Helper()
	ch := &changes{}
	opts.OnChange = ch.record
	c := dns.NewCache(client(srv), opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return c, ch
}

func entryAddrs(e *dns.Entry) []string {
	if e == nil {
		return nil
	}
	return addrs(e.Answer)
}

func TestCacheLookupSharesResolution(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("web.test", 300, "10.0.0.1")
	c, _ := startCache(t, srv, dns.CacheOptions{})
	k := dns.Key{Name: "web.test"}
	if _, ok := c.Peek(k); ok {
		t.Fatal("Peek found an entry before any lookup")
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			e, err := c.Lookup(t.Context(), k)
			if err != nil || !slices.Equal(entryAddrs(e), []string{"10.0.0.1"}) {
				t.Errorf("Lookup = %v, %v", entryAddrs(e), err)
			}
		})
	}
	wg.Wait()
	if n := srv.Queries("web.test"); n != 1 {
		t.Fatalf("the server got %d queries for 16 concurrent lookups, want 1", n)
	}
	if e, ok := c.Peek(k); !ok || !e.Usable() || e.Err != nil {
		t.Fatalf("Peek after the lookup = %+v, %v", e, ok)
	}
}

func TestCacheRefreshesOnTTL(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("web.test", 0, "10.0.0.1")
	c, ch := startCache(t, srv, dns.CacheOptions{MinTTL: 20 * time.Millisecond})
	k := dns.Key{Name: "web.test"}
	first, err := c.Lookup(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}

	// The same answer refreshed keeps the same entry: no change reported.
	eventually(t, "the entry is refreshed", func() bool { return srv.Queries("web.test") >= 3 })
	if e, _ := c.Peek(k); e != first || ch.count(k) != 0 {
		t.Fatalf("an unchanged answer replaced the entry (%d changes)", ch.count(k))
	}

	srv.SetA("web.test", 0, "10.0.0.2", "10.0.0.3")
	eventually(t, "the new records are cached", func() bool {
		e, _ := c.Peek(k)
		return slices.Equal(entryAddrs(e), []string{"10.0.0.2", "10.0.0.3"})
	})
	eventually(t, "the change is reported", func() bool { return ch.count(k) == 1 })
}

func TestCacheNotFoundThenFound(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	c, ch := startCache(t, srv, dns.CacheOptions{NotFoundTTL: 20 * time.Millisecond})
	k := dns.Key{Name: "late.test"}
	e, err := c.Lookup(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if e.Usable() || !dns.IsNotFound(e.Err) {
		t.Fatalf("entry of a missing name = %+v", e)
	}
	srv.SetA("late.test", 60, "10.0.0.9")
	eventually(t, "the name resolves", func() bool {
		e, _ := c.Peek(k)
		return e.Usable() && e.Err == nil
	})
	if ch.count(k) != 1 {
		t.Fatalf("changes = %d, want 1", ch.count(k))
	}
}

func TestCacheServesStale(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("web.test", 0, "10.0.0.1")
	c, _ := startCache(t, srv, dns.CacheOptions{
		MinTTL: 20 * time.Millisecond, ErrorTTL: 20 * time.Millisecond, StaleTTL: 300 * time.Millisecond,
	})
	k := dns.Key{Name: "web.test"}
	if _, err := c.Lookup(t.Context(), k); err != nil {
		t.Fatal(err)
	}

	srv.SetRcode("web.test", dnsmessage.RCodeServerFailure)
	eventually(t, "the failure is seen", func() bool {
		e, _ := c.Peek(k)
		return e.Err != nil
	})
	if e, _ := c.Peek(k); !slices.Equal(entryAddrs(e), []string{"10.0.0.1"}) {
		t.Fatalf("a transient failure dropped the records: %+v", e)
	}
	eventually(t, "the stale answer expires", func() bool {
		e, _ := c.Peek(k)
		return !e.Usable()
	})

	// A name that is gone is dropped at once, stale or not.
	srv.SetRcode("web.test", dnsmessage.RCodeSuccess)
	eventually(t, "the name resolves again", func() bool {
		e, _ := c.Peek(k)
		return e.Usable() && e.Err == nil
	})
	srv.Remove("web.test")
	eventually(t, "the removed name stops resolving", func() bool {
		e, _ := c.Peek(k)
		return !e.Usable() && dns.IsNotFound(e.Err)
	})
}

func TestCacheDropsIdleEntries(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("idle.test", 0, "10.0.0.1")
	srv.SetA("pinned.test", 0, "10.0.0.2")
	srv.SetA("busy.test", 0, "10.0.0.3")
	c, _ := startCache(t, srv, dns.CacheOptions{MinTTL: 10 * time.Millisecond, IdleTimeout: 50 * time.Millisecond})
	idle, pinned, busy := dns.Key{Name: "idle.test"}, dns.Key{Name: "pinned.test"}, dns.Key{Name: "busy.test"}
	c.Pin([]dns.Key{pinned})
	for _, k := range []dns.Key{idle, pinned, busy} {
		if _, err := c.Lookup(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	// Once dropped, the idle entry is no longer refreshed; the busy one,
	// looked up all along, stays.
	eventually(t, "the idle entry stops being refreshed", func() bool {
		q := srv.Queries("idle.test")
		for range 6 {
			if _, ok := c.Peek(busy); !ok {
				t.Fatal("an entry in use was dropped")
			}
			time.Sleep(10 * time.Millisecond)
		}
		return srv.Queries("idle.test") == q
	})
	if _, ok := c.Peek(idle); ok {
		t.Fatal("the idle entry is still cached")
	}
	if _, ok := c.Peek(pinned); !ok {
		t.Fatal("the pinned entry was dropped")
	}
	before := srv.Queries("pinned.test")
	eventually(t, "the pinned entry keeps being refreshed", func() bool { return srv.Queries("pinned.test") > before+2 })
}

func TestCacheLookupCanceled(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	c := dns.NewCache(client(srv), dns.CacheOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Lookup(ctx, dns.Key{Name: "web.test"}); err == nil {
		t.Fatal("Lookup under a canceled context succeeded")
	}
}
