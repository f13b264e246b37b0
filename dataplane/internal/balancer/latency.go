package balancer

import (
	"math"
	"math/rand/v2"
)

// latency is Kong's latency algorithm (latency.lua): every address keeps
// an EWMA of its connect plus response time (10 s decay, updated by
// Report), and a pick compares two candidates ("power of two choices")
// and takes the one with the lower ewma/weight. The candidates are drawn
// at random among the available addresses this request has not tried
// (Kong takes the first two of its table). An address that served
// nothing for a while decays towards zero and gets tried again; a new
// address starts at the average of the measured ones (seedLatency).
type latency struct{}

func (latency) pick(b *Balancer, _ string, tried []Address) *address {
	first := randomAvailable(b, tried, nil)
	if first == nil {
		if len(tried) == 0 {
			return nil
		}
		// Every available address was tried: start over.
		tried = nil
		if first = randomAvailable(b, nil, nil); first == nil {
			return nil
		}
	}
	second := randomAvailable(b, tried, first)
	if second == nil {
		return first
	}
	if first.st.lat.lessOrEqual(float64(first.weight), &second.st.lat, float64(second.weight)) {
		return first
	}
	return second
}

// randomAvailable returns an available, untried address other than
// except, starting the search at a random one; nil if there is none.
func randomAvailable(b *Balancer, tried []Address, except *address) *address {
	n := len(b.cands)
	if n == 0 {
		return nil
	}
	start := rand.IntN(n) //nolint:gosec // G404: balancing needs no cryptographic randomness
	for k := range n {
		a := b.cands[(start+k)%n]
		if a != except && b.available(a) && (len(tried) == 0 || !isTried(a, tried)) {
			return a
		}
	}
	return nil
}

// seedLatency starts the addresses never measured at the average of the
// measured ones (Kong's slow start), so a new address is not flooded
// for looking infinitely fast.
func seedLatency(cands []*address) {
	var sum float64
	var n int
	now := monoNow()
	for _, a := range cands {
		if a.st.lat.measured() {
			sum += a.st.lat.score(now)
			n++
		}
	}
	if n == 0 {
		return
	}
	for _, a := range cands {
		a.st.lat.seed(sum/float64(n), now)
	}
}

// lessOrEqual reports whether e's score per weight w is at most o's per
// ow, both decayed to the same moment. Decaying both to now multiplies
// each by exp(-(now-touched)/decayTime), so the comparison needs neither
// the clock nor more than one exponential:
//
//	e.v·exp(-(now-e.t)/τ)/w <= o.v·exp(-(now-o.t)/τ)/ow
//	⇔ e.v·ow <= o.v·w·exp((o.t-e.t)/τ)
func (e *ewma) lessOrEqual(w float64, o *ewma, ow float64) bool {
	et, ot := e.touched.Load(), o.touched.Load()
	ev, ov := math.Float64frombits(e.value.Load()), math.Float64frombits(o.value.Load())
	if et == 0 || ot == 0 {
		now := monoNow()
		return e.score(now)*ow <= o.score(now)*w
	}
	return ev*ow <= ov*w*math.Exp(float64(ot-et)/float64(decayTime))
}
