package balancer

import "sync/atomic"

// leastConn is Kong's least-connections (least_connections.lua): the
// address with the lowest (active requests + 1) / weight, where active
// counts the requests picked and not yet reported. The +1 makes an idle
// balancer prefer its heaviest address. Addresses this request already
// tried are avoided while others are available.
//
// Kong keeps a binary heap; this scans the addresses (a handful per
// upstream in practice) starting at a rotating offset, so ties are spread
// rather than always going to the first address.
type leastConn struct {
	next atomic.Uint32
}

func (l *leastConn) pick(b *Balancer, _ string, tried []Address) *address {
	n := len(b.cands)
	if n == 0 {
		return nil
	}
	start := int(l.next.Add(1) % uint32(n)) //nolint:gosec // G115: fewer than 2^31 addresses
	for pass := range 2 {
		var best *address
		var bestLoad int64
		for k := range n {
			a := b.cands[(start+k)%n]
			if !b.available(a) || (pass == 0 && len(tried) > 0 && isTried(a, tried)) {
				continue
			}
			load := a.st.active.Load() + 1
			// load/weight < bestLoad/best.weight, without division.
			if best == nil || load*int64(best.weight) < bestLoad*int64(a.weight) {
				best, bestLoad = a, load
			}
		}
		if best != nil || len(tried) == 0 {
			return best
		}
	}
	return nil
}
