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
	"sort"

	"gatehouse.dev/shared/confighash"
	"gatehouse.dev/shared/protocol"
)

// ErrMissingID is returned for an entity without a string id.
var ErrMissingID = errors.New("entity has no id")

type entry struct {
	entity map[string]any
	digest confighash.Digest
}

// Set is a configuration. A Set is not safe for concurrent mutation;
// Clone gives an independent copy cheaply (types are copied on their first
// write), so a reader can keep using a Set while a writer changes a clone.
// Entities put in a Set must not be modified afterwards: they are shared
// with clones.
type Set struct {
	// Revision is the control-plane revision the set stands for (0 for
	// none).
	Revision int64
	types    map[string]map[string]entry
	owned    map[string]bool // types this Set may write without copying
	state    confighash.State
	count    int
}

// New returns an empty set.
func New() *Set {
	return &Set{types: map[string]map[string]entry{}, owned: map[string]bool{}}
}

// FromEntities builds a set from entities grouped by type. Each entity
// needs a string id unique within its type.
func FromEntities(revision int64, entities map[string][]map[string]any) (*Set, error) {
	s := New()
	s.Revision = revision
	for typ, list := range entities {
		for _, e := range list {
			id, _ := e["id"].(string)
			if _, dup := s.types[typ][id]; dup && id != "" {
				return nil, fmt.Errorf("%s %s: %w", typ, id, confighash.ErrDuplicateID)
			}
			if err := s.Put(typ, e); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Clone returns a copy that shares unchanged types with s.
func (s *Set) Clone() *Set {
	c := &Set{
		Revision: s.Revision,
		types:    make(map[string]map[string]entry, len(s.types)),
		owned:    map[string]bool{},
		state:    *s.state.Clone(),
		count:    s.count,
	}
	maps.Copy(c.types, s.types)
	// s must not write into maps it now shares either.
	s.owned = map[string]bool{}
	return c
}

func (s *Set) writable(typ string) map[string]entry {
	m := s.types[typ]
	if s.owned[typ] {
		return m
	}
	cp := make(map[string]entry, len(m)+1)
	maps.Copy(cp, m)
	s.types[typ] = cp
	s.owned[typ] = true
	return cp
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
	m := s.writable(typ)
	if old, ok := m[id]; ok {
		s.state.Remove(typ, old.digest)
	} else {
		s.count++
	}
	m[id] = entry{entity: e, digest: d}
	s.state.Add(typ, d)
	return nil
}

// Delete removes an entity; it reports whether it was there.
func (s *Set) Delete(typ, id string) bool {
	if _, ok := s.types[typ][id]; !ok {
		return false
	}
	m := s.writable(typ)
	old := m[id]
	delete(m, id)
	s.state.Remove(typ, old.digest)
	s.count--
	if len(m) == 0 {
		delete(s.types, typ)
		delete(s.owned, typ)
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
	e, ok := s.types[typ][id]
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
	m := s.types[typ]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = m[id].entity
	}
	return out
}

// Each calls fn for every entity of a type, in no particular order.
func (s *Set) Each(typ string, fn func(e map[string]any)) {
	for _, e := range s.types[typ] {
		fn(e.entity)
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
