// Package configset holds a whole configuration in memory: every entity by
// type and id, the revision it stands for, and its config hash kept current
// in time proportional to each change. sync-hub follows Postgres with one,
// and a data plane applies deltas and snapshots to a copy of its current
// one before swapping it in.
package configset

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"gatehouse.dev/shared/confighash"
	"gatehouse.dev/shared/protocol"
)

// ErrMissingID is returned for an entity without a string id.
var ErrMissingID = errors.New("entity has no id")

type entry struct {
	entity map[string]any
	digest confighash.Digest
}

// shardCount splits each type's entities so that a write after Clone
// copies one shard (1/64 of the type), not the whole type: a one-entity
// change to a 30k-entity type copies about 470 entries.
const shardCount = 64

// table is one type's entities, sharded by id.
type table struct {
	shards [shardCount]map[string]entry
	count  int
}

func shardOf(id string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % shardCount)
}

// Set is a configuration. A Set is not safe for concurrent mutation;
// Clone gives an independent copy cheaply (a shard of a type is copied on
// its first write), so a reader can keep using a Set while a writer
// changes a clone. Cloning freezes the original: it stays readable (by any
// number of goroutines, which may also Clone it) but writing to it panics,
// since its shards are now shared. Entities put in a Set must not be
// modified afterwards: they are shared with clones.
type Set struct {
	// Revision is the control-plane revision the set stands for (0 for
	// none).
	Revision int64
	types    map[string]*table
	// owned marks the tables and shards this Set may write without
	// copying; everything else may be shared with clones.
	ownedTables map[string]bool
	ownedShards map[string]*[shardCount]bool
	state       confighash.State
	count       int
	frozen      atomic.Bool
}

// New returns an empty set.
func New() *Set {
	return &Set{types: map[string]*table{}, ownedTables: map[string]bool{}, ownedShards: map[string]*[shardCount]bool{}}
}

// FromEntities builds a set from entities grouped by type. Each entity
// needs a string id unique within its type.
func FromEntities(revision int64, entities map[string][]map[string]any) (*Set, error) {
	s := New()
	s.Revision = revision
	for typ, list := range entities {
		for _, e := range list {
			id, _ := e["id"].(string)
			if _, dup := s.Get(typ, id); dup && id != "" {
				return nil, fmt.Errorf("%s %s: %w", typ, id, confighash.ErrDuplicateID)
			}
			if err := s.Put(typ, e); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Clone returns a copy that shares unchanged shards with s.
func (s *Set) Clone() *Set {
	c := &Set{
		Revision:    s.Revision,
		types:       maps.Clone(s.types),
		ownedTables: map[string]bool{},
		ownedShards: map[string]*[shardCount]bool{},
		state:       *s.state.Clone(),
		count:       s.count,
	}
	// s now shares its tables and shards with c: it must not write again.
	s.frozen.Store(true)
	return c
}

// writable returns the shard of typ that holds id, copied first unless
// this Set already owns it.
func (s *Set) writable(typ, id string) (*table, map[string]entry) {
	if s.frozen.Load() {
		panic("configset: write to a Set that was cloned; write to the clone")
	}
	t := s.types[typ]
	if t == nil {
		t = &table{}
		s.types[typ] = t
		s.ownedTables[typ] = true
	} else if !s.ownedTables[typ] {
		cp := *t
		t = &cp
		s.types[typ] = t
		s.ownedTables[typ] = true
	}
	owned := s.ownedShards[typ]
	if owned == nil {
		owned = &[shardCount]bool{}
		s.ownedShards[typ] = owned
	}
	i := shardOf(id)
	if !owned[i] {
		cp := make(map[string]entry, len(t.shards[i])+1)
		maps.Copy(cp, t.shards[i])
		t.shards[i] = cp
		owned[i] = true
	}
	return t, t.shards[i]
}

// Put inserts or replaces an entity by its id.
func (s *Set) Put(typ string, e map[string]any) error {
	id, ok := e["id"].(string)
	if !ok || id == "" {
		return fmt.Errorf("%s: %w", typ, ErrMissingID)
	}
	d, err := confighash.EntityDigest(typ, e)
	if err != nil {
		return fmt.Errorf("%s %s: %w", typ, id, err)
	}
	t, m := s.writable(typ, id)
	if old, ok := m[id]; ok {
		s.state.Remove(typ, old.digest)
	} else {
		s.count++
		t.count++
	}
	m[id] = entry{entity: e, digest: d}
	s.state.Add(typ, d)
	return nil
}

// Delete removes an entity; it reports whether it was there.
func (s *Set) Delete(typ, id string) bool {
	if _, ok := s.Get(typ, id); !ok {
		return false
	}
	t, m := s.writable(typ, id)
	old := m[id]
	delete(m, id)
	s.state.Remove(typ, old.digest)
	s.count--
	t.count--
	if t.count == 0 {
		delete(s.types, typ)
		delete(s.ownedTables, typ)
		delete(s.ownedShards, typ)
	}
	return true
}

// Apply applies changes in order. It stops at the first invalid change and
// returns its error; the set is then partly changed, so apply to a Clone
// and keep the original when it matters.
func (s *Set) Apply(changes []protocol.Change) error {
	for _, c := range changes {
		switch c.Op {
		case protocol.OpUpsert:
			if id, _ := c.Entity["id"].(string); id != c.ID {
				return fmt.Errorf("%s %s: entity id %q differs from the change id", c.Type, c.ID, id)
			}
			if err := s.Put(c.Type, c.Entity); err != nil {
				return err
			}
		case protocol.OpDelete:
			s.Delete(c.Type, c.ID)
		default:
			return fmt.Errorf("%s %s: unknown operation %q", c.Type, c.ID, c.Op)
		}
	}
	return nil
}

// Get returns an entity.
func (s *Set) Get(typ, id string) (map[string]any, bool) {
	t := s.types[typ]
	if t == nil {
		return nil, false
	}
	e, ok := t.shards[shardOf(id)][id]
	return e.entity, ok
}

// Hash is the config hash of the set (32 hex characters; 32 zeros when
// empty).
func (s *Set) Hash() string { return s.state.Hash() }

// TypeHash is the hash of one type's entities.
func (s *Set) TypeHash(typ string) string { return s.state.TypeHash(typ) }

// Len is the number of entities.
func (s *Set) Len() int { return s.count }

// Types lists the types that have entities, sorted.
func (s *Set) Types() []string {
	out := make([]string, 0, len(s.types))
	for typ := range s.types {
		out = append(out, typ)
	}
	sort.Strings(out)
	return out
}

// List returns the entities of a type in id order.
func (s *Set) List(typ string) []map[string]any {
	t := s.types[typ]
	if t == nil {
		return []map[string]any{}
	}
	type keyed struct {
		id     string
		entity map[string]any
	}
	all := make([]keyed, 0, t.count)
	for _, shard := range t.shards {
		for id, e := range shard {
			all = append(all, keyed{id, e.entity})
		}
	}
	// Sorting by the shard keys, not by looking "id" up in each map per
	// comparison, keeps this a few milliseconds for 10k entities.
	slices.SortFunc(all, func(a, b keyed) int { return strings.Compare(a.id, b.id) })
	out := make([]map[string]any, len(all))
	for i, k := range all {
		out[i] = k.entity
	}
	return out
}

// Each calls fn for every entity of a type, in no particular order.
func (s *Set) Each(typ string, fn func(e map[string]any)) {
	t := s.types[typ]
	if t == nil {
		return
	}
	for _, shard := range t.shards {
		for _, e := range shard {
			fn(e.entity)
		}
	}
}

// Entities returns every entity grouped by type, each list in id order:
// the form snapshots carry.
func (s *Set) Entities() protocol.Entities {
	out := make(protocol.Entities, len(s.types))
	for typ := range s.types {
		out[typ] = s.List(typ)
	}
	return out
}
