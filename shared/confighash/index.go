package confighash

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Index keeps the digest of every entity of a configuration by type and id,
// together with their State, so that the configuration hash stays current in
// time proportional to each change. The zero Index is empty and ready to use.
//
// Hash, TypeHash, TypeHashes, Digest and Len only read, so they may run
// concurrently with each other, but not with Put or Delete. Clone gives an
// independent copy to hand to another goroutine.
type Index struct {
	digests map[string]map[string]Digest // type → id → digest
	state   State
	n       int
}

// Build returns an Index holding entities, which maps entity types to their
// entities. Every entity needs a non-empty string "id", unique within its
// type (ErrMissingID, ErrDuplicateID). Types are visited in sorted order, so
// the error reported for a bad configuration does not vary between runs.
func Build(entities map[string][]map[string]any) (*Index, error) {
	ix := &Index{digests: make(map[string]map[string]Digest, len(entities))}
	types := make([]string, 0, len(entities))
	for t := range entities {
		types = append(types, t)
	}
	slices.SortFunc(types, strings.Compare)
	for _, t := range types {
		list := entities[t]
		if len(list) == 0 {
			continue
		}
		byID := make(map[string]Digest, len(list))
		ix.digests[t] = byID
		for _, entity := range list {
			id, err := entityID(t, entity)
			if err != nil {
				return nil, err
			}
			if _, dup := byID[id]; dup {
				return nil, fmt.Errorf("%s %s: %w", t, id, ErrDuplicateID)
			}
			d, err := EntityDigest(t, entity)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", t, id, err)
			}
			byID[id] = d
			ix.state.Add(t, d)
			ix.n++
		}
	}
	return ix, nil
}

// Compute returns the hash of the configuration entities from scratch (see
// Build for the rules entities must follow). The empty configuration, and one
// whose types all have empty lists, hashes to Empty.
func Compute(entities map[string][]map[string]any) (string, error) {
	ix, err := Build(entities)
	if err != nil {
		return "", err
	}
	return ix.Hash(), nil
}

// Put inserts entity as an entity of entityType, or replaces the entity of
// that type with the same "id", which must be a non-empty string. On error
// the Index is unchanged. It costs one EntityDigest plus O(1).
func (ix *Index) Put(entityType string, entity map[string]any) error {
	id, err := entityID(entityType, entity)
	if err != nil {
		return err
	}
	d, err := EntityDigest(entityType, entity)
	if err != nil {
		return fmt.Errorf("%s %s: %w", entityType, id, err)
	}
	byID := ix.digests[entityType]
	if old, ok := byID[id]; ok {
		if old == d {
			return nil
		}
		ix.state.Remove(entityType, old)
	} else {
		if byID == nil {
			if ix.digests == nil {
				ix.digests = make(map[string]map[string]Digest)
			}
			byID = make(map[string]Digest)
			ix.digests[entityType] = byID
		}
		ix.n++
	}
	byID[id] = d
	ix.state.Add(entityType, d)
	return nil
}

// Delete removes the entity of entityType with the given id and reports
// whether it was present. It costs O(1).
func (ix *Index) Delete(entityType, id string) bool {
	byID := ix.digests[entityType]
	d, ok := byID[id]
	if !ok {
		return false
	}
	delete(byID, id)
	if len(byID) == 0 {
		delete(ix.digests, entityType)
	}
	ix.state.Remove(entityType, d)
	ix.n--
	return true
}

// Digest returns the digest of the entity of entityType with the given id,
// and whether it is present.
func (ix *Index) Digest(entityType, id string) (Digest, bool) {
	d, ok := ix.digests[entityType][id]
	return d, ok
}

// Hash returns the configuration hash (see State.Hash). It costs O(T log T)
// for T entity types, whatever the number of entities.
func (ix *Index) Hash() string { return ix.state.Hash() }

// TypeHash returns the hash of entityType's entities alone (see
// State.TypeHash).
func (ix *Index) TypeHash(entityType string) string { return ix.state.TypeHash(entityType) }

// TypeHashes returns TypeHash for every entity type that has entities. The
// caller owns the returned map.
func (ix *Index) TypeHashes() map[string]string { return ix.state.TypeHashes() }

// Len returns the number of entities, over all types.
func (ix *Index) Len() int { return ix.n }

// Clone returns an independent copy of ix. It costs O(number of entities).
func (ix *Index) Clone() *Index {
	c := &Index{
		digests: make(map[string]map[string]Digest, len(ix.digests)),
		state:   *ix.state.Clone(),
		n:       ix.n,
	}
	for t, byID := range ix.digests {
		c.digests[t] = maps.Clone(byID)
	}
	return c
}

// entityID returns entity["id"], which must be a non-empty string.
func entityID(entityType string, entity map[string]any) (string, error) {
	id, _ := entity["id"].(string)
	if id == "" {
		return "", fmt.Errorf("%s entity: %w", entityType, ErrMissingID)
	}
	return id, nil
}
