package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse.dev/benchtool/internal/stats"
)

// Target is what is measured: an address, the Host header to send, and a
// rotation of requests (each worker takes the next one).
type Target struct {
	Addr     string
	Host     string
	Requests []Request
}

// Result is the outcome of a measurement.
type Result struct {
	// OK counts 2xx responses; Errors everything else (other statuses and
	// transport failures, which are not in Latencies).
	OK, Errors int
	// Elapsed is the time from the first request sent to the last answer.
	Elapsed time.Duration
	// Latencies of the 2xx responses, sorted.
	Latencies []time.Duration
	// Lag is, at a fixed rate, the 99th percentile of how late requests
	// were dispatched against their schedule (Go timers on Linux wake
	// with about a millisecond of slack, so requests leave in small
	// bursts). Latency is measured from the dispatch, so lag is not in it.
	Lag time.Duration
}

// Line formats the result as space-separated key=value pairs, latencies in
// milliseconds: ok errors rate p50 p90 p99 p999 max mean lag_p99.
func (r Result) Line() string {
	var sum time.Duration
	for _, l := range r.Latencies {
		sum += l
	}
	mean := time.Duration(0)
	if len(r.Latencies) > 0 {
		mean = sum / time.Duration(len(r.Latencies))
	}
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.OK) / r.Elapsed.Seconds()
	}
	p := func(q float64) float64 { return stats.Ms(stats.Percentile(r.Latencies, q)) }
	return fmt.Sprintf("ok=%d errors=%d rate=%.1f p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f mean=%.3f lag_p99=%.3f",
		r.OK, r.Errors, rate, p(50), p(90), p(99), p(99.9), p(100), stats.Ms(mean), stats.Ms(r.Lag))
}

// encoded returns the target's requests on the wire.
func (t Target) encoded() [][]byte {
	host := t.Host
	if host == "" {
		host = t.Addr
	}
	reqs := t.Requests
	if len(reqs) == 0 {
		reqs = []Request{{Path: "/"}}
	}
	out := make([][]byte, len(reqs))
	for i, r := range reqs {
		out[i] = r.encode(host)
	}
	return out
}

// client is one connection of a measurement, redialled when the server
// closes it.
type client struct {
	t    Target
	c    *conn
	reqs [][]byte
}

// send sends the i-th request of the rotation and reports whether it was
// answered with a 2xx.
func (cl *client) send(ctx context.Context, i int) (bool, error) {
	if cl.c == nil {
		c, err := dial(ctx, cl.t.Addr)
		if err != nil {
			return false, err
		}
		cl.c = c
	}
	status, err := cl.c.do(cl.reqs[i%len(cl.reqs)])
	if err != nil {
		cl.c.close()
		cl.c = nil
		if !errors.Is(err, errClosed) {
			return false, err
		}
	}
	return status/100 == 2, nil
}

func (cl *client) close() {
	if cl.c != nil {
		cl.c.close()
	}
}

// Sequential sends warmup requests, then n more one after the other on one
// keep-alive connection, and returns the latencies of the n.
func Sequential(ctx context.Context, t Target, n, warmup int) (Result, error) {
	cl := &client{t: t, reqs: t.encoded()}
	defer cl.close()
	for i := range warmup {
		if _, err := cl.send(ctx, i); err != nil {
			return Result{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	res := Result{Latencies: make([]time.Duration, 0, n)}
	start := time.Now()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t0 := time.Now()
		ok, err := cl.send(ctx, warmup+i)
		d := time.Since(t0)
		switch {
		case err != nil:
			return res, err
		case ok:
			res.OK++
			res.Latencies = append(res.Latencies, d)
		default:
			res.Errors++
		}
	}
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res, nil
}

// Rate sends requests at a fixed rate for d, open loop: a request leaves at
// its scheduled time whatever the answers to earlier ones, on the first of
// conns keep-alive connections that is free. A request waiting for a free
// connection is late, and that wait is part of its latency (no
// coordinated omission while conns is enough for the rate).
func Rate(ctx context.Context, t Target, rate float64, d time.Duration, conns int) (Result, error) {
	if rate <= 0 || d <= 0 || conns <= 0 {
		return Result{}, errors.New("rate, duration and connections must be positive")
	}
	total := int(rate * d.Seconds())
	jobs := make(chan time.Time, total)
	reqs := t.encoded()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		res     = Result{Latencies: make([]time.Duration, 0, total)}
		lastEnd time.Time
		firstEr error
	)
	// Dial every connection first, so that dialling is not measured.
	clients := make([]*client, conns)
	for i := range clients {
		c, err := dial(ctx, t.Addr)
		if err != nil {
			for _, cl := range clients[:i] {
				cl.close()
			}
			return Result{}, err
		}
		clients[i] = &client{t: t, c: c, reqs: reqs}
	}
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() {
			defer cl.close()
			var lat []time.Duration
			ok, bad := 0, 0
			for sent := range jobs {
				good, err := cl.send(ctx, int(next.Add(1)))
				done := time.Now()
				switch {
				case good:
					ok++
					lat = append(lat, done.Sub(sent))
				default:
					bad++
				}
				if err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.OK += ok
			res.Errors += bad
			res.Latencies = append(res.Latencies, lat...)
			if now := time.Now(); now.After(lastEnd) {
				lastEnd = now
			}
			mu.Unlock()
		})
	}

	lags := make([]time.Duration, 0, total)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < total; {
		select {
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return res, ctx.Err()
		case <-timer.C:
		}
		now := time.Now()
		due := min(total, int(now.Sub(start)/interval)+1)
		for ; i < due; i++ {
			lags = append(lags, now.Sub(start.Add(time.Duration(i)*interval)))
			jobs <- now
		}
		timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = lastEnd.Sub(start)
	slices.Sort(res.Latencies)
	slices.Sort(lags)
	res.Lag = stats.Percentile(lags, 99)
	if res.OK == 0 && firstEr != nil {
		return res, firstEr
	}
	return res, nil
}
