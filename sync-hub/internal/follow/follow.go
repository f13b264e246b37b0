// Package follow keeps sync-hub's in-memory configuration in step with
// Postgres. A Follower listens for revision notifications on a dedicated
// connection and polls the latest revision periodically (a notification is
// only a hint: the database is the truth); bursts coalesce in a one-slot
// dirty channel. On news it reads the change log after its revision,
// advances a configset.Set, and publishes the new State (revision, set,
// hash, and a bounded history of recent revisions' changes) through an
// atomic pointer, closing the previous State's Superseded channel to wake
// every session at once. It loads a snapshot at start-up, when the change
// log was trimmed past its revision, and when the database went backwards.
// Postgres outages are retried with backoff; the Follower never gives up.
package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/sync-hub/internal/backoff"
)

// Defaults of Options.
const (
	DefaultPollInterval     = 5 * time.Second
	DefaultHistoryRevisions = 1000
	DefaultHistoryChanges   = 100_000
	// readBatch is how many revisions one change-log read takes.
	readBatch = 500
)

// Source is what a Follower reads: *store.Store implements it.
type Source interface {
	Latest(ctx context.Context) (int64, error)
	Changes(ctx context.Context, after int64, limit int) ([]store.Revision, []store.Change, error)
	Snapshot(ctx context.Context) (store.Snapshot, error)
	Listen(ctx context.Context, listening func(), fn func(rev int64)) error
}

// Options tunes a Follower.
type Options struct {
	// PollInterval is how often the latest revision is read (default 5 s).
	PollInterval time.Duration
	// HistoryRevisions and HistoryChanges bound the in-memory history: the
	// oldest revisions are dropped beyond either (defaults 1000 revisions,
	// 100 000 changes). A data plane further behind is served from the
	// change log in Postgres, or a snapshot.
	HistoryRevisions int
	HistoryChanges   int
	// Logger receives the follower's log lines (default slog.Default()).
	Logger *slog.Logger
	// Tracer makes the ingest spans (default: the global provider's).
	Tracer trace.Tracer
}

// Stats are counters for metrics.
type Stats struct {
	// Notifications is the number of revision notifications received.
	Notifications int64
	// Polls is the number of reads of the latest revision (timer, wake-up
	// and retries alike).
	Polls int64
	// Snapshots is the number of full loads from Postgres.
	Snapshots int64
	// Revisions is the number of revisions ingested from the change log.
	Revisions int64
}

// Health is the follower's view of Postgres.
type Health struct {
	// Reachable is whether the last read from Postgres succeeded.
	Reachable bool
	// Error is the last read's error, when it failed.
	Error string
	// Since is when Reachable last changed.
	Since time.Time
	// LastSync is when a read last succeeded.
	LastSync time.Time
}

// Follower follows the configuration in Postgres. Create it with New, run
// it with Run; its methods are safe for concurrent use.
type Follower struct {
	src  Source
	opts Options
	log  *slog.Logger

	cur   atomic.Pointer[State]
	ready chan struct{}
	once  sync.Once
	dirty chan struct{} // one slot: a pending "check now"
	// notified is set with a notification: the next check reads the change
	// log at once, without asking for the latest revision first.
	notified atomic.Bool
	health   atomic.Pointer[Health]

	notifications, polls, snapshots, revisions atomic.Int64

	// Owned by the Run goroutine.
	plugins        map[string]int // configured plugin name → instances
	historyChanges int
}

// New returns a Follower of src.
func New(src Source, opts Options) *Follower {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.HistoryRevisions <= 0 {
		opts.HistoryRevisions = DefaultHistoryRevisions
	}
	if opts.HistoryChanges <= 0 {
		opts.HistoryChanges = DefaultHistoryChanges
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Tracer == nil {
		opts.Tracer = otel.Tracer("gatehouse.dev/sync-hub/follow")
	}
	f := &Follower{
		src:   src,
		opts:  opts,
		log:   opts.Logger,
		ready: make(chan struct{}),
		dirty: make(chan struct{}, 1),
	}
	f.health.Store(&Health{Since: time.Now()})
	return f
}

// Current returns the newest State, or nil before the first load.
func (f *Follower) Current() *State { return f.cur.Load() }

// Ready is closed once the first State is published.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Health reports whether Postgres answered the last read.
func (f *Follower) Health() Health { return *f.health.Load() }

// Stats returns the counters.
func (f *Follower) Stats() Stats {
	return Stats{
		Notifications: f.notifications.Load(),
		Polls:         f.polls.Load(),
		Snapshots:     f.snapshots.Load(),
		Revisions:     f.revisions.Load(),
	}
}

// Kick asks for a check of the latest revision now. It never blocks; kicks
// while one is pending coalesce.
func (f *Follower) Kick() {
	select {
	case f.dirty <- struct{}{}:
	default:
	}
}

// Run follows Postgres until ctx is done, then returns ctx's error. Read
// failures are logged and retried with backoff; they never end Run.
func (f *Follower) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { f.listen(ctx) })

	poll := time.NewTicker(f.opts.PollInterval)
	defer poll.Stop()
	retry := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		var wait <-chan time.Time
		if err := f.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.failed(err)
			wait = time.After(retry.Next())
		} else {
			f.succeeded()
			retry.Reset()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.dirty:
		case <-poll.C:
		case <-wait:
		}
	}
}

// listen holds the LISTEN connection, reconnecting with backoff; every
// notification (and every reconnection, since notifications may have been
// lost meanwhile) kicks the main loop.
func (f *Follower) listen(ctx context.Context) {
	retry := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		start := time.Now()
		// A revision committed before LISTEN is in effect notifies nobody:
		// read the latest revision as soon as it is.
		err := f.src.Listen(ctx, f.Kick, func(int64) {
			f.notifications.Add(1)
			f.notified.Store(true)
			f.Kick()
		})
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			retry.Reset()
		}
		f.log.Debug("revision notifications interrupted; reconnecting", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry.Next()):
		}
		f.Kick()
	}
}

func (f *Follower) failed(err error) {
	h := f.health.Load()
	if h.Reachable || h.Error == "" {
		f.log.Warn("cannot read the configuration from Postgres; retrying", "error", err)
	}
	next := &Health{Reachable: false, Error: err.Error(), Since: h.Since, LastSync: h.LastSync}
	if h.Reachable {
		next.Since = time.Now()
	}
	f.health.Store(next)
}

func (f *Follower) succeeded() {
	h := f.health.Load()
	now := time.Now()
	next := &Health{Reachable: true, Since: h.Since, LastSync: now}
	if !h.Reachable {
		next.Since = now
		if h.Error != "" {
			f.log.Info("reading the configuration from Postgres again")
		}
	}
	f.health.Store(next)
}

// sync brings the State up to the latest revision.
func (f *Follower) sync(ctx context.Context) error {
	cur := f.cur.Load()
	if cur == nil {
		return f.loadSnapshot(ctx, "start-up")
	}
	// After a notification there is news: read it at once (one round trip
	// less). Otherwise compare the latest revision first, which also
	// notices a database that went backwards.
	if !f.notified.Swap(false) {
		f.polls.Add(1)
		latest, err := f.src.Latest(ctx)
		if err != nil {
			return err
		}
		f.succeeded()
		switch {
		case latest == cur.Revision:
			return nil
		case latest < cur.Revision:
			return f.loadSnapshot(ctx, fmt.Sprintf("the database is at revision %d, behind %d", latest, cur.Revision))
		}
	}
	for {
		revs, changes, err := f.src.Changes(ctx, cur.Revision, readBatch)
		if errors.Is(err, store.ErrLogTrimmed) {
			return f.loadSnapshot(ctx, "the change log no longer covers revision "+strconv.FormatInt(cur.Revision, 10))
		}
		if err != nil {
			return err
		}
		if len(revs) == 0 {
			return nil
		}
		cur = f.ingest(ctx, cur, revs, changes)
		if len(revs) < readBatch {
			return nil
		}
	}
}

// loadSnapshot replaces the State with a full read of the configuration;
// the history starts afresh at its revision.
func (f *Follower) loadSnapshot(ctx context.Context, why string) error {
	snap, err := f.src.Snapshot(ctx)
	if err != nil {
		return err
	}
	f.succeeded()
	set, err := configset.FromEntities(snap.Revision, snap.Entities)
	if err != nil {
		return fmt.Errorf("load snapshot at revision %d: %w", snap.Revision, err)
	}
	f.snapshots.Add(1)
	f.plugins = map[string]int{}
	set.Each("plugins", func(e map[string]any) { f.countPlugin(e, 1) })
	f.historyChanges = 0
	hash := set.Hash()
	f.publish(&State{
		Revision: snap.Revision,
		Set:      set,
		Hash:     hash,
		Trace:    snap.Trace,
		Plugins:  f.pluginNames(),
		base:     snap.Revision,
		baseHash: hash,
	})
	f.log.Info("loaded the configuration", "revision", snap.Revision, "entities", set.Len(), "config_hash", hash, "reason", why)
	return nil
}

// ingest applies revisions read from the change log to a copy of cur's set,
// publishes the result and returns it.
func (f *Follower) ingest(ctx context.Context, cur *State, revs []store.Revision, changes []store.Change) *State {
	set := cur.Set.Clone()
	set.Revision = cur.Revision
	history := cur.history
	byRev := groupByRevision(changes)
	for _, rv := range revs {
		pc := toProtocol(byRev[rv.Revision])
		_, span := f.opts.Tracer.Start(telemetry.Extract(ctx, rv.Trace), "sync-hub ingest revision",
			trace.WithAttributes(
				attribute.Int64("gatehouse.revision", rv.Revision),
				attribute.Int("gatehouse.changes", len(pc)),
			))
		for _, c := range pc {
			f.apply(set, c)
		}
		set.Revision = rv.Revision
		hash := set.Hash()
		span.SetAttributes(attribute.String("gatehouse.config_hash", hash))
		span.End()
		history = append(history, Revision{
			Revision: rv.Revision, Hash: hash, Changes: pc, Trace: rv.Trace, Committed: rv.CreatedAt,
		})
		f.historyChanges += len(pc)
		f.revisions.Add(1)
	}
	base, baseHash := cur.base, cur.baseHash
	for len(history) > 1 && (len(history) > f.opts.HistoryRevisions || f.historyChanges > f.opts.HistoryChanges) {
		base, baseHash = history[0].Revision, history[0].Hash
		f.historyChanges -= len(history[0].Changes)
		history = history[1:]
	}
	last := history[len(history)-1]
	next := &State{
		Revision:  last.Revision,
		Set:       set,
		Hash:      last.Hash,
		Trace:     last.Trace,
		Committed: last.Committed,
		Plugins:   f.pluginNames(),
		base:      base,
		baseHash:  baseHash,
		history:   history,
	}
	f.publish(next)
	f.log.Debug("advanced the configuration", "revision", next.Revision, "revisions", len(revs), "config_hash", next.Hash)
	return next
}

// apply applies one change, keeping the configured-plugin counts current.
// A change that cannot be applied (it cannot happen with entities the
// Admin API validated) is logged and skipped.
func (f *Follower) apply(set *configset.Set, c protocol.Change) {
	if c.Type == "plugins" {
		if old, ok := set.Get("plugins", c.ID); ok {
			f.countPlugin(old, -1)
		}
	}
	if err := set.Apply([]protocol.Change{c}); err != nil {
		f.log.Error("cannot apply a change-log entry; skipping it", "type", c.Type, "id", c.ID, "error", err)
		return
	}
	if c.Type == "plugins" && c.Op == protocol.OpUpsert {
		f.countPlugin(c.Entity, 1)
	}
}

func (f *Follower) countPlugin(e map[string]any, delta int) {
	name, _ := e["name"].(string)
	if name == "" {
		return
	}
	if f.plugins[name] += delta; f.plugins[name] <= 0 {
		delete(f.plugins, name)
	}
}

func (f *Follower) pluginNames() []string {
	return slices.Sorted(maps.Keys(f.plugins))
}

// publish makes s the current State and wakes the waiters on the previous
// one.
func (f *Follower) publish(s *State) {
	s.next = make(chan struct{})
	if old := f.cur.Swap(s); old != nil {
		close(old.next)
	}
	f.once.Do(func() { close(f.ready) })
}

func groupByRevision(changes []store.Change) map[int64][]store.Change {
	out := map[int64][]store.Change{}
	for _, c := range changes {
		out[c.Revision] = append(out[c.Revision], c)
	}
	return out
}

func toProtocol(changes []store.Change) []protocol.Change {
	out := make([]protocol.Change, len(changes))
	for i, c := range changes {
		out[i] = protocol.Change{Op: protocol.Op(c.Op), Type: c.Type, ID: c.ID, Entity: c.Entity}
	}
	return out
}

// ChangesSince reads the revisions after from, up to and including st's
// revision, from the change log in Postgres: for a data plane behind the
// in-memory history. It returns store.ErrLogTrimmed (wrapped) when the log
// no longer reaches back to from. The revisions carry no hash.
func ChangesSince(ctx context.Context, src Source, from int64, st *State) ([]Revision, error) {
	if from >= st.Base() {
		if revs, ok := st.Since(from); ok {
			return revs, nil
		}
	}
	var out []Revision
	after := from
	for after < st.Revision {
		revs, changes, err := src.Changes(ctx, after, readBatch)
		if err != nil {
			return nil, err
		}
		if len(revs) == 0 {
			break
		}
		byRev := groupByRevision(changes)
		for _, rv := range revs {
			if rv.Revision > st.Revision {
				return out, nil
			}
			out = append(out, Revision{
				Revision: rv.Revision, Changes: toProtocol(byRev[rv.Revision]), Trace: rv.Trace, Committed: rv.CreatedAt,
			})
			after = rv.Revision
		}
		if len(revs) < readBatch {
			break
		}
	}
	if len(out) == 0 || out[len(out)-1].Revision != st.Revision {
		// The database no longer holds st's revision in its log (a reset):
		// only a snapshot is safe.
		return nil, fmt.Errorf("revisions %d to %d: %w", from, st.Revision, store.ErrLogTrimmed)
	}
	return out, nil
}
