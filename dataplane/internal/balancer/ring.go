package balancer

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Ring constants of Kong's consistent_hashing.lua.
const (
	minRingPoints = 1000 // a ring has at least this many points
	serverPoints  = 160  // points per target when all weigh the same
)

// ring is Kong's Ketama-style consistent hashing (consistent_hashing.lua):
// a continuum of `slots` points (at least 1000) on which every address
// with weight claims floor(weight/total × targets × 160) points (at
// least one), and a request goes to the address at its hash value's point
// or the first one found walking the continuum downwards.
//
// The hash function is XXH64 (github.com/cespare/xxhash/v2) rather than
// Kong's xxhash32: a point is XXH64("<ip>:<port> <i>") mod points for
// i = 1, 2, ... (a point already taken is skipped and the next i tried),
// and a request's point is XXH64(hash value) mod points. Targets are
// sorted by host then port and their addresses by "ip:port" before
// points are claimed, so every data plane with the same configuration
// and DNS answers builds the same ring. Kong's ring positions are not
// reproduced.
type ring struct {
	points uint64
	ring   []ringPoint // sorted by point
}

type ringPoint struct {
	point uint64
	addr  int32 // index into the balancer's cands
}

func newRing(b *Balancer) *ring {
	r := &ring{points: uint64(max(b.spec.slots, minRingPoints))}
	if len(b.cands) == 0 || b.totalWeight == 0 {
		return r
	}
	index := make(map[*address]int32, len(b.cands))
	for i, a := range b.cands {
		index[a] = int32(i)
	}
	targets := slices.Clone(b.targets)
	slices.SortStableFunc(targets, func(x, y *target) int {
		return cmp.Or(strings.Compare(x.spec.host, y.spec.host), cmp.Compare(x.spec.port, y.spec.port))
	})
	taken := make([]bool, r.points)
	var key []byte
	for _, t := range targets {
		addrs := slices.Clone(t.addrs)
		slices.SortFunc(addrs, func(x, y *address) int { return strings.Compare(x.dial, y.dial) })
		for _, a := range addrs {
			if a.weight == 0 {
				continue
			}
			share := float64(a.weight) / float64(b.totalWeight) * float64(len(b.targets)) * serverPoints
			entries := max(int(math.Floor(share)), 1)
			placed := 0
			for i := 1; placed < entries && uint64(i) <= r.points; i++ {
				key = strconv.AppendInt(append(append(key[:0], a.dial...), ' '), int64(i), 10)
				p := xxhash.Sum64(key) % r.points
				if taken[p] {
					continue // a collision moves the problem forward
				}
				taken[p] = true
				r.ring = append(r.ring, ringPoint{point: p, addr: index[a]})
				placed++
			}
		}
	}
	slices.SortFunc(r.ring, func(x, y ringPoint) int { return cmp.Compare(x.point, y.point) })
	return r
}

func (r *ring) pick(b *Balancer, hash string, tried []Address) *address {
	n := len(r.ring)
	if n == 0 {
		return nil
	}
	p := xxhash.Sum64String(hash) % r.points
	// The last ring point at or below p, wrapping to the top.
	i := sort.Search(n, func(i int) bool { return r.ring[i].point > p }) - 1
	if i < 0 {
		i = n - 1
	}
	var fallback *address
	for range n {
		a := b.cands[r.ring[i].addr]
		if b.available(a) {
			if len(tried) == 0 || !isTried(a, tried) {
				return a
			}
			if fallback == nil {
				fallback = a
			}
		}
		if i--; i < 0 {
			i = n - 1
		}
	}
	return fallback
}
