package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/backoff"
)

// Registry timing.
const (
	// purgeInterval is how often expired rows are deleted (Kong: 300 s).
	purgeInterval = 5 * time.Minute
	// registryWriters bounds the concurrent row writes.
	registryWriters = 4
	// registryInterval spaces write rounds: rows posted meanwhile coalesce
	// (latest wins per data plane), so a thousand data planes acknowledging
	// a burst of revisions cost one row write each per interval, not one
	// per revision, and the registry never competes with the pushes for
	// Postgres.
	registryInterval = time.Second
)

// registry writes data planes' rows in clustering_data_planes without ever
// blocking a session: sessions post the newest row of their data plane,
// and one goroutine writes what is pending. Per node id only the newest row
// is kept (latest wins), so the pending set is bounded by the number of
// data planes. Writes that fail (Postgres down) stay pending and are
// retried with backoff.
type registry struct {
	store      *store.Store
	purgeDelay time.Duration
	log        *slog.Logger

	mu      sync.Mutex
	pending map[string]*pendingRow // node id → what to write
	latest  map[string]uint64      // node id → newest session sequence on this hub
	wake    chan struct{}          // one slot
	failing bool                   // the last write failed (log once per outage)
}

type pendingRow struct {
	seq        uint64
	row        *store.DataPlane // nil: only the disconnect is pending
	disconnect *disconnect
}

type disconnect struct {
	sessionID, lastError string
}

func newRegistry(st *store.Store, purgeDelay time.Duration, log *slog.Logger) *registry {
	return &registry{
		store: st, purgeDelay: purgeDelay, log: log,
		pending: map[string]*pendingRow{},
		latest:  map[string]uint64{},
		wake:    make(chan struct{}, 1),
	}
}

// update posts a data plane's row from session seq. A row from a session
// older than the newest one of that node on this hub is dropped.
func (r *registry) update(seq uint64, row store.DataPlane) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.latest[row.ID] {
		return
	}
	r.latest[row.ID] = seq
	p := r.pending[row.ID]
	if p == nil || p.seq < seq {
		p = &pendingRow{seq: seq}
		r.pending[row.ID] = p
	}
	p.row = &row
	r.signal()
}

// disconnected posts the end of session seq: its row is marked
// disconnected unless the node has reconnected since (here or to another
// hub: the store checks the session id).
func (r *registry) disconnected(seq uint64, nodeID, sessionID, lastError string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.latest[nodeID] {
		return
	}
	p := r.pending[nodeID]
	if p == nil || p.seq < seq {
		p = &pendingRow{seq: seq}
		r.pending[nodeID] = p
	}
	p.disconnect = &disconnect{sessionID: sessionID, lastError: lastError}
	r.signal()
}

func (r *registry) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run writes pending rows and purges expired ones until ctx is done.
func (r *registry) run(ctx context.Context) {
	purge := time.NewTicker(purgeInterval)
	defer purge.Stop()
	retry := backoff.New(200*time.Millisecond, 10*time.Second)
	r.purge(ctx)
	for {
		// A failing database is retried after the backoff, not at the
		// next wake-up; otherwise rounds are at least registryInterval
		// apart.
		pause := registryInterval
		if !r.write(ctx) {
			pause = max(pause, retry.Next())
		} else {
			retry.Reset()
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-purge.C:
			r.purge(ctx)
		}
	}
}

// flush writes what is pending, once, until ctx is done (shutdown).
func (r *registry) flush(ctx context.Context) { r.write(ctx) }

// write writes every pending row; it reports whether all writes succeeded.
func (r *registry) write(ctx context.Context) bool {
	r.mu.Lock()
	batch := r.pending
	r.pending = map[string]*pendingRow{}
	r.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, registryWriters)
		failMu sync.Mutex
		failed = map[string]*pendingRow{}
		first  error
	)
	for id, p := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.writeOne(ctx, id, p); err != nil {
				failMu.Lock()
				failed[id] = p
				if first == nil {
					first = err
				}
				failMu.Unlock()
			}
		})
	}
	wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	for id, p := range failed {
		if newer := r.pending[id]; newer == nil {
			r.pending[id] = p
		} else if newer.seq == p.seq && newer.row == nil {
			// Only a disconnect came since: keep the failed row before it.
			newer.row = p.row
		}
	}
	switch {
	case first != nil && !r.failing:
		r.failing = true
		r.log.Warn("cannot write the data-plane registry; retrying", "error", first, "pending", len(r.pending))
	case first == nil && r.failing:
		r.failing = false
		r.log.Info("writing the data-plane registry again")
	}
	return first == nil
}

func (r *registry) writeOne(ctx context.Context, id string, p *pendingRow) error {
	if p.row != nil {
		if err := r.store.UpsertDataPlane(ctx, *p.row, r.purgeDelay); err != nil {
			return err
		}
		p.row = nil
	}
	if p.disconnect != nil {
		if err := r.store.MarkDataPlaneDisconnected(ctx, id, p.disconnect.sessionID, p.disconnect.lastError); err != nil {
			return err
		}
		r.mu.Lock()
		if r.latest[id] == p.seq {
			delete(r.latest, id)
		}
		r.mu.Unlock()
	}
	return nil
}

func (r *registry) purge(ctx context.Context) {
	n, err := r.store.PurgeDataPlanes(ctx)
	if err != nil {
		r.log.Debug("cannot purge expired data planes", "error", err)
		return
	}
	if n > 0 {
		r.log.Info("purged expired data planes", "rows", n)
	}
}
