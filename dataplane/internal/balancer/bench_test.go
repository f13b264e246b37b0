package balancer_test

import (
	"strconv"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
)

// benchBalancer builds an upstream of ten targets with passive health
// checks on (so Report does the health bookkeeping).
func benchBalancer(b *testing.B, fields map[string]any) *balancer.Balancer {
	b.Helper()
	fields["healthchecks"] = map[string]any{
		"passive": map[string]any{"unhealthy": map[string]any{"http_failures": 5}, "healthy": map[string]any{"successes": 1}},
	}
	m := newManager(b, balancer.Options{})
	u := upstream(b, fields)
	var tgts []map[string]any
	for i := range 10 {
		tgts = append(tgts, target(b, u, "10.0.0."+strconv.Itoa(i+1)+":80", 100+i*10))
	}
	set, err := m.Update(b.Context(), []map[string]any{u}, tgts)
	if err != nil {
		b.Fatal(err)
	}
	return set.Balancer("backend.test")
}

func BenchmarkPick(b *testing.B) {
	algorithms := []struct {
		name   string
		fields map[string]any
	}{
		{"round-robin", map[string]any{}},
		{"consistent-hashing", map[string]any{"hash_on": "ip"}},
		{"least-connections", map[string]any{"algorithm": "least-connections"}},
		{"latency", map[string]any{"algorithm": "latency"}},
	}
	outcome := balancer.Outcome{Status: 200, ConnectTime: time.Millisecond, ResponseTime: 3 * time.Millisecond}
	for _, alg := range algorithms {
		b.Run(alg.name, func(b *testing.B) {
			bal := benchBalancer(b, alg.fields)
			b.ReportAllocs()
			for b.Loop() {
				a, err := bal.Pick("192.0.2.10", nil)
				if err != nil {
					b.Fatal(err)
				}
				a.Report(outcome)
			}
		})
		b.Run(alg.name+"/retry", func(b *testing.B) {
			bal := benchBalancer(b, alg.fields)
			first, _ := bal.Pick("192.0.2.10", nil)
			tried := []balancer.Address{first}
			b.ReportAllocs()
			for b.Loop() {
				a, err := bal.Pick("192.0.2.10", tried)
				if err != nil {
					b.Fatal(err)
				}
				a.Report(outcome)
			}
		})
		b.Run(alg.name+"/parallel", func(b *testing.B) {
			bal := benchBalancer(b, alg.fields)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a, err := bal.Pick("192.0.2.10", nil)
					if err != nil {
						b.Error(err)
						return
					}
					a.Report(outcome)
				}
			})
		})
	}
}

func BenchmarkSetPick(b *testing.B) {
	srv := dnstest.NewServer(b)
	srv.SetA("api.test", 300, "10.2.0.1", "10.2.0.2")
	m := newManager(b, balancer.Options{Resolver: &dns.Client{Servers: []string{srv.Addr}}})
	u := upstream(b, nil)
	set, err := m.Update(b.Context(), []map[string]any{u}, []map[string]any{target(b, u, "10.0.0.1:80", 100)})
	if err != nil {
		b.Fatal(err)
	}
	for _, host := range []string{"backend.test", "api.test", "192.0.2.1"} {
		b.Run(host, func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				a, err := set.Pick(ctx, host, 80, "", nil)
				if err != nil {
					b.Fatal(err)
				}
				a.Report(balancer.Outcome{Status: 200})
			}
		})
	}
}

func BenchmarkHashValue(b *testing.B) {
	m := newManager(b, balancer.Options{})
	req := &fakeRequest{headers: map[string]string{"x-user": "alice"}, ip: "192.0.2.1"}
	for _, c := range []struct {
		name   string
		fields map[string]any
	}{
		{"none", map[string]any{}},
		{"header", map[string]any{"hash_on": "header", "hash_on_header": "x-user"}},
		{"fallback", map[string]any{"hash_on": "header", "hash_on_header": "x-none", "hash_fallback": "ip"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bal := must(m.Update(b.Context(), []map[string]any{upstream(b, c.fields)}, nil)).Balancer("backend.test")
			b.ReportAllocs()
			for b.Loop() {
				bal.HashValue(req)
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	m := newManager(b, balancer.Options{})
	var ups, tgts []map[string]any
	for i := range 1000 {
		u := upstream(b, map[string]any{"name": "u" + strconv.Itoa(i) + ".test", "hash_on": "ip"})
		ups = append(ups, u)
		for j := range 3 {
			tgts = append(tgts, target(b, u, "10."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250)+"."+strconv.Itoa(j+1)+":80", 100))
		}
	}
	b.Run("1000 upstreams rebuilt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// A fresh manager each time: every balancer is built.
			m2, err := balancer.New(b.Context(), balancer.Options{Resolver: nxResolver{}, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m2.Update(b.Context(), ups, tgts); err != nil {
				b.Fatal(err)
			}
			m2.Close()
		}
	})
	b.Run("1000 upstreams unchanged", func(b *testing.B) {
		if _, err := m.Update(b.Context(), ups, tgts); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Update(b.Context(), ups, tgts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
