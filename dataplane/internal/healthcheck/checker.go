package healthcheck

import (
	"context"
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"
)

// Plan is what an active checker probes in one round: the configuration,
// the addresses, and the TLS settings of https probes.
type Plan struct {
	// Config is the upstream's health-check configuration; nil stops
	// probing until the next Reset.
	Config *Config

	// Targets are the addresses to consider (weight-0 addresses left
	// out). Each round probes those whose state matches it.
	Targets []Target

	// TLS is the base client configuration of https probes (roots, client
	// certificate); nil for the defaults. It is cloned, never modified.
	TLS *tls.Config
}

// Checker runs the active health checks of one upstream: every
// Active.HealthyInterval it probes the Healthy and MostlyHealthy
// addresses, and every Active.UnhealthyInterval the Unhealthy and
// MostlyUnhealthy ones, Active.Concurrency probes at a time, as
// lua-resty-healthcheck does. The first round of each kind runs one
// interval after Run starts (or after a Reset). A round's plan is read when
// it starts, so configuration and address changes apply from the next
// round without a restart.
type Checker struct {
	plan   func() Plan
	onFlip func(Target, Status)
	reset  [2]chan struct{}
}

// NewChecker returns a checker that reads its plan from plan at each
// round and calls onFlip (if not nil) whenever a probe changes an
// address's availability, with the new status. Both are called from the
// checker's goroutines.
func NewChecker(plan func() Plan, onFlip func(Target, Status)) *Checker {
	return &Checker{
		plan:   plan,
		onFlip: onFlip,
		reset:  [2]chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)},
	}
}

// Run probes until ctx ends. It owns every goroutine it starts and returns
// once they have all stopped. Run must be called at most once.
func (c *Checker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.loop(ctx, true) })
	wg.Go(func() { c.loop(ctx, false) })
	wg.Wait()
}

// Reset makes both loops read the plan again now and restart their
// interval: call it when the intervals changed. It never blocks.
func (c *Checker) Reset() {
	for _, ch := range c.reset {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// loop runs the rounds of one kind: healthy addresses, or unhealthy ones.
func (c *Checker) loop(ctx context.Context, healthy bool) {
	reset := c.reset[0]
	if !healthy {
		reset = c.reset[1]
	}
	for {
		d := interval(c.plan().Config, healthy)
		if d <= 0 {
			select {
			case <-ctx.Done():
				return
			case <-reset:
				continue
			}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-reset:
			t.Stop()
			continue
		case <-t.C:
		}
		p := c.plan()
		if interval(p.Config, healthy) > 0 {
			c.round(ctx, p, healthy)
		}
	}
}

// interval is the probing interval of a round kind, 0 when it does not
// run.
func interval(cfg *Config, healthy bool) time.Duration {
	switch {
	case cfg == nil || !cfg.Probing():
		return 0
	case healthy:
		return cfg.Active.HealthyInterval
	default:
		return cfg.Active.UnhealthyInterval
	}
}

// round probes the plan's addresses whose availability matches healthy,
// Concurrency at a time, and records the results.
func (c *Checker) round(ctx context.Context, p Plan, healthy bool) {
	list := make([]Target, 0, len(p.Targets))
	for _, t := range p.Targets {
		if t.State.Available() == healthy {
			list = append(list, t)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(p.Config.Active.Concurrency, len(list)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(list) {
					return
				}
				c.check(ctx, p, list[i])
			}
		})
	}
	wg.Wait()
}

// check probes one address and records the result.
func (c *Checker) check(ctx context.Context, p Plan, t Target) {
	r, err := Probe(ctx, &p.Config.Active, t, p.TLS)
	if err != nil {
		return
	}
	st, flipped := t.State.Record(&p.Config.Active.Checks, r)
	if flipped && c.onFlip != nil {
		c.onFlip(t, st)
	}
}
