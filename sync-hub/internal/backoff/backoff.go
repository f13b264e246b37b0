// Package backoff computes retry delays: exponential with full jitter,
// between a floor and a ceiling.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff yields growing delays. The zero value is not usable; use New. A
// Backoff is not safe for concurrent use: each retry loop owns one.
type Backoff struct {
	min, max time.Duration
	attempt  int
}

// New returns a Backoff whose delays start near lo and never exceed hi.
func New(lo, hi time.Duration) *Backoff {
	return &Backoff{min: lo, max: hi}
}

// Next returns the delay before the next attempt: a random duration in
// [d/2, d] where d doubles from the floor at each call up to the ceiling.
func (b *Backoff) Next() time.Duration {
	d := b.min << min(b.attempt, 30)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.attempt++
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter, not security
}

// Reset starts over from the floor, after a success.
func (b *Backoff) Reset() { b.attempt = 0 }
