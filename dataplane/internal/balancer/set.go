package balancer

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"

	"gatehouse.dev/dataplane/internal/dns"
)

// Set is the balancers of one configuration, as Manager.Update returns
// it. The proxy picks from the Set of the runtime a request started on.
// A Set is safe for concurrent use; its balancers may be replaced in
// place when DNS answers change (only in the Manager's current Set).
type Set struct {
	m      *Manager
	byName map[string]*slot
	byKey  map[string]*slot // by id (by name for an upstream without id)
	list   []*slot          // by name
}

// slot holds the current balancer of one upstream.
type slot struct {
	spec *upstreamSpec
	bal  atomic.Pointer[Balancer]
}

func (sl *slot) balancer() *Balancer {
	if sl == nil {
		return nil
	}
	return sl.bal.Load()
}

func newSet(m *Manager, specs []*upstreamSpec) *Set {
	s := &Set{m: m, byName: make(map[string]*slot, len(specs)), byKey: make(map[string]*slot, len(specs))}
	for _, spec := range specs {
		sl := &slot{spec: spec}
		s.byName[spec.name] = sl
		s.byKey[spec.key] = sl
		s.list = append(s.list, sl)
	}
	slices.SortFunc(s.list, func(a, b *slot) int { return cmp.Compare(a.spec.name, b.spec.name) })
	return s
}

// Balancer returns the balancer of the upstream named host (a service's
// host), or nil when no upstream has that name: the host is then resolved
// by DNS (Pick does both).
func (s *Set) Balancer(host string) *Balancer {
	return s.byName[host].balancer()
}

// Upstream returns the balancer of the upstream whose id is idOrName,
// else whose name is; nil when there is none.
func (s *Set) Upstream(idOrName string) *Balancer {
	if sl := s.byKey[idOrName]; sl != nil {
		return sl.balancer()
	}
	return s.byName[idOrName].balancer()
}

// Upstreams returns every balancer, by upstream name.
func (s *Set) Upstreams() []*Balancer {
	out := make([]*Balancer, len(s.list))
	for i, sl := range s.list {
		out[i] = sl.balancer()
	}
	return out
}

// Pick returns an address for a request to host:port (a service's host
// and port). When host is an upstream's name, the upstream's balancer
// picks (the port is ignored: targets carry theirs) with the request's
// hash value (Balancer.HashValue; "" for none). Otherwise host is
// resolved by DNS (cached; the first request to a name waits for it,
// within ctx) and the port used, rotating over its addresses. tried lists
// the addresses this request tried already, avoided while others exist.
//
// Errors are *Error values with Kong's status and message (ErrNoPeer;
// 503 "name resolution failed"; 500 for other DNS failures), or ctx's
// error. A returned Address must be reported (Address.Report) once.
func (s *Set) Pick(ctx context.Context, host string, port int, hash string, tried []Address) (Address, error) {
	if b := s.Balancer(host); b != nil {
		return b.Pick(hash, tried)
	}
	return s.m.resolveHost(ctx, host, port, tried)
}

// Health returns the health snapshot of the upstream whose id, else
// name, is idOrName; false when there is none.
func (s *Set) Health(idOrName string) (UpstreamHealth, bool) {
	b := s.Upstream(idOrName)
	if b == nil {
		return UpstreamHealth{}, false
	}
	return b.Health(), true
}

// HealthAll returns the health snapshot of every upstream, by name.
func (s *Set) HealthAll() []UpstreamHealth {
	out := make([]UpstreamHealth, len(s.list))
	for i, sl := range s.list {
		out[i] = sl.balancer().Health()
	}
	return out
}

// dnsKeys returns the names the set's targets resolve.
func (s *Set) dnsKeys() []dns.Key {
	specs := make([]*upstreamSpec, len(s.list))
	for i, sl := range s.list {
		specs[i] = sl.spec
	}
	return dnsKeys(specs)
}
