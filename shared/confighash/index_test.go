package confighash_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gatehouse.dev/shared/confighash"
)

// deepCopy copies a JSON value so tests can mutate it.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		if x == nil {
			return x
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

func copyConfig(cfg map[string][]map[string]any) map[string][]map[string]any {
	c := make(map[string][]map[string]any, len(cfg))
	for typ, list := range cfg {
		for _, e := range list {
			c[typ] = append(c[typ], deepCopy(e).(map[string]any))
		}
	}
	return c
}

func mustCompute(t *testing.T, cfg map[string][]map[string]any) string {
	t.Helper()
	h, err := confighash.Compute(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestIndexZeroValue(t *testing.T) {
	t.Parallel()
	var ix confighash.Index
	if ix.Hash() != confighash.Empty || ix.Len() != 0 {
		t.Fatalf("zero Index: hash %s, len %d", ix.Hash(), ix.Len())
	}
	if ix.Delete("services", "x") {
		t.Error("Delete on an empty Index reported a deletion")
	}
	if err := ix.Put("services", goldenService()); err != nil {
		t.Fatal(err)
	}
	want := mustCompute(t, map[string][]map[string]any{"services": {goldenService()}})
	if ix.Hash() != want || ix.Len() != 1 {
		t.Errorf("after Put: hash %s, len %d; want %s, 1", ix.Hash(), ix.Len(), want)
	}
}

func TestIndexPutReplaceDelete(t *testing.T) {
	t.Parallel()
	ix, err := confighash.Build(goldenMixed())
	if err != nil {
		t.Fatal(err)
	}
	h0, n0 := ix.Hash(), ix.Len()

	added := map[string]any{"id": "0f0f0f0f-0000-4000-8000-000000000001", "username": "new"}
	if err := ix.Put("consumers", added); err != nil {
		t.Fatal(err)
	}
	h1 := ix.Hash()
	if h1 == h0 || ix.Len() != n0+1 {
		t.Fatalf("insert: hash %s (was %s), len %d; want a new hash and len %d", h1, h0, ix.Len(), n0+1)
	}

	replaced := maps.Clone(added)
	replaced["username"] = "renamed"
	if err := ix.Put("consumers", replaced); err != nil {
		t.Fatal(err)
	}
	h2 := ix.Hash()
	if h2 == h1 || h2 == h0 || ix.Len() != n0+1 {
		t.Fatalf("replace: hash %s, len %d; want a third hash and len %d", h2, ix.Len(), n0+1)
	}
	want := copyConfig(goldenMixed())
	want["consumers"] = append(want["consumers"], replaced)
	if got := mustCompute(t, want); got != h2 {
		t.Errorf("after replace: %s; Compute gives %s", h2, got)
	}

	if err := ix.Put("consumers", added); err != nil {
		t.Fatal(err)
	}
	if got := ix.Hash(); got != h1 {
		t.Errorf("putting the first version back: %s; want %s", got, h1)
	}
	if !ix.Delete("consumers", added["id"].(string)) {
		t.Fatal("Delete reported nothing deleted")
	}
	if got := ix.Hash(); got != h0 || ix.Len() != n0 {
		t.Errorf("after Delete: hash %s, len %d; want %s, %d", got, ix.Len(), h0, n0)
	}
	if ix.Delete("consumers", added["id"].(string)) {
		t.Error("second Delete reported a deletion")
	}
	if got := ix.Hash(); got != h0 {
		t.Errorf("second Delete changed the hash to %s", got)
	}

	// Deleting every entity returns to Empty.
	for typ, list := range goldenMixed() {
		for _, e := range list {
			if !ix.Delete(typ, e["id"].(string)) {
				t.Fatalf("Delete(%s, %s) found nothing", typ, e["id"])
			}
		}
	}
	if ix.Hash() != confighash.Empty || ix.Len() != 0 {
		t.Errorf("after deleting all: hash %s, len %d; want Empty, 0", ix.Hash(), ix.Len())
	}
}

func TestIndexDigest(t *testing.T) {
	t.Parallel()
	var ix confighash.Index
	svc := goldenService()
	if err := ix.Put("services", svc); err != nil {
		t.Fatal(err)
	}
	want, err := confighash.EntityDigest("services", svc)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ix.Digest("services", svc["id"].(string)); !ok || got != want {
		t.Errorf("Digest = %s, %v; want %s, true", got, ok, want)
	}
	if _, ok := ix.Digest("routes", svc["id"].(string)); ok {
		t.Error("Digest found the service under routes")
	}
}

func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	cfg := goldenMixed()
	for typ, list := range genConfig(300) {
		cfg[typ] = append(cfg[typ], list...)
	}
	want := mustCompute(t, cfg)
	type item struct {
		typ    string
		entity map[string]any
	}
	var items []item
	for typ, list := range cfg {
		for _, e := range list {
			items = append(items, item{typ, e})
		}
	}
	for seed := range uint64(10) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			shuffled := slices.Clone(items)
			r := rand.New(rand.NewPCG(seed, 7)) //nolint:gosec // G404: a seeded PRNG makes the test data reproducible.
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			var ix confighash.Index
			perType := map[string][]map[string]any{}
			for _, it := range shuffled {
				if err := ix.Put(it.typ, it.entity); err != nil {
					t.Fatal(err)
				}
				perType[it.typ] = append(perType[it.typ], it.entity)
			}
			if got := ix.Hash(); got != want {
				t.Errorf("Index in shuffled order: %s; want %s", got, want)
			}
			if got := mustCompute(t, perType); got != want {
				t.Errorf("Compute over shuffled lists: %s; want %s", got, want)
			}
		})
	}
}

// TestEquivalentEncodings checks that key order, the Go type of a number and
// null members do not change digests or the hash.
func TestEquivalentEncodings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b map[string]any
	}{
		{"null member", map[string]any{"id": "x", "a": 1, "b": nil}, map[string]any{"id": "x", "a": 1}},
		{"nested null member", map[string]any{"id": "x", "c": map[string]any{"k": nil, "v": true}}, map[string]any{"id": "x", "c": map[string]any{"v": true}}},
		{"nil map member", map[string]any{"id": "x", "c": map[string]any(nil)}, map[string]any{"id": "x"}},
		{"int64 vs float64", map[string]any{"id": "x", "n": int64(5)}, map[string]any{"id": "x", "n": float64(5)}},
		{"int64 vs json.Number", map[string]any{"id": "x", "n": int64(5)}, map[string]any{"id": "x", "n": json.Number("5")}},
		{"float64 vs json.Number", map[string]any{"id": "x", "n": 1700000000.123}, map[string]any{"id": "x", "n": json.Number("1700000000.123")}},
		{"int vs uint8", map[string]any{"id": "x", "n": []any{1, 2}}, map[string]any{"id": "x", "n": []any{uint8(1), uint8(2)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			da, err := confighash.EntityDigest("plugins", tt.a)
			if err != nil {
				t.Fatal(err)
			}
			db, err := confighash.EntityDigest("plugins", tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if da != db {
				t.Errorf("digests differ: %s vs %s", da, db)
			}
		})
	}
}

// TestIdentityMatters checks that the id and the type are part of a digest.
func TestIdentityMatters(t *testing.T) {
	t.Parallel()
	a := map[string]any{"id": "a", "name": "same"}
	b := map[string]any{"id": "b", "name": "same"}
	da, _ := confighash.EntityDigest("services", a)
	db, _ := confighash.EntityDigest("services", b)
	if da == db {
		t.Error("same content under different ids has one digest")
	}
	dr, _ := confighash.EntityDigest("routes", a)
	if da == dr {
		t.Error("same entity under different types has one digest")
	}
	// "ab" + 0x00 + ... must not collide with "a" + ...: the type cannot
	// contain 0x00 and the canonical encoding starts with '{'.
	if _, err := confighash.EntityDigest("a\x00b", a); !errors.Is(err, confighash.ErrInvalidType) {
		t.Errorf("type with NUL: %v; want ErrInvalidType", err)
	}
}

// leafPaths returns the path to every leaf and every empty container of v.
func leafPaths(v any, prefix []any) [][]any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return [][]any{slices.Clone(prefix)}
		}
		var out [][]any
		for k, e := range x {
			out = append(out, leafPaths(e, append(slices.Clone(prefix), k))...)
		}
		return out
	case []any:
		if len(x) == 0 {
			return [][]any{slices.Clone(prefix)}
		}
		var out [][]any
		for i, e := range x {
			out = append(out, leafPaths(e, append(slices.Clone(prefix), i))...)
		}
		return out
	}
	return [][]any{slices.Clone(prefix)}
}

// mutate returns a different value of the same JSON shape class as v.
func mutate(v any) any {
	switch x := v.(type) {
	case nil:
		return "was null"
	case bool:
		return !x
	case string:
		return x + "x"
	case int:
		return x + 1
	case int32:
		return x + 1
	case int64:
		return x + 1
	case float64:
		return x + 0.5
	case json.Number:
		return json.Number(string(x) + "1")
	case map[string]any:
		return map[string]any{"added": true}
	case []any:
		return []any{nil}
	}
	panic(fmt.Sprintf("mutate: unexpected %T", v))
}

// setAt replaces the value at path inside root.
func setAt(root any, path []any, nv any) {
	for i, p := range path {
		last := i == len(path)-1
		switch k := p.(type) {
		case string:
			m := root.(map[string]any)
			if last {
				m[k] = nv
				return
			}
			root = m[k]
		case int:
			a := root.([]any)
			if last {
				a[k] = nv
				return
			}
			root = a[k]
		}
	}
}

func getAt(root any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			root = root.(map[string]any)[k]
		case int:
			root = root.([]any)[k]
		}
	}
	return root
}

// TestAnyNestedChange mutates every leaf of a realistic configuration in
// turn and checks that the hash and that type's hash change, and no other
// type's hash does.
func TestAnyNestedChange(t *testing.T) {
	t.Parallel()
	base := goldenMixed()
	baseIx, err := confighash.Build(base)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for typ, list := range base {
		for i, entity := range list {
			for _, path := range leafPaths(entity, nil) {
				if len(path) == 1 && path[0] == "id" {
					continue // changing the id is a different entity; covered by TestIdentityMatters
				}
				cfg := copyConfig(base)
				old := getAt(cfg[typ][i], path)
				setAt(cfg[typ][i], path, mutate(old))
				ix, err := confighash.Build(cfg)
				if err != nil {
					t.Fatalf("%s %v: %v", typ, path, err)
				}
				count++
				if ix.Hash() == baseIx.Hash() {
					t.Errorf("%s[%d] %v: %v → %v did not change the hash", typ, i, path, old, getAt(cfg[typ][i], path))
				}
				for other := range base {
					changed := ix.TypeHash(other) != baseIx.TypeHash(other)
					if changed != (other == typ) {
						t.Errorf("%s[%d] %v: TypeHash(%s) changed=%v", typ, i, path, other, changed)
					}
				}
			}
		}
	}
	if count < 100 {
		t.Errorf("only %d leaves mutated; the test configuration shrank", count)
	}
}

func TestIndexPutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		typ    string
		entity map[string]any
		want   error
	}{
		{"nil entity", "services", nil, confighash.ErrMissingID},
		{"missing id", "services", map[string]any{"name": "x"}, confighash.ErrMissingID},
		{"empty id", "services", map[string]any{"id": ""}, confighash.ErrMissingID},
		{"null id", "services", map[string]any{"id": nil}, confighash.ErrMissingID},
		{"numeric id", "services", map[string]any{"id": 5}, confighash.ErrMissingID},
		{"empty type", "", map[string]any{"id": "x"}, confighash.ErrInvalidType},
		{"NUL in type", "ser\x00vices", map[string]any{"id": "x"}, confighash.ErrInvalidType},
		{"NaN", "services", map[string]any{"id": "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11", "port": math.NaN()}, confighash.ErrNonFinite},
		{"Inf nested", "plugins", map[string]any{"id": "p", "config": map[string]any{"x": []any{math.Inf(1)}}}, confighash.ErrNonFinite},
		{"chan", "services", map[string]any{"id": "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11", "c": make(chan int)}, confighash.ErrUnsupportedType},
		{"struct", "services", map[string]any{"id": "s", "c": struct{}{}}, confighash.ErrUnsupportedType},
		{"invalid UTF-8", "services", map[string]any{"id": "s\xff"}, confighash.ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix, err := confighash.Build(goldenMixed())
			if err != nil {
				t.Fatal(err)
			}
			h, n := ix.Hash(), ix.Len()
			svcID := goldenService()["id"].(string)
			d0, _ := ix.Digest("services", svcID)
			if err := ix.Put(tt.typ, tt.entity); !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v; want %v", err, tt.want)
			}
			if ix.Hash() != h || ix.Len() != n {
				t.Errorf("failed Put changed the Index: hash %s len %d; want %s %d", ix.Hash(), ix.Len(), h, n)
			}
			if d, ok := ix.Digest("services", svcID); !ok || d != d0 {
				t.Error("failed Put replaced an existing entity")
			}
			if _, err := confighash.Compute(map[string][]map[string]any{tt.typ: {tt.entity}}); !errors.Is(err, tt.want) {
				t.Errorf("Compute: %v; want %v", err, tt.want)
			}
		})
	}
}

func TestComputeDuplicateID(t *testing.T) {
	t.Parallel()
	cfg := goldenMixed()
	dup := maps.Clone(cfg["routes"][0])
	dup["name"] = "another"
	cfg["routes"] = append(cfg["routes"], dup)
	_, err := confighash.Compute(cfg)
	if !errors.Is(err, confighash.ErrDuplicateID) {
		t.Fatalf("Compute: %v; want ErrDuplicateID", err)
	}

	// The same id under two types is fine.
	ok := map[string][]map[string]any{
		"services": {{"id": "same"}},
		"routes":   {{"id": "same"}},
	}
	if _, err := confighash.Compute(ok); err != nil {
		t.Errorf("same id in two types: %v", err)
	}
}

func TestIndexClone(t *testing.T) {
	t.Parallel()
	ix, err := confighash.Build(goldenMixed())
	if err != nil {
		t.Fatal(err)
	}
	h, n := ix.Hash(), ix.Len()
	c := ix.Clone()
	if c.Hash() != h || c.Len() != n {
		t.Fatalf("clone: hash %s len %d; want %s %d", c.Hash(), c.Len(), h, n)
	}
	svc := goldenService()
	c.Delete("services", svc["id"].(string))
	if err := c.Put("consumers", map[string]any{"id": "new"}); err != nil {
		t.Fatal(err)
	}
	if ix.Hash() != h || ix.Len() != n {
		t.Error("changing the clone changed the original")
	}
	if _, ok := ix.Digest("services", svc["id"].(string)); !ok {
		t.Error("deleting from the clone deleted from the original")
	}
	var zero confighash.Index
	zc := zero.Clone()
	if err := zc.Put("services", svc); err != nil || zc.Len() != 1 || zero.Len() != 0 {
		t.Errorf("clone of zero Index: err %v, len %d, original len %d", err, zc.Len(), zero.Len())
	}
}

func TestComputeEmpty(t *testing.T) {
	t.Parallel()
	for _, cfg := range []map[string][]map[string]any{nil, {}, {"services": nil, "routes": {}}} {
		if got := mustCompute(t, cfg); got != confighash.Empty {
			t.Errorf("Compute(%v) = %s; want Empty", cfg, got)
		}
	}
}
