package balancer

import (
	"math/rand/v2"
	"sync/atomic"
)

// maxWheel bounds a round-robin wheel. Kong's wheel has weight/gcd slots
// per address, which for coprime large weights (65535 and 65534) is
// large; above this size the slots are scaled down proportionally.
const maxWheel = 1 << 16

// wheel is Kong's weighted round-robin (round_robin.lua): every address
// appears weight/gcd(all weights) times on a wheel shuffled once per
// build, and a pointer advances one slot per pick, skipping unavailable
// addresses.
type wheel struct {
	slots []int32 // indexes into the balancer's cands
	next  atomic.Uint64
}

func newWheel(cands []*address) *wheel {
	w := &wheel{}
	if len(cands) == 0 {
		return w
	}
	div, total := 0, 0
	for _, a := range cands {
		div = gcd(div, a.weight)
	}
	for _, a := range cands {
		total += a.weight / div
	}
	scale := 1.0
	if total > maxWheel {
		scale = float64(maxWheel) / float64(total)
	}
	for i, a := range cands {
		n := max(int(float64(a.weight/div)*scale), 1)
		for range n {
			w.slots = append(w.slots, int32(i))
		}
	}
	//nolint:gosec // G404: balancing needs no cryptographic randomness
	rand.Shuffle(len(w.slots), func(i, j int) { w.slots[i], w.slots[j] = w.slots[j], w.slots[i] })
	// Start at a random slot, so data planes do not move in step.
	w.next.Store(rand.Uint64N(uint64(len(w.slots)))) //nolint:gosec // G404: as above
	return w
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (w *wheel) pick(b *Balancer, _ string, tried []Address) *address {
	n := uint64(len(w.slots))
	if n == 0 {
		return nil
	}
	start := w.next.Add(1)
	for pass := range 2 {
		for k := range n {
			a := b.cands[w.slots[(start+k)%n]]
			if !b.available(a) || (pass == 0 && len(tried) > 0 && isTried(a, tried)) {
				continue
			}
			if k > 0 {
				w.next.Add(k) // skipped slots are passed, as Kong's pointer does
			}
			return a
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}
