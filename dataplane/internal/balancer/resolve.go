package balancer

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"gatehouse.dev/dataplane/internal/dns"
)

// hostKey names a service host and port.
type hostKey struct {
	host string
	port int
}

// hostTarget is a service host that is not an upstream: its addresses,
// built from the DNS entry they came from and rebuilt when it changes.
type hostTarget struct {
	host  string
	port  int
	built atomic.Pointer[hostAddrs]
	next  atomic.Uint32
	// used is set by picks and cleared by sweepHosts, which then records
	// the time in seen: picks read no clock.
	used atomic.Bool
	seen atomic.Int64 // unix ns
}

type hostAddrs struct {
	entry *dns.Entry // nil for an IP host
	addrs []*address
}

// resolveHost picks an address of a service host by DNS: Kong's toip,
// rotating over the records (an SRV record's port replaces the service
// port). An IP address is used as is.
func (m *Manager) resolveHost(ctx context.Context, host string, port int, tried []Address) (Address, error) {
	k := hostKey{host, port}
	v, ok := m.hosts.Load(k)
	if !ok {
		v, _ = m.hosts.LoadOrStore(k, newHostTarget(host, port))
	}
	ht := v.(*hostTarget)
	ht.touch()
	ha := ht.built.Load()
	if ha == nil || ha.entry != nil {
		key := dns.Key{Name: host}
		e, ok := m.dns.Peek(key)
		if !ok {
			var err error
			if e, err = m.dns.Lookup(ctx, key); err != nil {
				return Address{}, err
			}
		}
		ha = ht.addresses(e)
		if len(ha.addrs) == 0 {
			return Address{}, resolveError(host, e.Err)
		}
	}
	n := uint32(len(ha.addrs)) //nolint:gosec // G115: a handful of records
	start := ht.next.Add(1)
	for i := range n {
		if a := ha.addrs[(start+i)%n]; len(tried) == 0 || !isTried(a, tried) {
			return Address{a: a}, nil
		}
	}
	return Address{a: ha.addrs[start%n]}, nil
}

func newHostTarget(host string, port int) *hostTarget {
	ht := &hostTarget{host: host, port: port}
	ht.seen.Store(time.Now().UnixNano())
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && ip.Zone() == "" {
		ht.built.Store(&hostAddrs{addrs: []*address{hostAddress(host, ip, port)}})
	}
	return ht
}

// addresses returns the addresses of e, building them when e is not the
// entry they were built from.
func (ht *hostTarget) addresses(e *dns.Entry) *hostAddrs {
	if ha := ht.built.Load(); ha != nil && ha.entry == e {
		return ha
	}
	ha := &hostAddrs{entry: e}
	for _, r := range e.Answer.Records {
		port := ht.port
		if r.Port != 0 {
			port = int(r.Port)
		}
		ha.addrs = append(ha.addrs, hostAddress(ht.host, r.Addr, port))
	}
	ht.built.Store(ha)
	return ha
}

func hostAddress(host string, ip netip.Addr, port int) *address {
	ip = ip.Unmap()
	shown := ip.String()
	if ip.Is6() {
		shown = "[" + shown + "]"
	}
	return &address{
		ip: shown, probeIP: ip.String(), port: port, weight: 1, hostname: host,
		dial: netip.AddrPortFrom(ip, uint16(port)).String(), //nolint:gosec // G115: ports are validated 0-65535
	}
}

func (ht *hostTarget) touch() {
	if !ht.used.Load() {
		ht.used.Store(true)
	}
}

// sweepHosts forgets the service hosts not used for the DNS idle timeout.
func (m *Manager) sweepHosts() {
	idle := m.opts.DNS.IdleTimeout
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	now := time.Now().UnixNano()
	m.hosts.Range(func(k, v any) bool {
		ht := v.(*hostTarget)
		switch {
		case ht.used.Swap(false):
			ht.seen.Store(now)
		case now-ht.seen.Load() > int64(idle):
			m.hosts.Delete(k)
		}
		return true
	})
}
