package e2etest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often Eventually tries again. Propagation is
// measured with it too, so it is short; the conditions are cheap HTTP
// calls on loopback.
const pollInterval = 10 * time.Millisecond

// Eventually calls cond until it returns nil, and fails tb with what and
// cond's last error if that does not happen within timeout (scaled by
// GATEHOUSE_E2E_TIMEOUT_SCALE). It returns how long it took.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) time.Duration {
	tb.Helper()
	took, err := Within(context.Background(), timeout, cond)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return took
}

// Within calls cond every few milliseconds until it returns nil, ctx is
// done, or timeout (scaled) passes; then it returns cond's last error,
// wrapped with the time waited. It returns how long it took.
func Within(ctx context.Context, timeout time.Duration, cond func() error) (time.Duration, error) {
	timeout = Scaled(timeout)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return time.Since(start), fmt.Errorf("not within %s: %w", timeout, err)
			}
			return time.Since(start), fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Never calls cond for the whole of d and fails tb with what if it ever
// returns an error: a promise that holds throughout a period (a data plane
// keeps its configuration while the control plane is down).
func Never(tb testing.TB, d time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
		<-tick.C
	}
}

// WaitUntil blocks until the wall clock reaches t (a timer, not a guess):
// for instance until the next second, so a later timestamp in whole
// seconds is guaranteed to be greater.
func WaitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		timer := time.NewTimer(d)
		<-timer.C
	}
}

// measureInterval is how often Measure polls: fine enough to time a push
// that takes milliseconds.
const measureInterval = 2 * time.Millisecond

// Measure polls every cond at once, each on its own goroutine every 2 ms,
// until each has returned nil, and returns how long after since each
// first did; it fails tb with what and the errors of those that did not
// within timeout (scaled). Use it to time a change reaching several data
// planes: since is when the Admin API answered.
func Measure(tb testing.TB, since time.Time, timeout time.Duration, what string, conds ...func() error) []time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Scaled(timeout))
	defer cancel()
	took := make([]time.Duration, len(conds))
	errs := make([]error, len(conds))
	done := make(chan struct{})
	remaining := len(conds)
	results := make(chan int, len(conds))
	for i, cond := range conds {
		go func() {
			tick := time.NewTicker(measureInterval)
			defer tick.Stop()
			for {
				err := cond()
				if err == nil {
					took[i] = time.Since(since)
					results <- i
					return
				}
				errs[i] = err
				select {
				case <-ctx.Done():
					results <- i
					return
				case <-tick.C:
				}
			}
		}()
	}
	go func() {
		for remaining > 0 {
			<-results
			remaining--
		}
		close(done)
	}()
	<-done
	var failed []error
	for i := range conds {
		if took[i] == 0 {
			failed = append(failed, fmt.Errorf("#%d: %w", i+1, errs[i]))
		}
	}
	if len(failed) > 0 {
		tb.Fatalf("%s: not within %s: %v", what, Scaled(timeout), errors.Join(failed...))
	}
	return took
}
