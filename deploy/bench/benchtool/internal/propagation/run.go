// Package propagation measures how a change made through the Admin API
// reaches data planes, with the real binaries: admin-api and sync-hub on
// a database of their own, real data-plane processes (1, then 10) and a
// fleet of simulated ones (100), for configurations of several sizes. It
// times a one-entity change (a route added) and a full snapshot (the whole
// configuration replaced through POST /config, which sync-hub sends as a
// snapshot), from the Admin API's response to the last data plane serving
// it; it also records the bytes sent per data plane, the data planes'
// resident memory, their first sync, and a cold start from the cache.
package propagation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"gatehouse.dev/benchtool/internal/gen"
	"gatehouse.dev/benchtool/internal/stats"
)

// Options configures a run.
type Options struct {
	// Bin holds admin-api, sync-hub and dataplane; Dir is scratch space
	// (logs, prefixes, the cluster certificate).
	Bin, Dir string
	// PGURL is the Postgres server (its database part is replaced by one
	// created per size and dropped after).
	PGURL string
	// Sizes are the configuration sizes, in entities.
	Sizes []int
	// RealFleets are the numbers of real data planes, ascending (each
	// adds processes to the previous); SimFleet the simulated fleet's size
	// (0: none).
	RealFleets []int
	SimFleet   int
	// Deltas and Snapshots are how many of each are timed per fleet;
	// ColdStarts how many restarts from the cache are timed per size.
	Deltas, Snapshots, ColdStarts int
	// Timeout bounds each wait.
	Timeout time.Duration
	// Progress receives a line per step.
	Progress io.Writer
}

// Record is one measurement, written as a JSON line.
type Record struct {
	// Kind is post_config (the Admin API's time to replace the whole
	// configuration), initial_sync (a new data plane's start to serving
	// its first snapshot), memory (a data plane's resident memory once
	// synced), cold_start (a restart from the cache to ready), delta or
	// snapshot (the Admin API's response to every data plane serving).
	Kind string `json:"kind"`
	// Entities is the size asked for; Held how many the configuration has.
	Entities int  `json:"entities"`
	Held     int  `json:"held,omitempty"`
	DPs      int  `json:"dps,omitempty"`
	Sim      bool `json:"sim,omitempty"`
	Rep      int  `json:"rep"`
	// Ms is a single duration; AllMs the time to the last data plane,
	// MedianMs to the median one; ApplyMs the median of the data planes'
	// own apply time (frame received to runtime swapped, from their logs).
	Ms       float64 `json:"ms,omitempty"`
	AllMs    float64 `json:"all_ms,omitempty"`
	MedianMs float64 `json:"median_ms,omitempty"`
	ApplyMs  float64 `json:"apply_ms,omitempty"`
	// BytesPerDP is what sync-hub sent per data plane for the change (its
	// sent_bytes_total counter of the message type); Type that type.
	BytesPerDP float64 `json:"bytes_per_dp,omitempty"`
	Type       string  `json:"type,omitempty"`
	RSSMB      float64 `json:"rss_mb,omitempty"`
}

// Run measures every size in turn and emits records as they are made.
func Run(ctx context.Context, o Options, emit func(Record)) error {
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	upstream, stop, err := startUpstream(ctx)
	if err != nil {
		return err
	}
	defer stop()
	for _, size := range o.Sizes {
		r := &runner{o: o, size: size, upstream: upstream, emit: emit, client: &http.Client{Timeout: 10 * time.Second}}
		if err := r.run(ctx); err != nil {
			return fmt.Errorf("%d entities: %w", size, err)
		}
	}
	return nil
}

// WriteJSON returns an emit function writing JSON lines to w.
func WriteJSON(w io.Writer) func(Record) {
	enc := json.NewEncoder(w)
	return func(r Record) { _ = enc.Encode(r) }
}

// startUpstream serves 200 "ok" on a free port.
func startUpstream(ctx context.Context) (string, func(), error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("upstream: %w", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// runner measures one size.
type runner struct {
	o        Options
	size     int
	held     int
	probe    string // the snapshot probe path the configuration has
	upstream string
	emit     func(Record)
	client   *http.Client
	cp       *controlPlane
	dps      []*dataPlane
}

// progress writes a progress line. It is best effort: a progress line that
// cannot be written (stderr closed) is no reason to stop the benchmark.
func (r *runner) progress(format string, args ...any) {
	_, _ = fmt.Fprintf(r.o.Progress, "propagation %d entities: "+format+"\n", append([]any{r.size}, args...)...)
}

func (r *runner) run(ctx context.Context) error {
	cp, err := startControlPlane(ctx, r.o, fmt.Sprintf("gatehouse_bench_%d_%d", os.Getpid(), r.size))
	if err != nil {
		return err
	}
	r.cp = cp
	defer func() {
		for _, dp := range r.dps {
			if dp.proc != nil {
				_ = dp.proc.stop(10 * time.Second)
			}
		}
		cp.stop(context.WithoutCancel(ctx))
	}()
	if _, err := r.replace(ctx, "/snap-0", 0); err != nil {
		return err
	}
	r.progress("configuration loaded (%d entities)", r.held)
	for _, n := range r.o.RealFleets {
		if err := r.grow(ctx, n); err != nil {
			return err
		}
		if err := r.measureReal(ctx, n); err != nil {
			return err
		}
	}
	if len(r.dps) > 0 {
		if err := r.coldStarts(ctx); err != nil {
			return err
		}
	}
	if r.o.SimFleet > 0 {
		return r.measureSim(ctx)
	}
	return nil
}

// replace posts the whole configuration with a probe route at probe, and
// records how long the Admin API took.
func (r *runner) replace(ctx context.Context, probe string, rep int) (time.Time, error) {
	body, held, err := gen.Sized(r.size, r.upstream, probe)
	if err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	if err := r.cp.adminCall(ctx, http.MethodPost, "/config", body, http.StatusCreated); err != nil {
		return time.Time{}, err
	}
	answered := time.Now()
	r.held, r.probe = held, probe
	r.emit(Record{Kind: "post_config", Entities: r.size, Held: held, Rep: rep, Ms: stats.Ms(answered.Sub(start))})
	return answered, nil
}

// grow starts data planes until there are n, and records their first sync
// and memory.
func (r *runner) grow(ctx context.Context, n int) error {
	started := map[*dataPlane]time.Time{}
	for i := len(r.dps); i < n; i++ {
		dp, err := newDataPlane(ctx, r.cp, r.o, i+1)
		if err != nil {
			return err
		}
		started[dp] = time.Now()
		if err := dp.start(); err != nil {
			return err
		}
		r.dps = append(r.dps, dp)
	}
	for dp, at := range started {
		a, err := dp.waitApplied(ctx, 0, r.o.Timeout)
		if err != nil {
			return err
		}
		r.emit(Record{Kind: "initial_sync", Entities: r.size, Held: r.held, DPs: n, Ms: stats.Ms(a.at.Sub(at)), ApplyMs: stats.Ms(a.apply)})
	}
	for _, dp := range r.dps {
		if err := dp.serves(ctx, r.client, r.probe, http.StatusOK); err != nil {
			return err
		}
		rss, err := dp.proc.rssMB()
		if err != nil {
			return err
		}
		r.emit(Record{Kind: "memory", Entities: r.size, Held: r.held, DPs: n, RSSMB: rss})
	}
	r.progress("%d data planes synced", n)
	return nil
}

// measureReal times deltas and snapshots on the real data planes.
func (r *runner) measureReal(ctx context.Context, n int) error {
	for k := 1; k <= r.o.Deltas+r.o.Snapshots; k++ {
		kind, msgType := "delta", "delta"
		if k > r.o.Deltas {
			kind, msgType = "snapshot", "snapshot"
		}
		before := make([]int64, len(r.dps))
		for i, dp := range r.dps {
			before[i] = dp.latest()
		}
		bytes0, msgs0, err := r.cp.sent(ctx)
		if err != nil {
			return err
		}
		path, answered, err := r.change(ctx, kind, n, k)
		if err != nil {
			return err
		}
		var took, apply []float64
		for i, dp := range r.dps {
			a, err := dp.waitApplied(ctx, before[i], r.o.Timeout)
			if err != nil {
				return err
			}
			took = append(took, stats.Ms(a.at.Sub(answered)))
			apply = append(apply, stats.Ms(a.apply))
		}
		for _, dp := range r.dps {
			if err := dp.serves(ctx, r.client, path, http.StatusOK); err != nil {
				return err
			}
		}
		bytes1, msgs1, err := r.sentAtLeast(ctx, msgType, msgs0, n)
		if err != nil {
			return err
		}
		if got := msgs1[msgType] - msgs0[msgType]; got < float64(n) {
			return fmt.Errorf("%s %d: sync-hub sent %v %s messages to %d data planes", kind, k, got, msgType, n)
		}
		r.emit(Record{
			Kind: kind, Entities: r.size, Held: r.held, DPs: n, Rep: k,
			AllMs: slices.Max(took), MedianMs: stats.Summarize(took).Median, ApplyMs: stats.Summarize(apply).Median,
			BytesPerDP: (bytes1[msgType] - bytes0[msgType]) / float64(n), Type: msgType,
		})
	}
	r.progress("%d real data planes: %d deltas, %d snapshots timed", n, r.o.Deltas, r.o.Snapshots)
	return nil
}

// change makes the k-th change of a kind for a fleet of n and returns
// the path it makes served and when the Admin API answered.
func (r *runner) change(ctx context.Context, kind string, n, k int) (string, time.Time, error) {
	if kind == "snapshot" {
		path := fmt.Sprintf("/snap-%d-%d", n, k)
		answered, err := r.replace(ctx, path, k)
		return path, answered, err
	}
	path := fmt.Sprintf("/probe-%d-%d", n, k)
	body, err := json.Marshal(map[string]any{"name": fmt.Sprintf("probe-%d-%d", n, k), "paths": []string{path}})
	if err != nil {
		return "", time.Time{}, err
	}
	if err := r.cp.adminCall(ctx, http.MethodPost, "/services/"+gen.ProbeService+"/routes", body, http.StatusCreated); err != nil {
		return "", time.Time{}, err
	}
	return path, time.Now(), nil
}

// coldStarts restarts the first data plane from its cache and times it to
// ready.
func (r *runner) coldStarts(ctx context.Context) error {
	dp := r.dps[0]
	for k := 1; k <= r.o.ColdStarts; k++ {
		if err := dp.proc.stop(30 * time.Second); err != nil {
			return err
		}
		start := time.Now()
		if err := dp.start(); err != nil {
			return err
		}
		if err := poll(ctx, 2*time.Millisecond, r.o.Timeout, func() error {
			if dp.proc.exited() {
				return dp.proc.exitError()
			}
			if !dp.ready(ctx, r.client) {
				return errors.New(dp.name + " is not ready")
			}
			return nil
		}); err != nil {
			return err
		}
		took := time.Since(start)
		if !dp.usedCache() {
			return fmt.Errorf("%s did not start from its cache", dp.name)
		}
		rss, err := dp.proc.rssMB()
		if err != nil {
			return err
		}
		r.emit(Record{Kind: "cold_start", Entities: r.size, Held: r.held, Rep: k, Ms: stats.Ms(took), RSSMB: rss})
	}
	r.progress("%d cold starts timed", r.o.ColdStarts)
	return nil
}

// sentAtLeast reads sync-hub's sent counters until those of msgType have
// grown by n since before, for at most a second: a data plane can answer
// a message before the writer that sent it has counted it.
func (r *runner) sentAtLeast(ctx context.Context, msgType string, before map[string]float64, n int) (bytes, msgs map[string]float64, err error) {
	deadline := time.Now().Add(time.Second)
	for {
		bytes, msgs, err = r.cp.sent(ctx)
		if err != nil || msgs[msgType]-before[msgType] >= float64(n) || time.Now().After(deadline) {
			return bytes, msgs, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// measureSim stops the real data planes and times the simulated fleet.
func (r *runner) measureSim(ctx context.Context) error {
	var rev int64
	var hash string
	if len(r.dps) > 0 {
		var err error
		if rev, hash, err = r.dps[0].held(ctx, r.client); err != nil {
			return err
		}
		for _, dp := range r.dps {
			_ = dp.proc.stop(10 * time.Second)
		}
		r.dps = nil
	}
	n := r.o.SimFleet
	f, err := startFleet(ctx, r.cp, n, rev, hash)
	if err != nil {
		return err
	}
	defer f.stop()
	if err := f.waitGreeted(ctx, r.o.Timeout); err != nil {
		return err
	}
	last := rev
	for k := 1; k <= r.o.Deltas+r.o.Snapshots; k++ {
		kind := "delta"
		if k > r.o.Deltas {
			kind = "snapshot"
		}
		bytes0, msgs0, err := r.cp.sent(ctx)
		if err != nil {
			return err
		}
		_, answered, err := r.change(ctx, kind, n, k)
		if err != nil {
			return err
		}
		acked, _, err := f.waitAll(ctx, last, r.o.Timeout)
		if err != nil {
			return err
		}
		last = f.latest()
		var took []float64
		for _, at := range acked {
			took = append(took, stats.Ms(at.Sub(answered)))
		}
		bytes1, msgs1, err := r.sentAtLeast(ctx, kind, msgs0, n)
		if err != nil {
			return err
		}
		if got := msgs1[kind] - msgs0[kind]; got < float64(n) {
			return fmt.Errorf("%s %d: sync-hub sent %v %s messages to %d simulated data planes", kind, k, got, kind, n)
		}
		r.emit(Record{
			Kind: kind, Entities: r.size, Held: r.held, DPs: n, Sim: true, Rep: k,
			AllMs: slices.Max(took), MedianMs: stats.Summarize(took).Median,
			BytesPerDP: (bytes1[kind] - bytes0[kind]) / float64(n), Type: kind,
		})
	}
	r.progress("%d simulated data planes: %d deltas, %d snapshots timed", n, r.o.Deltas, r.o.Snapshots)
	return nil
}
