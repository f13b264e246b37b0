package confighash_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gatehouse.dev/shared/confighash"
)

// testDigest returns a pseudo-random digest derived from i.
func testDigest(i int) confighash.Digest {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return confighash.Digest(sum[:16])
}

func TestStateEmpty(t *testing.T) {
	t.Parallel()
	var s confighash.State
	if got := s.Hash(); got != confighash.Empty {
		t.Errorf("zero State Hash = %s; want %s", got, confighash.Empty)
	}
	if got := s.TypeHash("services"); got != confighash.Empty {
		t.Errorf("zero State TypeHash = %s; want %s", got, confighash.Empty)
	}
	if got := s.TypeHashes(); len(got) != 0 {
		t.Errorf("zero State TypeHashes = %v; want empty", got)
	}
	if confighash.Empty != "00000000000000000000000000000000" {
		t.Errorf("Empty = %q", confighash.Empty)
	}
}

func TestStateRemoveInvertsAdd(t *testing.T) {
	t.Parallel()
	types := []string{"services", "routes", "plugins"}
	type op struct {
		typ string
		d   confighash.Digest
	}
	var ops []op
	var s confighash.State
	hashes := []string{s.Hash()} // hashes[i] is the hash after the first i adds
	for i := range 60 {
		o := op{types[i%len(types)], testDigest(i)}
		ops = append(ops, o)
		s.Add(o.typ, o.d)
		hashes = append(hashes, s.Hash())
	}
	for i, o := range slices.Backward(ops) {
		s.Remove(o.typ, o.d)
		if got := s.Hash(); got != hashes[i] {
			t.Fatalf("after removing add #%d: hash %s; want %s", i, got, hashes[i])
		}
	}
	if got := s.Hash(); got != confighash.Empty {
		t.Errorf("after removing everything: %s; want Empty", got)
	}

	// Remove before Add is still inverted (the State is a group).
	var g confighash.State
	g.Remove("services", testDigest(1))
	if g.Hash() == confighash.Empty {
		t.Error("State with a removed-only digest hashes to Empty")
	}
	g.Add("services", testDigest(1))
	if got := g.Hash(); got != confighash.Empty {
		t.Errorf("Remove then Add: %s; want Empty", got)
	}
}

func TestStateOrderIndependent(t *testing.T) {
	t.Parallel()
	types := []string{"services", "routes", "plugins", "consumers"}
	type op struct {
		typ string
		d   confighash.Digest
	}
	var ops []op
	for i := range 200 {
		ops = append(ops, op{types[i*7%len(types)], testDigest(i)})
	}
	var want confighash.State
	for _, o := range ops {
		want.Add(o.typ, o.d)
	}
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: a seeded PRNG makes the test data reproducible.
	for round := range 20 {
		r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		var s confighash.State
		for _, o := range ops {
			s.Add(o.typ, o.d)
		}
		if got := s.Hash(); got != want.Hash() {
			t.Fatalf("round %d: shuffled adds hash %s; want %s", round, got, want.Hash())
		}
	}
}

// TestStateSerialisation recomputes TypeHash and Hash from the documented
// serialisation with math/big, including sums that wrap around 2^128.
func TestStateSerialisation(t *testing.T) {
	t.Parallel()
	var ones confighash.Digest
	for i := range ones {
		ones[i] = 0xff
	}
	lowOnes := confighash.Digest{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	one := confighash.Digest{15: 1}
	tests := []struct {
		name    string
		digests map[string][]confighash.Digest
	}{
		{"one", map[string][]confighash.Digest{"services": {testDigest(1)}}},
		{"carry between halves", map[string][]confighash.Digest{"routes": {lowOnes, one}}},
		{"wrap to zero sum", map[string][]confighash.Digest{"routes": {ones, one}}},
		{"same digest twice", map[string][]confighash.Digest{"plugins": {testDigest(3), testDigest(3)}}},
		{"several types", map[string][]confighash.Digest{
			"services":  {testDigest(1), testDigest(2)},
			"routes":    {testDigest(3)},
			"consumers": {ones, ones, ones},
			"a":         {testDigest(4)},
		}},
		{"long type name", map[string][]confighash.Digest{string(make([]byte, 200)): {testDigest(5)}}},
	}
	modulus := new(big.Int).Lsh(big.NewInt(1), 128)
	record := func(name string, ds []confighash.Digest) []byte {
		sum := new(big.Int)
		for _, d := range ds {
			sum.Add(sum, new(big.Int).SetBytes(d[:]))
		}
		sum.Mod(sum, modulus)
		b := binary.AppendUvarint(nil, uint64(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(ds)))
		return append(b, sum.FillBytes(make([]byte, 16))...)
	}
	hexSum := func(b []byte) string {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:16])
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s confighash.State
			var names []string
			for name, ds := range tt.digests {
				names = append(names, name)
				for _, d := range ds {
					s.Add(name, d)
				}
			}
			slices.Sort(names)
			var all []byte
			for _, name := range names {
				rec := record(name, tt.digests[name])
				all = append(all, rec...)
				if got, want := s.TypeHash(name), hexSum(rec); got != want {
					t.Errorf("TypeHash(%q) = %s; want %s", name, got, want)
				}
			}
			if got, want := s.Hash(), hexSum(all); got != want {
				t.Errorf("Hash = %s; want %s", got, want)
			}
			if len(names) == 1 && s.Hash() != s.TypeHash(names[0]) {
				t.Errorf("single type: Hash %s != TypeHash %s", s.Hash(), s.TypeHash(names[0]))
			}
		})
	}
}

func TestStateCountMatters(t *testing.T) {
	t.Parallel()
	// {d, d} and {2d} have the same sum; the count tells them apart.
	d := testDigest(9)
	hi, lo := binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
	var twice confighash.Digest
	binary.BigEndian.PutUint64(twice[:8], hi<<1|lo>>63)
	binary.BigEndian.PutUint64(twice[8:], lo<<1)
	var a, b confighash.State
	a.Add("routes", d)
	a.Add("routes", d)
	b.Add("routes", twice)
	if a.Hash() == b.Hash() {
		t.Error("{d, d} and {2d} hash the same")
	}
}

func TestStateTypeHashes(t *testing.T) {
	t.Parallel()
	var s confighash.State
	s.Add("services", testDigest(1))
	s.Add("routes", testDigest(2))
	before := s.TypeHashes()
	if len(before) != 2 || before["services"] != s.TypeHash("services") || before["routes"] != s.TypeHash("routes") {
		t.Fatalf("TypeHashes = %v", before)
	}
	if s.Hash() == before["services"] || s.Hash() == before["routes"] {
		t.Error("Hash of two types equals one TypeHash")
	}
	s.Add("routes", testDigest(3))
	after := s.TypeHashes()
	if after["services"] != before["services"] {
		t.Error("changing routes changed TypeHash(services)")
	}
	if after["routes"] == before["routes"] {
		t.Error("changing routes left TypeHash(routes) unchanged")
	}
	// The same digest under another type is another configuration.
	var x, y confighash.State
	x.Add("services", testDigest(1))
	y.Add("routes", testDigest(1))
	if x.Hash() == y.Hash() {
		t.Error("one digest under two types hashes the same")
	}
}

func TestStateClone(t *testing.T) {
	t.Parallel()
	var s confighash.State
	s.Add("services", testDigest(1))
	want := s.Hash()
	c := s.Clone()
	c.Add("services", testDigest(2))
	c.Remove("services", testDigest(1))
	if got := s.Hash(); got != want {
		t.Errorf("changing the clone changed the original: %s; want %s", got, want)
	}
	if c.Hash() == want {
		t.Error("clone did not change")
	}
	var empty confighash.State
	if got := empty.Clone().Hash(); got != confighash.Empty {
		t.Errorf("clone of empty = %s", got)
	}
}

func TestDigestString(t *testing.T) {
	t.Parallel()
	d := confighash.Digest{0: 0xab, 15: 0x01}
	if got, want := d.String(), "ab000000000000000000000000000001"; got != want {
		t.Errorf("String = %s; want %s", got, want)
	}
}
