package dns_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/dns/dnsmessage"

	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func client(srv *dnstest.Server) *dns.Client {
	return &dns.Client{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1}
}

func addrs(a dns.Answer) []string {
	out := make([]string, len(a.Records))
	for i, r := range a.Records {
		out[i] = r.Addr.String()
		if r.Port != 0 {
			out[i] = netip.AddrPortFrom(r.Addr, r.Port).String()
		}
	}
	return out
}

// TestClientResolve runs its cases in turn: they switch the server's glue.
func TestClientResolve(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.SetA("web.test", 30, "10.0.0.2", "10.0.0.1")
	srv.SetAAAA("web.test", 30, "fd00::1")
	srv.SetAAAA("v6.test", 20, "fd00::2", "fd00::1")
	srv.SetA("short.test", 7, "10.0.0.7")
	srv.SetA("a.backend.test", 60, "10.1.0.1")
	srv.SetA("b.backend.test", 5, "10.1.0.2", "10.1.0.3")
	srv.SetSRV("_http._tcp.svc.test", 40,
		dnstest.SRV{Priority: 10, Weight: 5, Port: 8080, Target: "a.backend.test"},
		dnstest.SRV{Priority: 10, Weight: 0, Port: 8081, Target: "b.backend.test"},
		dnstest.SRV{Priority: 20, Weight: 5, Port: 9999, Target: "a.backend.test"},
	)
	srv.SetSRV("both.test", 40, dnstest.SRV{Priority: 1, Weight: 1, Port: 7000, Target: "a.backend.test"})
	srv.SetA("both.test", 40, "10.9.9.9")

	tests := []struct {
		name      string
		host      string
		preferSRV bool
		wantType  dns.Type
		want      []string
		wantTTL   time.Duration
	}{
		{"A records, sorted", "web.test", false, dns.TypeA, []string{"10.0.0.1", "10.0.0.2"}, 30 * time.Second},
		{"AAAA when there is no A", "v6.test", false, dns.TypeAAAA, []string{"fd00::1", "fd00::2"}, 20 * time.Second},
		{"trailing dot", "short.test.", false, dns.TypeA, []string{"10.0.0.7"}, 7 * time.Second},
		{"case-insensitive", "WEB.test", false, dns.TypeA, []string{"10.0.0.1", "10.0.0.2"}, 30 * time.Second},
		{
			"SRV name, top priority, targets resolved", "_http._tcp.svc.test", false, dns.TypeSRV,
			[]string{"10.1.0.1:8080", "10.1.0.2:8081", "10.1.0.3:8081"},
			5 * time.Second,
		},
		{"A when SRV is not preferred", "both.test", false, dns.TypeA, []string{"10.9.9.9"}, 40 * time.Second},
		{"SRV when preferred", "both.test", true, dns.TypeSRV, []string{"10.1.0.1:7000"}, 40 * time.Second},
		{"preferred SRV falls back to A", "web.test", true, dns.TypeA, []string{"10.0.0.1", "10.0.0.2"}, 30 * time.Second},
		{"an IPv4 address", "192.0.2.1", false, dns.TypeA, []string{"192.0.2.1"}, time.Hour},
		{"an IPv6 address in brackets", "[2001:db8::1]", false, dns.TypeAAAA, []string{"2001:db8::1"}, time.Hour},
	}
	for _, glue := range []bool{true, false} {
		for _, tt := range tests {
			name := tt.name
			if !glue {
				name += " (no glue)"
			}
			t.Run(name, func(t *testing.T) {
				c := client(srv)
				srv.SetGlue(glue)
				a, err := c.Resolve(t.Context(), tt.host, tt.preferSRV)
				if err != nil {
					t.Fatal(err)
				}
				if got := addrs(a); a.Type != tt.wantType || !slices.Equal(got, tt.want) {
					t.Fatalf("answer = %s %v, want %s %v", a.Type, got, tt.wantType, tt.want)
				}
				if a.TTL != tt.wantTTL {
					t.Errorf("TTL = %v, want %v", a.TTL, tt.wantTTL)
				}
			})
		}
	}
}

func TestClientSRVWeights(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("a.test", 60, "10.1.0.1")
	srv.SetSRV("_x._tcp.test", 60,
		dnstest.SRV{Priority: 1, Weight: 7, Port: 81, Target: "a.test"},
		dnstest.SRV{Priority: 1, Weight: 0, Port: 82, Target: "a.test"},
		dnstest.SRV{Priority: 1, Weight: 3, Port: 83, Target: "gone.test"},
	)
	a, err := client(srv).Resolve(t.Context(), "_x._tcp.test", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []dns.Record{
		{Addr: netip.MustParseAddr("10.1.0.1"), Port: 81, Weight: 7, Priority: 1, Target: "a.test"},
		{Addr: netip.MustParseAddr("10.1.0.1"), Port: 82, Weight: 0, Priority: 1, Target: "a.test"},
	}
	if !slices.Equal(a.Records, want) {
		t.Fatalf("records = %+v, want %+v (the dangling target skipped)", a.Records, want)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("only-a.test", 60, "10.0.0.1")
	srv.SetAAAA("only-aaaa.test", 60, "fd00::1")
	srv.SetA("_a._tcp.test", 60, "10.0.0.1")
	srv.SetRcode("broken.test", dnsmessage.RCodeServerFailure)
	srv.SetRcode("refused.test", dnsmessage.RCodeRefused)

	tests := []struct {
		name, host string
		text       string
		notFound   bool
	}{
		{"NXDOMAIN", "missing.test", "dns server error: 3 name error", true},
		{"an SRV name that does not exist", "_http._tcp.only-a.test", "dns server error: 3 name error", true},
		{"an SRV name without SRV records", "_a._tcp.test", "dns client error: 101 empty record received", true},
		{"SERVFAIL", "broken.test", "dns server error: 2 server failure", false},
		{"REFUSED", "refused.test", "dns server error: 5 refused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client(srv).Resolve(t.Context(), tt.host, false)
			if err == nil || err.Error() != tt.text {
				t.Fatalf("error = %v, want %q", err, tt.text)
			}
			if dns.IsNotFound(err) != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v", dns.IsNotFound(err), tt.notFound)
			}
		})
	}

	t.Run("a name with records of other types only", func(t *testing.T) {
		t.Parallel()
		srv.SetSRV("srv-only.test", 60, dnstest.SRV{Priority: 1, Weight: 1, Port: 80, Target: "only-a.test"})
		_, err := client(srv).Resolve(t.Context(), "srv-only.test", false)
		if err == nil || err.Error() != "dns client error: 101 empty record received" || !dns.IsNotFound(err) {
			t.Fatalf("error = %v, want Kong's empty record error", err)
		}
	})
}

func TestClientNoServer(t *testing.T) {
	t.Parallel()
	// A UDP port that never answers.
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(t.Context(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	c := &dns.Client{Servers: []string{pc.LocalAddr().String()}, Timeout: 100 * time.Millisecond, Attempts: 2}
	start := time.Now()
	_, err = c.Resolve(t.Context(), "anything.test", false)
	var de *dns.Error
	if !errors.As(err, &de) || dns.IsNotFound(err) || !strings.HasPrefix(err.Error(), "dns client error: 103 ") {
		t.Fatalf("error = %v, want a client error that is not 'not found'", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v; the per-query timeout is 100ms", d)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Resolve(ctx, "anything.test", false); !errors.Is(err, context.Canceled) {
		t.Fatalf("error under a canceled context = %v", err)
	}
}

func TestClientSearchList(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("api.prod.internal", 60, "10.2.0.1")
	srv.SetA("api", 60, "10.2.0.9")
	srv.SetA("db.cluster", 60, "10.3.0.1")
	srv.SetA("db.cluster.prod.internal", 60, "10.3.0.2")

	c := client(srv)
	c.Search = []string{"prod.internal", "other.internal"}
	c.Ndots = 1
	for host, want := range map[string]string{
		"api":        "10.2.0.1", // fewer dots than ndots: the search list first
		"db.cluster": "10.3.0.1", // enough dots: as is first
		"api.":       "10.2.0.9", // absolute
	} {
		a, err := c.Resolve(t.Context(), host, false)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if got := addrs(a); len(got) != 1 || got[0] != want {
			t.Errorf("%s resolved to %v, want %s", host, got, want)
		}
	}
}

func TestClientHosts(t *testing.T) {
	t.Parallel()
	hosts, err := dns.ParseHosts(strings.NewReader(`
# comment
127.0.0.1   localhost  Local.Test
::1         localhost ip6-localhost
10.0.0.5    web.test  # trailing comment
fe80::1%eth0 zoned.test
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &dns.Client{Hosts: hosts, HostsTTL: time.Minute, Servers: []string{"127.0.0.1:1"}, Timeout: 50 * time.Millisecond}
	for host, want := range map[string][]string{
		"localhost":     {"127.0.0.1"},
		"local.test":    {"127.0.0.1"},
		"ip6-localhost": {"::1"},
		"web.test.":     {"10.0.0.5"},
	} {
		a, err := c.Resolve(t.Context(), host, false)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if got := addrs(a); !slices.Equal(got, want) || a.TTL != time.Minute {
			t.Errorf("%s = %v (ttl %v), want %v", host, got, a.TTL, want)
		}
	}
	if _, ok := hosts["zoned.test"]; ok {
		t.Error("an address with a zone was kept")
	}
}

func TestClientTCPFallback(t *testing.T) {
	t.Parallel()
	srv := dnstest.NewServer(t)
	srv.SetA("big.test", 60, "10.0.0.1", "10.0.0.2", "10.0.0.3")
	srv.SetTruncate(true)
	a, err := client(srv).Resolve(t.Context(), "big.test", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(a); len(got) != 3 {
		t.Fatalf("answer over TCP = %v", got)
	}
}

func TestParseResolvConf(t *testing.T) {
	t.Parallel()
	var c dns.Client
	err := dns.ParseResolvConf(strings.NewReader(`
# generated
nameserver 10.0.0.53
nameserver 2001:db8::53 ; comment
nameserver not-an-ip
search a.example b.example
options ndots:3 timeout:2 attempts:4 rotate
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Servers, []string{"10.0.0.53:53", "[2001:db8::53]:53"}) {
		t.Errorf("servers = %v", c.Servers)
	}
	if !slices.Equal(c.Search, []string{"a.example", "b.example"}) || c.Ndots != 3 ||
		c.Timeout != 2*time.Second || c.Attempts != 4 {
		t.Errorf("client = %+v", c)
	}
}

func TestSystemClient(t *testing.T) {
	t.Parallel()
	c, err := dns.SystemClient()
	if err != nil {
		t.Fatal(err)
	}
	// Every system we run on maps localhost in /etc/hosts.
	a, err := c.Resolve(t.Context(), "localhost", false)
	if err != nil || len(a.Records) == 0 || !a.Records[0].Addr.IsLoopback() {
		t.Fatalf("localhost = %+v, %v", a, err)
	}
}
