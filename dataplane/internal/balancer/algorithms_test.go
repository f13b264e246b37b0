package balancer_test

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
)

func TestRoundRobinWeights(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	set := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 10), target(t, u, "10.0.0.2:80", 20), target(t, u, "10.0.0.3:80", 30))
	b := set.Balancer("backend.test")
	if b == nil || b.Algorithm() != "round-robin" {
		t.Fatalf("balancer = %v", b)
	}
	// The wheel has 1+2+3 slots: any 6k consecutive picks are exact.
	counts := pickN(t, b, 600, nil)
	want := map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 200, "10.0.0.3:80": 300}
	for a, n := range want {
		if counts[a] != n {
			t.Errorf("%s got %d picks, want exactly %d (%v)", a, counts[a], n, counts)
		}
	}
}

func TestRoundRobinLargeWeights(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	// Coprime weights make a wheel far above its bound; it is scaled.
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 65535), target(t, u, "10.0.0.2:80", 32767)).Balancer("backend.test")
	counts := pickN(t, b, 30000, nil)
	if !within(counts["10.0.0.1:80"], 20000, 0.02) || !within(counts["10.0.0.2:80"], 10000, 0.02) {
		t.Fatalf("counts = %v, want about 2:1", counts)
	}
}

func TestRoundRobinSkipsTried(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100), target(t, u, "10.0.0.3:80", 100)).
		Balancer("backend.test")
	for range 50 {
		first := must(b.Pick("", nil))
		second := must(b.Pick("", []balancer.Address{first}))
		third := must(b.Pick("", []balancer.Address{first, second}))
		if second.HostPort() == first.HostPort() || third.HostPort() == first.HostPort() || third.HostPort() == second.HostPort() {
			t.Fatalf("retries repeated an address: %s %s %s", first.HostPort(), second.HostPort(), third.HostPort())
		}
		// All tried: the balancer starts over rather than failing.
		if _, err := b.Pick("", []balancer.Address{first, second, third}); err != nil {
			t.Fatalf("pick with every address tried: %v", err)
		}
	}
}

func chUpstream(t *testing.T, extra map[string]any) map[string]any {
	t.Helper()
	fields := map[string]any{"hash_on": "header", "hash_on_header": "x-user"}
	maps.Copy(fields, extra)
	return upstream(t, fields)
}

func TestConsistentHashingStable(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := chUpstream(t, nil)
	tgts := []map[string]any{
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100), target(t, u, "10.0.0.3:80", 100),
	}
	b := update(t, m, []map[string]any{u}, tgts...).Balancer("backend.test")
	if b.Algorithm() != "consistent-hashing" {
		t.Fatalf("algorithm = %s", b.Algorithm())
	}
	for i := range 200 {
		key := "user-" + strconv.Itoa(i)
		first := must(b.Pick(key, nil)).HostPort()
		for range 5 {
			if got := must(b.Pick(key, nil)).HostPort(); got != first {
				t.Fatalf("key %s went to %s then %s", key, first, got)
			}
		}
	}

	// Another data plane with the same configuration maps keys the same.
	other := update(t, newManager(t, balancer.Options{}), []map[string]any{u}, tgts...).Balancer("backend.test")
	for i := range 200 {
		key := "user-" + strconv.Itoa(i)
		if a, b := must(b.Pick(key, nil)).HostPort(), must(other.Pick(key, nil)).HostPort(); a != b {
			t.Fatalf("key %s: %s on one data plane, %s on another", key, a, b)
		}
	}

	// The distribution follows the equal weights.
	counts := pickN(t, b, 30000, func(i int) string { return "k" + strconv.Itoa(i) })
	for a, n := range counts {
		if !within(n, 10000, 0.15) {
			t.Errorf("%s got %d of 30000 keys, want about a third (%v)", a, n, counts)
		}
	}
}

func TestConsistentHashingWeights(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := chUpstream(t, nil)
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 300)).Balancer("backend.test")
	counts := pickN(t, b, 40000, func(i int) string { return fmt.Sprintf("key-%d", i) })
	if !within(counts["10.0.0.1:80"], 10000, 0.2) || !within(counts["10.0.0.2:80"], 30000, 0.1) {
		t.Fatalf("counts = %v, want about 1:3", counts)
	}
}

func TestConsistentHashingMinimalMovement(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := chUpstream(t, nil)
	three := []map[string]any{
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100), target(t, u, "10.0.0.3:80", 100),
	}
	before := update(t, m, []map[string]any{u}, three...).Balancer("backend.test")
	const keys = 20000
	owner := make([]string, keys)
	for i := range owner {
		owner[i] = must(before.Pick("k"+strconv.Itoa(i), nil)).HostPort()
	}
	after := update(t, m, []map[string]any{u}, append(three, target(t, u, "10.0.0.4:80", 100))...).Balancer("backend.test")
	moved := 0
	for i := range owner {
		got := must(after.Pick("k"+strconv.Itoa(i), nil)).HostPort()
		if got == owner[i] {
			continue
		}
		moved++
		if got != "10.0.0.4:80" {
			t.Fatalf("key %d moved from %s to %s, not to the new target", i, owner[i], got)
		}
	}
	// Ideally a quarter of the keys move to the new target.
	if frac := float64(moved) / keys; frac < 0.15 || frac > 0.35 {
		t.Fatalf("%.1f%% of the keys moved, want about 25%%", frac*100)
	}
}

func TestConsistentHashingSkipsUnavailable(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := chUpstream(t, map[string]any{"healthchecks": map[string]any{
		"passive": map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}},
	}})
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100)).Balancer("backend.test")
	// A retry avoids the tried address.
	bob := must(b.Pick("bob", nil))
	if retry := must(b.Pick("bob", []balancer.Address{bob})); retry.HostPort() == bob.HostPort() {
		t.Fatal("a retry went back to the tried address")
	}
	bob.Report(balancer.Outcome{Status: 200})

	owner := must(b.Pick("alice", nil))
	owner.Report(balancer.Outcome{Failure: balancer.FailureTCP})
	for range 10 {
		if got := must(b.Pick("alice", nil)); got.HostPort() == owner.HostPort() {
			t.Fatal("an unhealthy address still got its keys")
		}
	}
	// With the only available address tried, the retry goes back to it.
	other := must(b.Pick("alice", nil))
	if retry := must(b.Pick("alice", []balancer.Address{other})); retry.HostPort() != other.HostPort() {
		t.Fatalf("retry = %s, want the only available address %s", retry.HostPort(), other.HostPort())
	}
}

func TestLeastConnectionsPrefersIdle(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"algorithm": "least-connections"})
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100), target(t, u, "10.0.0.3:80", 100)).
		Balancer("backend.test")

	// Three requests in flight: one on each address.
	busy := map[string]balancer.Address{}
	for range 3 {
		a := must(b.Pick("", nil))
		busy[a.HostPort()] = a
	}
	if len(busy) != 3 {
		t.Fatalf("three concurrent requests went to %d addresses", len(busy))
	}
	// The address that finishes first is the idle one and gets the next.
	busy["10.0.0.2:80"].Report(balancer.Outcome{Status: 200})
	for range 5 {
		a := must(b.Pick("", nil))
		if a.HostPort() != "10.0.0.2:80" {
			t.Fatalf("picked %s, want the idle 10.0.0.2:80", a.HostPort())
		}
		a.Report(balancer.Outcome{Status: 200})
	}
	// A retry avoids what it tried, even when that is the idlest.
	retry := must(b.Pick("", []balancer.Address{must(b.Pick("", nil))}))
	if retry.HostPort() == "10.0.0.2:80" {
		t.Fatal("a retry went back to the tried address")
	}
}

func TestLeastConnectionsWeights(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"algorithm": "least-connections"})
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 300)).Balancer("backend.test")
	// Requests that never finish spread by weight: 1:3.
	counts := map[string]int{}
	for range 400 {
		counts[must(b.Pick("", nil)).HostPort()]++
	}
	if !within(counts["10.0.0.1:80"], 100, 0.02) || !within(counts["10.0.0.2:80"], 300, 0.02) {
		t.Fatalf("counts = %v, want 100 and 300", counts)
	}
}

func TestLatencyPrefersFast(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"algorithm": "latency"})
	b := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100)).Balancer("backend.test")
	rtt := map[string]time.Duration{"10.0.0.1:80": time.Millisecond, "10.0.0.2:80": 50 * time.Millisecond}
	// Warm both up.
	for range 20 {
		a := must(b.Pick("", nil))
		a.Report(balancer.Outcome{Status: 200, ResponseTime: rtt[a.HostPort()]})
	}
	counts := map[string]int{}
	for range 1000 {
		a := must(b.Pick("", nil))
		counts[a.HostPort()]++
		a.Report(balancer.Outcome{Status: 200, ResponseTime: rtt[a.HostPort()]})
	}
	if counts["10.0.0.1:80"] < 950 {
		t.Fatalf("counts = %v, want nearly everything on the fast address", counts)
	}
}

func TestLatencyNewAddressStartsAtAverage(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"algorithm": "latency"})
	two := []map[string]any{target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100)}
	b := update(t, m, []map[string]any{u}, two...).Balancer("backend.test")
	for range 20 {
		a := must(b.Pick("", nil))
		a.Report(balancer.Outcome{Status: 200, ConnectTime: 2 * time.Millisecond, ResponseTime: 8 * time.Millisecond})
	}
	b = update(t, m, []map[string]any{u}, append(two, target(t, u, "10.0.0.3:80", 100))...).Balancer("backend.test")
	counts := map[string]int{}
	for range 3000 {
		a := must(b.Pick("", nil))
		counts[a.HostPort()]++
		a.Report(balancer.Outcome{}) // releases; a zero outcome is not a measurement worth comparing
	}
	// Unseeded, the new address would look infinitely fast and win every
	// pair it is in (about two thirds of the picks).
	if n := counts["10.0.0.3:80"]; n > 1500 {
		t.Fatalf("the new address got %d of 3000 picks (%v); it should start at the average", n, counts)
	}
}

func TestWeightZero(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"round-robin", "consistent-hashing", "least-connections", "latency"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, balancer.Options{})
			u := upstream(t, map[string]any{"algorithm": alg})
			set := update(t, m, []map[string]any{u}, target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 0))
			b := set.Balancer("backend.test")
			counts := pickN(t, b, 500, strconv.Itoa)
			if counts["10.0.0.2:80"] != 0 {
				t.Fatalf("the weight-0 target got %d picks", counts["10.0.0.2:80"])
			}
			h, _ := set.Health("backend.test")
			if th := healthOf(t, h, "10.0.0.2:80"); th.Health != balancer.HealthchecksOff || th.Weight.Total != 0 {
				t.Errorf("weight-0 target health = %+v", th)
			}

			// Total weight 0: the balancer is unhealthy.
			set = update(t, m, []map[string]any{u}, target(t, u, "10.0.0.2:80", 0))
			if _, err := set.Balancer("backend.test").Pick("", nil); !errors.Is(err, balancer.ErrNoPeer) {
				t.Fatalf("pick with total weight 0: %v, want ErrNoPeer", err)
			}
			if h, _ := set.Health("backend.test"); h.Balancer != balancer.Unhealthy {
				t.Errorf("balancer health = %s, want UNHEALTHY", h.Balancer)
			}
		})
	}
}

func TestNoTargets(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	set := update(t, m, []map[string]any{upstream(t, nil)})
	_, err := set.Pick(t.Context(), "backend.test", 80, "", nil)
	var be *balancer.Error
	if !errors.As(err, &be) || be.Status != 503 || be.Message != "failure to get a peer from the ring-balancer" {
		t.Fatalf("error = %v, want Kong's 503", err)
	}
}
