package balancer_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"

	"gatehouse.dev/dataplane/internal/balancer"
)

// activeChecks probes every 20ms; two failures take an address out, two
// successes bring it back.
var activeChecks = map[string]any{
	"active": map[string]any{
		"timeout":   1,
		"healthy":   map[string]any{"interval": 0.02, "successes": 2},
		"unhealthy": map[string]any{"interval": 0.02, "http_failures": 2, "tcp_failures": 2, "timeouts": 2},
	},
}

func TestActiveChecksTakeOutAndBringBack(t *testing.T) {
	t.Parallel()
	a, b := newServer(t), newServer(t)
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": activeChecks})
	set := update(t, m, []map[string]any{u}, target(t, u, a.addr(), 100), target(t, u, b.addr(), 100))
	bal := set.Balancer("backend.test")

	eventually(t, "both servers are probed", func() bool { return a.hits.Load() > 0 && b.hits.Load() > 0 })
	a.status.Store(http.StatusInternalServerError)
	eventually(t, "the failing target is out", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, a.addr()).Health == balancer.Unhealthy
	})
	counts := map[string]int{}
	for range 100 {
		addr, status, err := proxy(t, bal)
		if err != nil || status != http.StatusOK {
			t.Fatalf("request through the balancer: %s %d %v", addr, status, err)
		}
		counts[addr]++
	}
	if counts[a.addr()] != 0 {
		t.Fatalf("the unhealthy target got %d of 100 requests", counts[a.addr()])
	}
	h, _ := set.Health("backend.test")
	if th := healthOf(t, h, a.addr()); th.Weight != (balancer.Weight{Total: 100, Unavailable: 100}) || th.Addresses[0].Healthy {
		t.Errorf("unhealthy target = %+v", th)
	}
	if h.Weight != (balancer.Weight{Total: 200, Available: 100, Unavailable: 100}) || h.Balancer != balancer.Healthy {
		t.Errorf("upstream = %+v", h)
	}

	a.status.Store(http.StatusOK)
	eventually(t, "the target is back", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, a.addr()).Health == balancer.Healthy
	})
	counts = pickN(t, bal, 100, nil)
	if counts[a.addr()] != 50 {
		t.Fatalf("after recovery the target got %d of 100 picks, want 50", counts[a.addr()])
	}
}

func TestActiveChecksConnectionFailure(t *testing.T) {
	t.Parallel()
	a := newServer(t)
	down := newServer(t)
	downAddr := down.addr()
	down.Close()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": activeChecks})
	set := update(t, m, []map[string]any{u}, target(t, u, a.addr(), 100), target(t, u, downAddr, 100))
	eventually(t, "the closed port is out", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, downAddr).Health == balancer.Unhealthy
	})
	if counts := pickN(t, set.Balancer("backend.test"), 20, nil); counts[downAddr] != 0 {
		t.Fatalf("the closed port got picks: %v", counts)
	}
}

func TestPassiveCircuitBreaking(t *testing.T) {
	t.Parallel()
	a, b := newServer(t), newServer(t)
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": map[string]any{
		// Passive checks take an address out after three 500s; only the
		// active check of unhealthy addresses brings it back.
		"passive": map[string]any{"unhealthy": map[string]any{"http_failures": 3}},
		"active": map[string]any{
			"healthy":   map[string]any{"successes": 1},
			"unhealthy": map[string]any{"interval": 0.02},
		},
	}})
	set := update(t, m, []map[string]any{u}, target(t, u, a.addr(), 100), target(t, u, b.addr(), 100))
	bal := set.Balancer("backend.test")

	a.status.Store(http.StatusInternalServerError)
	var failures int
	for range 20 {
		_, status, err := proxy(t, bal)
		if err != nil {
			t.Fatal(err)
		}
		if status == http.StatusInternalServerError {
			failures++
		}
	}
	if failures != 3 {
		t.Fatalf("%d requests hit the failing target, want exactly 3 before it was taken out", failures)
	}
	for range 20 {
		if addr, _, _ := proxy(t, bal); addr == a.addr() {
			t.Fatal("a request went to the target passive checks took out")
		}
	}

	// Healthy again: the active check of unhealthy addresses notices.
	a.status.Store(http.StatusOK)
	eventually(t, "the target is back", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, a.addr()).Health == balancer.Healthy
	})
	if counts := pickN(t, bal, 10, nil); counts[a.addr()] != 5 {
		t.Fatalf("counts after recovery = %v", counts)
	}
}

func TestPassiveTimeoutsAnd504(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": map[string]any{
		"passive": map[string]any{"unhealthy": map[string]any{"timeouts": 2}},
	}})
	set := update(t, m, []map[string]any{u}, target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100))
	b := set.Balancer("backend.test")
	first := must(b.Pick("", nil))
	first.Report(balancer.Outcome{Failure: balancer.FailureTimeout})
	// A 504 counts as a timeout, as in Kong.
	for {
		a := must(b.Pick("", nil))
		if a.HostPort() == first.HostPort() {
			a.Report(balancer.Outcome{Status: http.StatusGatewayTimeout})
			break
		}
		a.Report(balancer.Outcome{Status: 200})
	}
	h, _ := set.Health("backend.test")
	if th := healthOf(t, h, first.HostPort()); th.Health != balancer.Unhealthy {
		t.Fatalf("after a timeout and a 504: %s", th.Health)
	}
}

func TestThreshold(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"healthchecks": map[string]any{
		"threshold": 50,
		"passive":   map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}},
	}})
	set := update(t, m, []map[string]any{u},
		target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100),
		target(t, u, "10.0.0.3:80", 100), target(t, u, "10.0.0.4:80", 100))
	b := set.Balancer("backend.test")
	fail := func(hp string) {
		t.Helper()
		for {
			a := must(b.Pick("", nil))
			if a.HostPort() == hp {
				a.Report(balancer.Outcome{Failure: balancer.FailureTCP})
				return
			}
			a.Report(balancer.Outcome{Status: 200})
		}
	}
	fail("10.0.0.1:80")
	if !b.Healthy() {
		t.Fatal("75% available is not above a 50% threshold?")
	}
	fail("10.0.0.2:80")
	// 50% available is not above 50%: the balancer refuses everything,
	// though two addresses are up.
	if b.Healthy() {
		t.Fatal("the balancer is healthy at exactly the threshold")
	}
	if _, err := set.Pick(t.Context(), "backend.test", 80, "", nil); !errors.Is(err, balancer.ErrNoPeer) {
		t.Fatalf("pick from an unhealthy balancer: %v", err)
	}
	h, _ := set.Health("backend.test")
	if h.Balancer != balancer.Unhealthy || h.Health != balancer.Unhealthy || !h.Healthchecks {
		t.Fatalf("health = %+v", h)
	}
}

func TestHealthCarriedAcrossUpdate(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	hc := map[string]any{"passive": map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}}}
	u := upstream(t, map[string]any{"healthchecks": hc})
	t1, t2 := target(t, u, "10.0.0.1:80", 100), target(t, u, "10.0.0.2:80", 100)
	old := update(t, m, []map[string]any{u}, t1, t2)
	b := old.Balancer("backend.test")
	for {
		a := must(b.Pick("", nil))
		if a.HostPort() == "10.0.0.1:80" {
			a.Report(balancer.Outcome{Failure: balancer.FailureTCP})
			break
		}
		a.Report(balancer.Outcome{Status: 200})
	}

	// A new configuration (a third target, another upstream field) keeps
	// the state of the addresses it still has.
	u2 := upstream(t, map[string]any{"healthchecks": hc, "slots": 2000})
	u2["id"] = u["id"]
	t3 := target(t, u2, "10.0.0.3:80", 100)
	set := update(t, m, []map[string]any{u2}, t1, t2, t3)
	nb := set.Balancer("backend.test")
	if nb == b {
		t.Fatal("a changed upstream reused its balancer")
	}
	h, _ := set.Health("backend.test")
	if healthOf(t, h, "10.0.0.1:80").Health != balancer.Unhealthy || healthOf(t, h, "10.0.0.3:80").Health != balancer.Healthy {
		t.Fatalf("health after the update = %+v", h.Targets)
	}
	if counts := pickN(t, nb, 30, nil); counts["10.0.0.1:80"] != 0 {
		t.Fatalf("the unhealthy address got picks after the update: %v", counts)
	}
	// The old set, still serving in-flight requests, sees the same state.
	if h, _ := old.Health("backend.test"); healthOf(t, h, "10.0.0.1:80").Health != balancer.Unhealthy {
		t.Fatal("the old set lost the state")
	}

	// Removing a target forgets its state; adding it back starts healthy.
	update(t, m, []map[string]any{u2}, t2, t3)
	set = update(t, m, []map[string]any{u2}, t1, t2, t3)
	if h, _ := set.Health("backend.test"); healthOf(t, h, "10.0.0.1:80").Health != balancer.Healthy {
		t.Fatal("a removed and re-added target kept its old state")
	}
}

func TestUnchangedUpstreamReusesBalancer(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u, other := upstream(t, nil), upstream(t, map[string]any{"name": "other.test"})
	tg := target(t, u, "10.0.0.1:80", 100)
	first := update(t, m, []map[string]any{u, other}, tg)
	second := update(t, m, []map[string]any{u, other}, tg, target(t, other, "10.0.0.9:80", 100))
	if first.Balancer("backend.test") != second.Balancer("backend.test") {
		t.Fatal("an unchanged upstream got a new balancer")
	}
	if first.Balancer("other.test") == second.Balancer("other.test") {
		t.Fatal("a changed upstream kept its balancer")
	}
}

func TestHealthchecksOff(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, nil)
	set := update(t, m, []map[string]any{u}, target(t, u, "10.0.0.1:80", 100), target(t, u, "[::1]:8080", 50))
	b := set.Balancer("backend.test")
	// Failures are not counted without health checks.
	for range 10 {
		must(b.Pick("", nil)).Report(balancer.Outcome{Failure: balancer.FailureTCP})
	}
	h, _ := set.Health("backend.test")
	want := balancer.UpstreamHealth{
		ID: u["id"].(string), Name: "backend.test", Healthchecks: false,
		Balancer: balancer.Healthy, Health: balancer.HealthchecksOff,
		Weight: balancer.Weight{Total: 150, Available: 150},
	}
	got := h
	got.Targets = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("upstream = %+v\nwant %+v", got, want)
	}
	v4 := healthOf(t, h, "10.0.0.1:80")
	if v4.Health != balancer.HealthchecksOff || v4.DNS != "A" || v4.Host != "10.0.0.1" || v4.Port != 80 ||
		len(v4.Addresses) != 1 || v4.Addresses[0] != (balancer.AddressHealth{
		IP: "10.0.0.1", Port: 80, Weight: 100, Healthy: true, Health: balancer.HealthchecksOff,
	}) {
		t.Errorf("IPv4 target = %+v", v4)
	}
	v6 := healthOf(t, h, "[0000:0000:0000:0000:0000:0000:0000:0001]:8080")
	if v6.DNS != "AAAA" || v6.Addresses[0].IP != "[0000:0000:0000:0000:0000:0000:0000:0001]" || v6.NodeWeight != 50 {
		t.Errorf("IPv6 target = %+v", v6)
	}
	if a := must(b.Pick("", []balancer.Address{must(b.Pick("", nil))})); a.HostPort() != "[::1]:8080" && a.HostPort() != "10.0.0.1:80" {
		t.Errorf("dial address = %s", a.HostPort())
	}
}

func TestHealthchecksTurnedOnStartHealthy(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	on := map[string]any{"passive": map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}}}
	u := upstream(t, map[string]any{"healthchecks": on})
	tg := target(t, u, "10.0.0.1:80", 100)
	b := update(t, m, []map[string]any{u}, tg).Balancer("backend.test")
	must(b.Pick("", nil)).Report(balancer.Outcome{Failure: balancer.FailureTCP})
	if b.Healthy() {
		t.Fatal("the only address failed but the balancer is healthy")
	}
	off := upstream(t, nil)
	off["id"] = u["id"]
	update(t, m, []map[string]any{off}, tg)
	set := update(t, m, []map[string]any{u}, tg)
	if h, _ := set.Health("backend.test"); h.Balancer != balancer.Healthy {
		t.Fatal("turning health checks off and on kept the old unhealthy state")
	}
}

func TestActiveHTTPSChecks(t *testing.T) {
	t.Parallel()
	var status atomic.Int64
	var withCert atomic.Int64
	status.Store(http.StatusOK)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			withCert.Add(1)
		}
		w.WriteHeader(int(status.Load()))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	clientCert := srv.TLS.Certificates[0]

	m := newManager(t, balancer.Options{
		RootCAs: roots,
		ClientCertificate: func(id string) (*tls.Certificate, error) {
			if id != "5f0b6d4e-0000-4000-8000-000000000001" {
				return nil, errors.New("unknown certificate")
			}
			return &clientCert, nil
		},
	})
	checks := map[string]any{
		"active": map[string]any{
			"type":      "https",
			"healthy":   map[string]any{"interval": 0.02, "successes": 1},
			"unhealthy": map[string]any{"interval": 0.02, "http_failures": 1},
		},
	}
	u := upstream(t, map[string]any{"healthchecks": checks})
	u["client_certificate"] = map[string]any{"id": "5f0b6d4e-0000-4000-8000-000000000001"}
	addr := srv.Listener.Addr().String()
	set := update(t, m, []map[string]any{u}, target(t, u, addr, 100))

	eventually(t, "verified probes present the client certificate", func() bool { return withCert.Load() > 0 })
	status.Store(http.StatusServiceUnavailable)
	eventually(t, "the target is out", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, addr).Health == balancer.Unhealthy && h.Balancer == balancer.Unhealthy
	})
	status.Store(http.StatusOK)
	eventually(t, "the target is back", func() bool {
		h, _ := set.Health("backend.test")
		return healthOf(t, h, addr).Health == balancer.Healthy
	})
}
