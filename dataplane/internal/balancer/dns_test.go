package balancer_test

import (
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
)

// dnsManager returns a manager resolving with srv, refreshing fast.
func dnsManager(t *testing.T, srv *dnstest.Server) *balancer.Manager {
	t.Helper()
	return newManager(t, balancer.Options{
		Resolver: &dns.Client{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1},
		DNS:      dns.CacheOptions{MinTTL: 20 * time.Millisecond, NotFoundTTL: 20 * time.Millisecond, ErrorTTL: 20 * time.Millisecond},
	})
}

func addresses(th balancer.TargetHealth) []string {
	var out []string
	for _, a := range th.Addresses {
		out = append(out, hostPort(a.IP, a.Port))
	}
	sort.Strings(out)
	return out
}

func TestHostnameTargets(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("web.test", 0, "10.0.0.1", "10.0.0.2")
	m := dnsManager(t, srv)
	u := upstream(t, nil)
	set := update(t, m, []map[string]any{u}, target(t, u, "web.test:8080", 100), target(t, u, "10.9.9.9:80", 100))

	h, _ := set.Health("backend.test")
	web := healthOf(t, h, "web.test:8080")
	if web.DNS != "A" || !slices.Equal(addresses(web), []string{"10.0.0.1:8080", "10.0.0.2:8080"}) ||
		web.Weight.Total != 200 || web.NodeWeight != 100 {
		t.Fatalf("web.test target = %+v", web)
	}
	// Each address weighs what the target does: 2/3 of the picks.
	counts := pickN(t, set.Balancer("backend.test"), 300, nil)
	if counts["10.0.0.1:8080"] != 100 || counts["10.0.0.2:8080"] != 100 || counts["10.9.9.9:80"] != 100 {
		t.Fatalf("counts = %v", counts)
	}
	a := must(set.Balancer("backend.test").Pick("", nil))
	for a.HostPort() == "10.9.9.9:80" {
		a = must(set.Balancer("backend.test").Pick("", nil))
	}
	if a.Hostname() != "web.test" {
		t.Errorf("hostname of a name target's address = %q, want the name", a.Hostname())
	}

	// The records change: the balancer follows, in place.
	srv.SetA("web.test", 0, "10.0.0.3")
	eventually(t, "the new address is balanced", func() bool {
		counts := pickN(t, set.Balancer("backend.test"), 20, nil)
		return counts["10.0.0.3:8080"] == 10 && counts["10.0.0.1:8080"] == 0
	})
	if h, _ := m.Current().Health("backend.test"); !slices.Equal(addresses(healthOf(t, h, "web.test:8080")), []string{"10.0.0.3:8080"}) {
		t.Fatalf("current set after the DNS change = %+v", h)
	}
}

func TestHostnameDNSError(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	m := dnsManager(t, srv)
	u := upstream(t, map[string]any{"healthchecks": map[string]any{
		"passive": map[string]any{"unhealthy": map[string]any{"tcp_failures": 1}},
	}})
	set := update(t, m, []map[string]any{u}, target(t, u, "missing.test:80", 100))
	h, _ := set.Health("backend.test")
	th := healthOf(t, h, "missing.test:80")
	if th.Health != balancer.DNSError || th.DNS != "dns server error: 3 name error" || len(th.Addresses) != 0 {
		t.Fatalf("unresolvable target = %+v", th)
	}
	if _, err := set.Pick(t.Context(), "backend.test", 80, "", nil); !errors.Is(err, balancer.ErrNoPeer) {
		t.Fatalf("pick with no resolved address: %v", err)
	}

	// The name appears: the target gets its address.
	srv.SetA("missing.test", 0, "10.0.0.7")
	eventually(t, "the target resolves", func() bool {
		h, _ := m.Current().Health("backend.test")
		return healthOf(t, h, "missing.test:80").Health == balancer.Healthy
	})
	a, err := m.Current().Pick(t.Context(), "backend.test", 80, "", nil)
	if err != nil || a.HostPort() != "10.0.0.7:80" {
		t.Fatalf("pick = %v, %v", a, err)
	}

	// A server failure keeps the stale records; a removed name drops them.
	srv.SetRcode("missing.test", dnsmessage.RCodeServerFailure)
	q := srv.Queries("missing.test")
	eventually(t, "the failing name is asked again", func() bool { return srv.Queries("missing.test") >= q+3 })
	if h, _ := m.Current().Health("backend.test"); healthOf(t, h, "missing.test:80").Health != balancer.Healthy {
		t.Fatal("a transient DNS failure removed the target's addresses")
	}
	srv.SetRcode("missing.test", dnsmessage.RCodeSuccess)
	srv.Remove("missing.test")
	eventually(t, "the removed name is a DNS error", func() bool {
		h, _ := m.Current().Health("backend.test")
		return healthOf(t, h, "missing.test:80").Health == balancer.DNSError
	})
}

func TestSRVTargets(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("node-a.test", 60, "10.1.0.1")
	srv.SetA("node-b.test", 60, "10.1.0.2")
	srv.SetSRV("svc.test", 60,
		dnstest.SRV{Priority: 1, Weight: 30, Port: 9001, Target: "node-a.test"},
		dnstest.SRV{Priority: 1, Weight: 10, Port: 9002, Target: "node-b.test"})
	srv.SetA("svc.test", 60, "10.9.9.9")
	m := dnsManager(t, srv)

	// use_srv_name asks SRV first; each record's port and weight apply,
	// and the SRV target's name is the host name.
	u := upstream(t, map[string]any{"use_srv_name": true})
	set := update(t, m, []map[string]any{u}, target(t, u, "svc.test:80", 100))
	h, _ := set.Health("backend.test")
	th := healthOf(t, h, "svc.test:80")
	if th.DNS != "SRV" || !slices.Equal(addresses(th), []string{"10.1.0.1:9001", "10.1.0.2:9002"}) || th.Weight.Total != 40 {
		t.Fatalf("SRV target = %+v", th)
	}
	counts := map[string]int{}
	for range 400 {
		a := must(set.Balancer("backend.test").Pick("", nil))
		counts[a.HostPort()+" "+a.Hostname()]++
		a.Report(balancer.Outcome{Status: 200})
	}
	if counts["10.1.0.1:9001 node-a.test"] != 300 || counts["10.1.0.2:9002 node-b.test"] != 100 {
		t.Fatalf("counts = %v", counts)
	}

	// Without use_srv_name the same name resolves to its A record.
	plain := upstream(t, map[string]any{"name": "plain.test"})
	set = update(t, m, []map[string]any{plain}, target(t, plain, "svc.test:80", 100))
	if h, _ := set.Health("plain.test"); !slices.Equal(addresses(healthOf(t, h, "svc.test:80")), []string{"10.9.9.9:80"}) {
		t.Fatalf("A resolution = %+v", h)
	}
}

func TestServiceHosts(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("api.test", 0, "10.2.0.1", "10.2.0.2")
	srv.SetRcode("broken.test", dnsmessage.RCodeServerFailure)
	m := dnsManager(t, srv)
	set := update(t, m, nil)

	seen := map[string]int{}
	for range 10 {
		a, err := set.Pick(t.Context(), "api.test", 8443, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Hostname() != "api.test" || a.Balancer() != nil {
			t.Fatalf("address = %+v", a)
		}
		seen[a.HostPort()]++
		a.Report(balancer.Outcome{Status: 200}) // a no-op, but allowed
	}
	if seen["10.2.0.1:8443"] != 5 || seen["10.2.0.2:8443"] != 5 {
		t.Fatalf("service host picks = %v, want them rotated", seen)
	}
	first := must(set.Pick(t.Context(), "api.test", 8443, "", nil))
	if retry := must(set.Pick(t.Context(), "api.test", 8443, "", []balancer.Address{first})); retry.HostPort() == first.HostPort() {
		t.Fatal("a retry went back to the tried address")
	}
	if a := must(set.Pick(t.Context(), "192.0.2.7", 81, "", nil)); a.HostPort() != "192.0.2.7:81" {
		t.Fatalf("an IP host = %s", a.HostPort())
	}

	tests := []struct {
		host    string
		status  int
		message string
	}{
		{"nowhere.test", 503, "name resolution failed"},
		{"broken.test", 500, "failed the initial dns/balancer resolve for 'broken.test' with: dns server error: 2 server failure"},
	}
	for _, tt := range tests {
		_, err := set.Pick(t.Context(), tt.host, 80, "", nil)
		var be *balancer.Error
		if !errors.As(err, &be) || be.Status != tt.status || be.Message != tt.message {
			t.Errorf("%s: error = %v, want %d %q", tt.host, err, tt.status, tt.message)
		}
	}

	srv.SetA("api.test", 0, "10.2.0.3")
	eventually(t, "the service host follows its records", func() bool {
		return must(set.Pick(t.Context(), "api.test", 8443, "", nil)).HostPort() == "10.2.0.3:8443"
	})
}
