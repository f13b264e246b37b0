package e2etest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one request a Load sends over and over.
type Target struct {
	// DP is the data plane to send it to, Path the request path.
	DP   *DataPlane
	Path string
	// Headers are (key, value) pairs.
	Headers []string
	// Check accepts an answer; nil means "status 200".
	Check func(*Response) error
}

// String names the target in failure samples.
func (t Target) String() string { return t.DP.Name() + " GET " + t.Path }

// LoadStats is what a Load counted.
type LoadStats struct {
	// Requests is how many requests were sent, Failures how many got an
	// error or an answer the target's check refused.
	Requests, Failures int64
	// Samples are the first failures, described.
	Samples []string
	// Took is how long the load ran.
	Took time.Duration
}

// Rate is requests per second.
func (s LoadStats) Rate() float64 {
	if s.Took <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Took.Seconds()
}

// String summarises the counts for the report.
func (s LoadStats) String() string {
	return fmt.Sprintf("%d requests in %s (%.0f/s), %d failed", s.Requests, s.Took.Round(time.Millisecond), s.Rate(), s.Failures)
}

// Load is steady traffic: one worker per target, each sending its request
// once per interval (a paced loop, so the load does not starve the
// processes under test on a small machine). Its methods are safe for
// concurrent use.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	requests, failures atomic.Int64
	mu                 sync.Mutex
	samples            []string
	stats              *LoadStats
}

// maxSamples is how many failures a Load describes.
const maxSamples = 10

// StartLoad starts sending requests to every target, each once per
// interval, until Stop.
func StartLoad(targets []Target, interval time.Duration) *Load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Load{cancel: cancel, start: time.Now()}
	for _, t := range targets {
		l.wg.Go(func() { l.run(ctx, t, interval) })
	}
	return l
}

func (l *Load) run(ctx context.Context, t Target, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := t.DP.Get(rctx, t.Path, t.Headers...)
		cancel()
		if ctx.Err() != nil {
			return // stopped while the request was in flight: not counted
		}
		l.requests.Add(1)
		if err == nil {
			if t.Check != nil {
				err = t.Check(resp)
			} else if resp.Status != 200 {
				err = fmt.Errorf("status %d: %s", resp.Status, truncate(string(resp.Body), 120))
			}
		}
		if err != nil {
			l.failures.Add(1)
			l.mu.Lock()
			if len(l.samples) < maxSamples {
				l.samples = append(l.samples, fmt.Sprintf("%s at %s: %v", t, time.Now().Format("15:04:05.000"), err))
			}
			l.mu.Unlock()
		}
	}
}

// Snapshot returns the counts so far, without stopping.
func (l *Load) Snapshot() LoadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LoadStats{
		Requests: l.requests.Load(), Failures: l.failures.Load(),
		Samples: append([]string(nil), l.samples...), Took: time.Since(l.start),
	}
}

// Stop stops the load and returns its counts; later calls return the same.
func (l *Load) Stop() LoadStats {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	if l.stats == nil {
		s := LoadStats{
			Requests: l.requests.Load(), Failures: l.failures.Load(),
			Samples: append([]string(nil), l.samples...), Took: time.Since(l.start),
		}
		l.stats = &s
	}
	defer l.mu.Unlock()
	return *l.stats
}
