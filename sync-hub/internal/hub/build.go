package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gatehouse.dev/shared/compat"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/sync-hub/internal/follow"
)

// maxWarnings caps the removed-field warnings logged per message and data
// plane; the rest are counted in one line.
const maxWarnings = 20

// errNeedSnapshot means a delta cannot be built (the change log no longer
// covers the range, the range is larger than a snapshot would be, or
// Postgres cannot be read): send a snapshot.
var errNeedSnapshot = errors.New("a snapshot is needed")

// frame is an encoded configuration message, shared by every data plane
// at the same revision range and compatibility level. Its fields are set
// once, under once, and read-only afterwards.
type frame struct {
	once sync.Once

	data     []byte
	typ      protocol.Type
	from, to int64
	digest   string
	changes  int
	// warnings are the removed-field lines for an older level.
	warnings []string
	err      error
}

type deltaKey struct {
	from, to int64
	level    string
}

// builder encodes snapshots and deltas once and shares them. It keeps the
// newest snapshot per level, the deltas to the newest revision, and per
// older level a view of the configuration with the fields that level does
// not know removed. It is safe for concurrent use.
type builder struct {
	h *Hub

	mu        sync.Mutex
	snapshots map[string]*frame // level → newest snapshot built
	deltas    map[deltaKey]*frame
	views     map[string]*view
}

// view is the configuration as a data plane of an older level holds it.
type view struct {
	mu       sync.Mutex
	rules    *compat.Rules
	revision int64
	set      *configset.Set // never modified once stored
	valid    bool
}

func newBuilder(h *Hub) *builder {
	return &builder{h: h, snapshots: map[string]*frame{}, deltas: map[deltaKey]*frame{}, views: map[string]*view{}}
}

// snapshot returns the snapshot of st for a level.
func (b *builder) snapshot(st *follow.State, rules *compat.Rules) *frame {
	level := rules.Level()
	b.mu.Lock()
	f := b.snapshots[level]
	if f == nil || f.to != st.Revision {
		f = &frame{typ: protocol.TypeSnapshot, to: st.Revision}
		b.snapshots[level] = f
	}
	b.mu.Unlock()
	f.once.Do(func() { b.buildSnapshot(f, st, rules) })
	return f
}

func (b *builder) buildSnapshot(f *frame, st *follow.State, rules *compat.Rules) {
	set := st.Set
	if rules != nil {
		set = b.viewAt(st, rules)
		for _, typ := range st.Set.Types() {
			st.Set.Each(typ, func(e map[string]any) { f.warnings = warn(f.warnings, rules, typ, e) })
		}
	}
	msg := &protocol.Snapshot{
		Revision:   st.Revision,
		ConfigHash: st.Hash,
		Digest:     set.Hash(),
		Entities:   set.Entities(),
		Trace:      st.Trace,
		Timestamp:  time.Now().UnixMilli(),
	}
	f.digest = msg.Digest
	f.data, f.err = b.h.codec.EncodeSnapshot(msg)
	b.h.metrics.snapshotEncodes.Inc()
}

// delta returns the delta from a revision to st's for a level, or
// errNeedSnapshot.
func (b *builder) delta(ctx context.Context, st *follow.State, from int64, rules *compat.Rules) (*frame, error) {
	key := deltaKey{from: from, to: st.Revision, level: rules.Level()}
	b.mu.Lock()
	f := b.deltas[key]
	if f == nil {
		f = &frame{typ: protocol.TypeDelta, from: from, to: st.Revision}
		b.deltas[key] = f
		// Deltas to older revisions are of no more use.
		for k := range b.deltas {
			if k.to < st.Revision {
				delete(b.deltas, k)
			}
		}
	}
	b.mu.Unlock()
	f.once.Do(func() { b.buildDelta(ctx, f, st, from, rules) })
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

func (b *builder) buildDelta(ctx context.Context, f *frame, st *follow.State, from int64, rules *compat.Rules) {
	revs, err := follow.ChangesSince(ctx, b.h.store, from, st)
	if err != nil {
		f.err = fmt.Errorf("%w: %w", errNeedSnapshot, err)
		return
	}
	changes := follow.Coalesce(revs)
	// A delta that touches most of the configuration is no smaller than a
	// snapshot, and a snapshot is shared with other data planes.
	if len(changes) > 64 && len(changes) > st.Set.Len()/2 {
		f.err = fmt.Errorf("%w: %d changes for %d entities", errNeedSnapshot, len(changes), st.Set.Len())
		return
	}
	digest := st.Hash
	if rules != nil {
		stripped := make([]protocol.Change, len(changes))
		for i, c := range changes {
			if c.Op == protocol.OpUpsert {
				f.warnings = warn(f.warnings, rules, c.Type, c.Entity)
				c.Entity, _ = rules.Strip(c.Type, c.Entity)
			}
			stripped[i] = c
		}
		changes = stripped
		digest = b.viewAt(st, rules).Hash()
	}
	msg := &protocol.Delta{
		FromRevision: from,
		Revision:     st.Revision,
		ConfigHash:   st.Hash,
		Digest:       digest,
		Changes:      changes,
		Trace:        st.Trace,
		Timestamp:    time.Now().UnixMilli(),
	}
	f.digest, f.changes = digest, len(changes)
	f.data, err = b.h.codec.Encode(msg)
	if err != nil {
		f.err = fmt.Errorf("%w: %w", errNeedSnapshot, err)
		return
	}
	b.h.metrics.deltaEncodes.Inc()
}

// viewAt returns the configuration at st's revision as a data plane of the
// rules' level holds it, advancing that level's view from the in-memory
// history when it covers the gap and rebuilding it otherwise.
func (b *builder) viewAt(st *follow.State, rules *compat.Rules) *configset.Set {
	b.mu.Lock()
	v := b.views[rules.Level()]
	if v == nil {
		v = &view{rules: rules}
		b.views[rules.Level()] = v
	}
	b.mu.Unlock()

	v.mu.Lock()
	defer v.mu.Unlock()
	if v.valid && v.revision == st.Revision {
		return v.set
	}
	if revs, ok := st.Since(v.revision); v.valid && ok && v.revision < st.Revision {
		set := v.set.Clone()
		for _, r := range revs {
			for _, c := range r.Changes {
				if c.Op == protocol.OpUpsert {
					c.Entity, _ = rules.Strip(c.Type, c.Entity)
				}
				_ = set.Apply([]protocol.Change{c}) // the follower applied the same change
			}
		}
		set.Revision = st.Revision
		v.set, v.revision = set, st.Revision
		return set
	}
	set := configset.New()
	for _, typ := range st.Set.Types() {
		st.Set.Each(typ, func(e map[string]any) {
			stripped, _ := rules.Strip(typ, e)
			_ = set.Put(typ, stripped) // the entity is in st.Set, so it has an id
		})
	}
	set.Revision = st.Revision
	v.set, v.revision, v.valid = set, st.Revision, true
	return set
}

// warn appends the warnings for the fields rules remove from e, up to
// maxWarnings, then one line counting the rest.
func warn(lines []string, rules *compat.Rules, typ string, e map[string]any) []string {
	_, removed := rules.Strip(typ, e)
	for _, path := range removed {
		switch {
		case len(lines) < maxWarnings:
			lines = append(lines, compat.Warning(typ, e, path))
		case len(lines) == maxWarnings:
			lines = append(lines, "more configuration is incompatible with dataplane and will be ignored")
		}
	}
	return lines
}
