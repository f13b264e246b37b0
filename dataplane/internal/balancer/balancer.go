package balancer

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"

	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/healthcheck"
)

// Balancer balances requests over the addresses of one upstream, with
// the upstream's algorithm. It is built for one configuration (and one
// set of DNS answers) and immutable apart from the shared per-address
// state, so it keeps serving the requests that started on it after a
// newer one replaced it. It is safe for concurrent use.
type Balancer struct {
	spec        *upstreamSpec
	targets     []*target
	cands       []*address // the addresses with weight > 0, in target order
	totalWeight int
	entries     map[dns.Key]*dns.Entry // the DNS entries it was built from
	states      map[stateKey]*addrState
	gen         *atomic.Uint64 // bumped on every availability change
	health      atomic.Uint64  // (gen+1)<<1 | healthy; 0 = not computed
	log         *slog.Logger
	pick        picker
}

// target is one target of a balancer with its resolved addresses.
type target struct {
	spec  *targetSpec
	dns   string // the record type, the DNS error text, or "" (unknown)
	addrs []*address
}

// stateKey names an address of an upstream: its target and "ip:port".
type stateKey struct {
	target string
	dial   string
}

// picker is an algorithm: it returns an available address of the
// balancer's candidates, avoiding the tried ones when it can, or nil.
type picker interface {
	pick(b *Balancer, hash string, tried []Address) *address
}

// newBalancer builds the balancer of spec over the DNS answers entries,
// adopting the address states of prev (the balancer it replaces, or nil).
func newBalancer(spec *upstreamSpec, entries map[dns.Key]*dns.Entry, prev *Balancer,
	gen *atomic.Uint64, log *slog.Logger,
) *Balancer {
	b := &Balancer{
		spec: spec, entries: entries, gen: gen, log: log,
		states: make(map[stateKey]*addrState),
	}
	resetHealth := spec.hc != nil && (prev == nil || prev.spec.hc == nil)
	for _, ts := range spec.targets {
		t := &target{spec: ts}
		b.targets = append(b.targets, t)
		if ts.ip {
			addr, err := netip.ParseAddr(strings.Trim(ts.host, "[]"))
			if err != nil {
				t.dns = err.Error() // not reached: parseTarget checked the address
				continue
			}
			t.dns = "A"
			if addr.Is6() {
				t.dns = "AAAA"
			}
			b.add(t, prev, addr, ts.port, ts.weight, "")
			continue
		}
		e := entries[ts.key]
		switch {
		case e == nil:
		case e.Usable():
			t.dns = string(e.Answer.Type)
			for _, r := range e.Answer.Records {
				port, weight, srvName := ts.port, ts.weight, ""
				if e.Answer.Type == dns.TypeSRV {
					srvName = r.Target
					if r.Port != 0 {
						port = int(r.Port)
					}
					if weight > 0 {
						// An SRV record's own weight applies; 0 is hit
						// minimally (Kong's SRV_0_WEIGHT).
						weight = max(int(r.Weight), 1)
					}
				}
				b.add(t, prev, r.Addr, port, weight, srvName)
			}
		default:
			t.dns = e.Err.Error()
		}
	}
	for _, a := range b.cands {
		if resetHealth {
			a.st.health.Set(true)
		}
	}
	switch spec.algorithm {
	case consistentHashingAlgo:
		b.pick = newRing(b)
	case leastConnectionsAlgo:
		b.pick = &leastConn{}
	case latencyAlgo:
		seedLatency(b.cands)
		b.pick = latency{}
	case roundRobinAlgo:
		b.pick = newWheel(b.cands)
	}
	return b
}

// add adds an address of t, unless t has it already.
func (b *Balancer) add(t *target, prev *Balancer, ip netip.Addr, port, weight int, srvName string) {
	ip = ip.Unmap()
	ap := netip.AddrPortFrom(ip, uint16(port)) //nolint:gosec // G115: ports are validated 0-65535
	dial := ap.String()
	for _, a := range t.addrs {
		if a.dial == dial {
			return
		}
	}
	shown := ip.String()
	if ip.Is6() {
		shown = "[" + shown + "]"
		if t.spec.ip {
			shown = t.spec.host // as configured: expanded, in brackets
		}
	}
	hostname := t.spec.host
	switch {
	case b.spec.hostHeader != "":
		hostname = b.spec.hostHeader
	case t.spec.ip:
		hostname = shown
	case srvName != "" && b.spec.useSRVName:
		hostname = srvName
	}
	key := stateKey{t.spec.target, dial}
	st := b.states[key]
	if st == nil && prev != nil {
		st = prev.states[key]
	}
	if st == nil {
		st = &addrState{}
	}
	b.states[key] = st
	a := &address{
		ip: shown, probeIP: ip.String(), dial: dial, port: port, weight: weight,
		hostname: hostname, target: t, st: st,
	}
	t.addrs = append(t.addrs, a)
	b.totalWeight += weight
	if weight > 0 {
		b.cands = append(b.cands, a)
	}
}

// ID is the upstream's id.
func (b *Balancer) ID() string { return b.spec.id }

// Name is the upstream's name.
func (b *Balancer) Name() string { return b.spec.name }

// Algorithm is the upstream's algorithm: "round-robin",
// "consistent-hashing", "least-connections" or "latency".
func (b *Balancer) Algorithm() string { return b.spec.algorithm.String() }

// HostHeader is the upstream's host_header, "" for none.
func (b *Balancer) HostHeader() string { return b.spec.hostHeader }

// ClientCertificate is the id of the upstream's client_certificate, ""
// for none.
func (b *Balancer) ClientCertificate() string { return b.spec.clientCert }

// Healthchecks reports whether health checking is on for the upstream.
func (b *Balancer) Healthchecks() bool { return b.spec.hc != nil }

// available reports whether a receives traffic.
func (b *Balancer) available(a *address) bool {
	return b.spec.hc == nil || a.st.health.Available()
}

// Healthy reports Kong's balancer health: the total weight is above zero
// and the available share of it, in percent, is above the upstream's
// healthchecks.threshold. An unhealthy balancer refuses every request.
// The answer is cached until an address changes availability.
func (b *Balancer) Healthy() bool {
	g := b.gen.Load() + 1
	if c := b.health.Load(); c>>1 == g {
		return c&1 == 1
	}
	healthy := b.computeHealthy()
	v := g << 1
	if healthy {
		v |= 1
	}
	for {
		c := b.health.Load()
		if c>>1 >= g || b.health.CompareAndSwap(c, v) {
			break
		}
	}
	return healthy
}

func (b *Balancer) computeHealthy() bool {
	if b.totalWeight == 0 {
		return false
	}
	unavailable := 0
	for _, a := range b.cands {
		if !b.available(a) {
			unavailable += a.weight
		}
	}
	return float64(b.totalWeight-unavailable)/float64(b.totalWeight)*100 > b.spec.threshold
}

// Pick returns an address for a request: one the algorithm chooses among
// the available addresses with weight, avoiding the addresses in tried
// (those this request tried already) unless only those are left. hash is
// the request's hash value (see HashValue), used by consistent-hashing
// only. It returns ErrNoPeer when the balancer is unhealthy or has no
// available address. Every Address it returns must be reported once with
// Report, which releases it. Pick does not allocate.
func (b *Balancer) Pick(hash string, tried []Address) (Address, error) {
	if !b.Healthy() {
		return Address{}, ErrNoPeer
	}
	a := b.pick.pick(b, hash, tried)
	if a == nil {
		return Address{}, ErrNoPeer
	}
	if b.spec.algorithm == leastConnectionsAlgo {
		a.st.active.Add(1)
	}
	return Address{a: a, b: b}, nil
}

// usesKey reports whether the balancer resolves k.
func (b *Balancer) usesKey(k dns.Key) bool {
	for _, t := range b.spec.targets {
		if !t.ip && t.key == k {
			return true
		}
	}
	return false
}

// flipped records an availability change of an address.
func (b *Balancer) flipped(a *address, st healthcheck.Status, check string) {
	b.gen.Add(1)
	b.log.Warn("upstream address health changed",
		"upstream", b.spec.name, "target", a.target.spec.target, "address", a.dial,
		"healthy", st.Available(), "check", check)
}
