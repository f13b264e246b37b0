package statusapi_test

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	statusapi "gatehouse.dev/status-api"
)

// fakeSource is a Source over fixed data that tests may change under its
// lock.
type fakeSource struct {
	mu        sync.Mutex
	status    statusapi.Status
	ready     bool
	reason    string
	upstreams []statusapi.Upstream
}

func (f *fakeSource) Status() statusapi.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeSource) Ready() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready, f.reason
}

func (f *fakeSource) Upstream(idOrName string) (statusapi.Upstream, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.upstreams {
		if u.ID == idOrName {
			return u, true
		}
	}
	for _, u := range f.upstreams {
		if u.Name == idOrName {
			return u, true
		}
	}
	return statusapi.Upstream{}, false
}

func (f *fakeSource) Upstreams() []statusapi.Upstream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.upstreams
}

// update changes the source under its lock.
func (f *fakeSource) update(fn func(*fakeSource)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Fixture ids: upstream n is upstreamID(n), target n is targetID(n).
func upstreamID(n int) string { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", n) }
func targetID(n int) string   { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", n) }

const (
	fixtureNodeID = "c0000000-0000-4000-8000-000000000001"
	fixtureHash   = "0123456789abcdef0123456789abcdef"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// addr is a resolved address.
func addr(ip string, port, weight int, healthy bool) statusapi.Address {
	return statusapi.Address{IP: ip, Port: port, Weight: weight, Healthy: healthy}
}

// resolved is a balancer entry with A records.
func resolved(dns string, addrs ...statusapi.Address) *statusapi.TargetBalancer {
	return &statusapi.TargetBalancer{DNS: dns, Addresses: addrs}
}

// newFakeSource is a connected, ready data plane with these upstreams:
//
//   - service-a (id 1): health checks on, balancer healthy; healthy,
//     unhealthy, unresolved (no balancer entry and no addresses),
//     multi-address, IPv6 and weight-0 targets, and older duplicates.
//   - service-b (id 2): health checks off.
//   - service-c (id 3): health checks on, balancer unhealthy.
//   - empty-upstream (id 4): no targets.
//   - many-upstream (id 5): five targets, for pagination.
func newFakeSource() *fakeSource {
	ipv6 := "[0000:0000:0000:0000:0000:0000:0000:0001]"
	many := make([]statusapi.Target, 0, 5)
	for i := range 5 {
		ip := fmt.Sprintf("10.9.0.%d", i+1)
		many = append(many, statusapi.Target{
			ID: targetID(500 + i), CreatedAt: 1700000100 + float64(i), UpdatedAt: 1700000100 + float64(i),
			Target: ip + ":80", Weight: 100, Balancer: resolved("A", addr(ip, 80, 100, true)),
		})
	}
	return &fakeSource{
		ready: true,
		status: statusapi.Status{
			Server: statusapi.Server{
				ConnectionsAccepted: 1200, ConnectionsHandled: 1199, ConnectionsActive: 12,
				ConnectionsReading: 1, ConnectionsWriting: 3, ConnectionsWaiting: 8, TotalRequests: 34567,
			},
			Memory: statusapi.Memory{
				Workers: []statusapi.WorkerMemory{{PID: 4242, Allocated: 5497558}},
				SharedDicts: map[string]statusapi.SharedDict{
					"cache":  {Capacity: 134217728, Allocated: 81920},
					"limits": {Capacity: 5242880, Allocated: 40960},
				},
			},
			ConfigurationHash: fixtureHash,
			Revision:          42,
			ControlPlane: statusapi.ControlPlane{
				Address: "cp.example.internal:8005", Connected: true,
				Since:      mustTime("2026-01-02T03:04:05.678Z"),
				CertExpiry: mustTime("2028-01-01T00:00:00Z"),
			},
			LastSync: mustTime("2026-01-02T03:04:06.5Z"),
		},
		upstreams: []statusapi.Upstream{
			{
				ID: upstreamID(1), Name: "service-a", Healthchecks: true, Healthy: true,
				Targets: []statusapi.Target{
					// An older entry for 10.0.0.1:80: listed by /targets/all only.
					{ID: targetID(100), CreatedAt: 1699999999, UpdatedAt: 1699999999, Target: "10.0.0.1:80", Weight: 30},
					{
						ID: targetID(101), CreatedAt: 1700000001.5, UpdatedAt: 1700000001.5, Target: "10.0.0.1:80", Weight: 100,
						Balancer: resolved("A", addr("10.0.0.1", 80, 100, true)),
					},
					{
						ID: targetID(102), CreatedAt: 1700000002.25, UpdatedAt: 1700000010.75, Target: "10.0.0.2:80", Weight: 50,
						Tags: []string{"blue", "canary"}, Balancer: resolved("A", addr("10.0.0.2", 80, 50, false)),
					},
					{ID: targetID(103), CreatedAt: 1700000003, UpdatedAt: 1700000003, Target: "api.internal:8080", Weight: 100},
					// 10.0.0.3:80 was removed: its newest entry has weight 0.
					{ID: targetID(108), CreatedAt: 1699999990, UpdatedAt: 1699999990, Target: "10.0.0.3:80", Weight: 100},
					{
						ID: targetID(104), CreatedAt: 1700000004, UpdatedAt: 1700000004, Target: "10.0.0.3:80", Weight: 0,
						Balancer: resolved("A", addr("10.0.0.3", 80, 0, true)),
					},
					{
						ID: targetID(105), CreatedAt: 1700000005.125, UpdatedAt: 1700000005.125, Target: "missing.internal:80", Weight: 100,
						Balancer: resolved("dns server error: 3 name error"),
					},
					{
						ID: targetID(106), CreatedAt: 1700000006, UpdatedAt: 1700000006, Target: "multi.internal:8000", Weight: 20,
						Balancer: resolved("A", addr("10.0.1.1", 8000, 20, false), addr("10.0.1.2", 8000, 20, true)),
					},
					{
						ID: targetID(107), CreatedAt: 1700000007, UpdatedAt: 1700000007, Target: ipv6 + ":9000", Weight: 10,
						Balancer: resolved("", addr(ipv6, 9000, 10, true)),
					},
				},
			},
			{
				ID: upstreamID(2), Name: "service-b", Healthchecks: false, Healthy: true,
				Targets: []statusapi.Target{{
					ID: targetID(201), CreatedAt: 1700000201, UpdatedAt: 1700000201, Target: "b.internal:80", Weight: 100,
					Tags: []string{}, Balancer: resolved("A", addr("10.0.2.1", 80, 100, true), addr("10.0.2.2", 80, 100, true)),
				}},
			},
			{
				ID: upstreamID(3), Name: "service-c", Healthchecks: true, Healthy: false,
				Targets: []statusapi.Target{{
					ID: targetID(301), CreatedAt: 1700000301, UpdatedAt: 1700000301, Target: "10.0.3.1:80", Weight: 100,
					Balancer: resolved("A", addr("10.0.3.1", 80, 100, false)),
				}},
			},
			{ID: upstreamID(4), Name: "empty-upstream", Healthchecks: true, Healthy: false},
			{ID: upstreamID(5), Name: "many-upstream", Healthchecks: true, Healthy: true, Targets: many},
		},
	}
}

// newStandaloneSource is a data plane that never had a control plane nor
// a configuration, with no memory figures.
func newStandaloneSource() *fakeSource {
	return &fakeSource{reason: statusapi.ReasonNoConfiguration}
}

// discard is a logger for tests that log on purpose.
var discard = slog.New(slog.DiscardHandler)
