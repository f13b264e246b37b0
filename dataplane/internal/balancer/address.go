package balancer

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse.dev/dataplane/internal/healthcheck"
)

// addrState is what the data plane knows of one address of one target of
// one upstream, kept across configuration swaps: a balancer built for a
// new configuration adopts the states of the addresses it still has, so
// health, connection counts and latencies survive the swap.
type addrState struct {
	health healthcheck.State
	active atomic.Int64 // requests in flight (least-connections)
	lat    ewma
}

// address is one address of a balancer: immutable, with its shared state.
type address struct {
	ip       string // as shown: IPv4, or IPv6 in brackets
	probeIP  string // to dial: IPv6 without brackets
	dial     string // "ip:port", to dial
	port     int
	weight   int
	hostname string // Kong's balancer_data.hostname
	target   *target
	st       *addrState
}

// Address is an address picked for a request. The zero Address is none.
// It is a small value, cheap to copy; its accessors do not allocate.
type Address struct {
	a *address
	b *Balancer // nil for a service host resolved by DNS
}

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a.a == nil }

// HostPort is the address to connect to, "ip:port" ("[ipv6]:port").
func (a Address) HostPort() string { return a.a.dial }

// IP is the IP address, IPv6 in brackets, as the status API shows it.
func (a Address) IP() string { return a.a.ip }

// Port is the port to connect to.
func (a Address) Port() int { return a.a.port }

// Hostname is the host name Kong sets for the upstream request (its
// balancer_data.hostname, which the Host header and TLS server name
// derive from): the upstream's host_header if set, else the target's
// host (its IP address for an IP target; the SRV target name when the
// upstream sets use_srv_name), or the service host when the address was
// resolved from a service host.
func (a Address) Hostname() string { return a.a.hostname }

// Balancer is the balancer that picked the address, nil for a service
// host resolved by DNS.
func (a Address) Balancer() *Balancer { return a.b }

// same reports whether a and o are the same address of the same
// upstream target, across balancer rebuilds.
func (a *address) same(o Address) bool {
	if o.a == nil {
		return false
	}
	if a.st != nil {
		return a.st == o.a.st
	}
	return a.dial == o.a.dial
}

// isTried reports whether a is in list.
func isTried(a *address, list []Address) bool {
	return slices.ContainsFunc(list, a.same)
}

// decayTime is the latency EWMA's time constant (Kong's DECAY_TIME).
const decayTime = 10 * time.Second

// epoch is the origin of the EWMA's monotonic timestamps.
var epoch = time.Now()

// monoNow is never 0, which marks an average never updated.
func monoNow() int64 { return int64(time.Since(epoch)) + 1 }

// ewma is an exponentially weighted moving average of an address's
// connect plus response time, in seconds, decaying with decayTime (Kong's
// latency balancer, after Finagle's PeakEwma). Reads are lock-free;
// updates are serialised.
type ewma struct {
	mu      sync.Mutex
	value   atomic.Uint64 // float64 bits
	touched atomic.Int64  // monoNow() of the last update; 0 = never
}

// decayed is the average at now with an observation of rtt seconds
// (Kong's decay_ewma).
func (e *ewma) decayed(now int64, rtt float64) float64 {
	v := math.Float64frombits(e.value.Load())
	td := max(float64(now-e.touched.Load()), 0) / float64(time.Second)
	w := math.Exp(-td / decayTime.Seconds())
	return v*w + rtt*(1-w)
}

// score is the average decayed to now without a new observation: an
// address that served nothing for a while looks faster and gets tried.
func (e *ewma) score(now int64) float64 {
	if e.touched.Load() == 0 {
		return math.Float64frombits(e.value.Load())
	}
	return e.decayed(now, 0)
}

// observe folds one round trip into the average.
func (e *ewma) observe(rtt time.Duration, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := rtt.Seconds()
	if e.touched.Load() != 0 {
		v = e.decayed(now, v)
	}
	e.value.Store(math.Float64bits(v))
	e.touched.Store(now)
}

// seed gives an address never measured a starting average.
func (e *ewma) seed(v float64, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.touched.Load() == 0 {
		e.value.Store(math.Float64bits(v))
		e.touched.Store(now)
	}
}

// measured reports whether the address has an average.
func (e *ewma) measured() bool { return e.touched.Load() != 0 }
