package confighash

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"math/bits"
	"slices"
	"strings"
)

// Empty is the hash of the empty configuration: 32 zeros.
const Empty = "00000000000000000000000000000000"

// typeSum is one entity type's part of a State: the number of digests added
// minus those removed (mod 2^64) and their sum (mod 2^128) as hi:lo.
type typeSum struct {
	count  uint64
	hi, lo uint64
}

// State is an order-independent, incrementally updated hash of a multiset of
// entity digests, kept per entity type as described in the package
// documentation. The zero State is empty and ready to use.
//
// Add and Remove are exact inverses in any order: removing a digest that was
// never added is a caller bug that leaves a State matching no configuration,
// but adding it back restores the previous hash.
//
// Hash, TypeHash and TypeHashes only read, so they may run concurrently with
// each other, but not with Add or Remove. Clone gives an independent copy to
// hand to another goroutine.
type State struct {
	types map[string]typeSum
}

// Add adds d as the digest of one more entity of entityType. It costs O(1).
func (s *State) Add(entityType string, d Digest) {
	ts := s.types[entityType]
	hi, lo := d.halves()
	var carry uint64
	ts.lo, carry = bits.Add64(ts.lo, lo, 0)
	ts.hi, _ = bits.Add64(ts.hi, hi, carry)
	ts.count++
	s.store(entityType, ts)
}

// Remove takes d, the digest of one entity of entityType, out of the State.
// It costs O(1).
func (s *State) Remove(entityType string, d Digest) {
	ts := s.types[entityType]
	hi, lo := d.halves()
	var borrow uint64
	ts.lo, borrow = bits.Sub64(ts.lo, lo, 0)
	ts.hi, _ = bits.Sub64(ts.hi, hi, borrow)
	ts.count--
	s.store(entityType, ts)
}

func (s *State) store(entityType string, ts typeSum) {
	if ts == (typeSum{}) {
		delete(s.types, entityType)
		return
	}
	if s.types == nil {
		s.types = make(map[string]typeSum)
	}
	s.types[entityType] = ts
}

// Clone returns an independent copy of s.
func (s *State) Clone() *State {
	return &State{types: maps.Clone(s.types)}
}

// Hash returns the configuration hash: 32 lower-case hex characters, Empty
// when no entity is present. It costs O(T log T) for T entity types.
func (s *State) Hash() string {
	if len(s.types) == 0 {
		return Empty
	}
	names := make([]string, 0, len(s.types))
	for t := range s.types {
		names = append(names, t)
	}
	slices.SortFunc(names, strings.Compare)
	buf := make([]byte, 0, len(names)*(8+24+16))
	for _, t := range names {
		buf = appendRecord(buf, t, s.types[t])
	}
	return digestHex(buf)
}

// TypeHash returns the hash of entityType's entities alone (32 lower-case
// hex characters), Empty when there are none. Comparing TypeHash values shows
// which entity types differ between two configurations.
func (s *State) TypeHash(entityType string) string {
	ts, ok := s.types[entityType]
	if !ok {
		return Empty
	}
	return digestHex(appendRecord(nil, entityType, ts))
}

// TypeHashes returns TypeHash for every entity type that has entities. The
// caller owns the returned map.
func (s *State) TypeHashes() map[string]string {
	m := make(map[string]string, len(s.types))
	for t, ts := range s.types {
		m[t] = digestHex(appendRecord(nil, t, ts))
	}
	return m
}

// appendRecord appends one type's record of the hash serialisation: uvarint
// name length, name, count (8 bytes big-endian), sum (16 bytes big-endian).
func appendRecord(b []byte, name string, ts typeSum) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint64(b, ts.count)
	b = binary.BigEndian.AppendUint64(b, ts.hi)
	return binary.BigEndian.AppendUint64(b, ts.lo)
}

func digestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// halves returns d as a 128-bit big-endian integer hi:lo.
func (d Digest) halves() (hi, lo uint64) {
	return binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
}
