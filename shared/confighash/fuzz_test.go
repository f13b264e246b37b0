package confighash_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"gatehouse.dev/shared/confighash"
)

// fuzzSource turns fuzz input into JSON values and operations. Reads past
// the end return zeros, so every input is usable.
type fuzzSource struct {
	data []byte
	// bigFloat records that an integral float64 beyond ±2^53 was generated;
	// such values do not survive an encoding/json round trip with UseNumber
	// (see the package documentation), so that check is skipped for them.
	bigFloat bool
}

func (s *fuzzSource) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	b := s.data[0]
	s.data = s.data[1:]
	return b
}

func (s *fuzzSource) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (s *fuzzSource) int64() int64 {
	var v int64
	for range 8 {
		v = v<<8 | int64(s.byte())
	}
	return v
}

func (s *fuzzSource) string() string {
	n := int(s.byte() % 8)
	b := make([]byte, n)
	for i := range b {
		b[i] = s.byte()
	}
	return string(b)
}

var fuzzKeys = []string{"id", "name", "config", "tags", "a", "b", "é", "🚀"}

func (s *fuzzSource) value(depth int) any {
	switch k := s.byte() % 16; k {
	case 0:
		return nil
	case 1:
		return s.byte()%2 == 0
	case 2, 3:
		return s.string()
	case 4:
		return int(s.byte()) - 128
	case 5:
		return s.int64()
	case 6:
		return s.uint64()
	case 7:
		return float64(int16(s.byte())<<8|int16(s.byte())) / float64(1+s.byte())
	case 8:
		f := math.Float64frombits(s.uint64())
		if f == math.Trunc(f) && math.Abs(f) > 1<<53 && !math.IsInf(f, 0) {
			s.bigFloat = true
		}
		return f
	case 9:
		if s.byte()%2 == 0 {
			return json.Number(s.string())
		}
		return json.Number(strconv.Itoa(int(int16(s.byte())<<8|int16(s.byte()))) + []string{"", ".0", "e1", ".5", "E-2"}[s.byte()%5])
	case 10, 11:
		if depth > 4 {
			return nil
		}
		n := int(s.byte() % 4)
		if n == 3 {
			return []any(nil)
		}
		a := make([]any, n)
		for i := range a {
			a[i] = s.value(depth + 1)
		}
		return a
	case 12, 13:
		if depth > 4 {
			return nil
		}
		return s.object(depth + 1)
	case 14:
		if s.byte() == 0xff {
			return struct{}{} // unsupported
		}
		return map[string]any(nil)
	default:
		return "v" + strconv.Itoa(int(s.byte()))
	}
}

func (s *fuzzSource) object(depth int) map[string]any {
	n := int(s.byte() % 5)
	m := make(map[string]any, n)
	for range n {
		key := fuzzKeys[int(s.byte())%len(fuzzKeys)]
		if s.byte()%8 == 0 {
			key = s.string()
		}
		m[key] = s.value(depth)
	}
	return m
}

var (
	fuzzTypes = []string{"services", "routes", "plugins", ""}
	fuzzIDs   = []string{"id-1", "id-2", "id-3", "id-4", ""}
)

// isPackageError reports whether err is one of the errors the package
// documents.
func isPackageError(err error) bool {
	for _, e := range []error{
		confighash.ErrUnsupportedType, confighash.ErrNonFinite, confighash.ErrInvalidNumber,
		confighash.ErrInvalidUTF8, confighash.ErrTooDeep, confighash.ErrInvalidType,
		confighash.ErrMissingID, confighash.ErrDuplicateID,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// equivalent returns a copy of v that must encode the same: integral
// numbers within ±2^53 change Go type, non-integral floats become
// json.Numbers, and maps gain null members.
func equivalent(v any, flip *int) any {
	*flip++
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return nil // null either way
		}
		c := make(map[string]any, len(x)+1)
		for k, e := range x {
			c[k] = equivalent(e, flip)
		}
		if _, ok := c["zz-null"]; !ok {
			c["zz-null"] = nil
		}
		return c
	case []any:
		if x == nil {
			return map[string]any(nil) // also null
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = equivalent(e, flip)
		}
		return c
	case int:
		return retype(int64(x), *flip)
	case int64:
		if x >= -1<<53 && x <= 1<<53 {
			return retype(x, *flip)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return retype(int64(x), *flip)
		}
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return json.Number(strconv.FormatFloat(x, 'e', -1, 64))
		}
	}
	return v
}

func retype(n int64, flip int) any {
	switch flip % 3 {
	case 0:
		return float64(n)
	case 1:
		return json.Number(strconv.FormatInt(n, 10))
	}
	return n
}

func lists(model map[string]map[string]map[string]any, reverse bool) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for typ, byID := range model {
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range byID {
				if !yield(id) {
					return
				}
			}
		})
		if reverse {
			slices.Reverse(ids)
		}
		for _, id := range ids {
			out[typ] = append(out[typ], byID[id])
		}
	}
	return out
}

// FuzzHash applies a sequence of Put and Delete operations built from the
// input to an Index and checks that: nothing panics; a failed Put changes
// nothing and returns a documented error; the incremental hash equals
// Compute from scratch; the hash does not depend on insertion order, key
// order, number types or null members; canonical encodings are valid JSON
// that survives an encoding/json round trip.
func FuzzHash(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 3, 4, 12, 2, 1, 2, 7, 1, 2, 3})
	f.Add([]byte("\x01\x02\x03services routes plugins\xff\xfe\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0"))
	f.Add(bytes.Repeat([]byte{12, 3, 5, 9, 1, 0, 200, 7, 13}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &fuzzSource{data: data}
		var ix confighash.Index
		model := map[string]map[string]map[string]any{}
		nOps := int(src.byte()%24) + 1
		for range nOps {
			op := src.byte()
			typ := fuzzTypes[int(src.byte())%len(fuzzTypes)]
			id := fuzzIDs[int(src.byte())%len(fuzzIDs)]
			if op%4 == 3 {
				_, had := model[typ][id]
				if got := ix.Delete(typ, id); got != had {
					t.Fatalf("Delete(%q, %q) = %v; model says %v", typ, id, got, had)
				}
				delete(model[typ], id)
				continue
			}
			entity := src.object(1)
			switch op % 4 {
			case 0:
				entity["id"] = id
			case 1:
				entity["id"] = src.value(2) // usually not a valid id
			}
			before, n := ix.Hash(), ix.Len()
			if err := ix.Put(typ, entity); err != nil {
				if !isPackageError(err) {
					t.Fatalf("Put: undocumented error %v", err)
				}
				if ix.Hash() != before || ix.Len() != n {
					t.Fatalf("failed Put (%v) changed the Index", err)
				}
				continue
			}
			if model[typ] == nil {
				model[typ] = map[string]map[string]any{}
			}
			model[typ][entity["id"].(string)] = entity
		}

		n := 0
		for _, byID := range model {
			n += len(byID)
		}
		if ix.Len() != n {
			t.Fatalf("Len = %d; model has %d", ix.Len(), n)
		}
		want := ix.Hash()
		if (n == 0) != (want == confighash.Empty) {
			t.Fatalf("%d entities hash to %s", n, want)
		}
		for _, reverse := range []bool{false, true} {
			got, err := confighash.Compute(lists(model, reverse))
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got != want {
				t.Fatalf("Compute (reverse=%v) = %s; incremental Index has %s", reverse, got, want)
			}
		}
		flip := int(src.byte())
		equiv := map[string][]map[string]any{}
		for typ, list := range lists(model, false) {
			for _, e := range list {
				equiv[typ] = append(equiv[typ], equivalent(e, &flip).(map[string]any))
			}
		}
		if got, err := confighash.Compute(equiv); err != nil || got != want {
			t.Fatalf("equivalent configuration: %s, %v; want %s", got, err, want)
		}
		if c := ix.Clone(); c.Hash() != want || c.Len() != n {
			t.Fatalf("Clone: %s, %d; want %s, %d", c.Hash(), c.Len(), want, n)
		}

		for _, byID := range model {
			for _, e := range byID {
				canon, err := confighash.Canonical(e)
				if err != nil {
					t.Fatalf("Canonical of an accepted entity: %v", err)
				}
				if !json.Valid(canon) {
					t.Fatalf("Canonical is not valid JSON: %q", canon)
				}
				if src.bigFloat {
					continue
				}
				wire, err := json.Marshal(e)
				if err != nil {
					t.Fatalf("json.Marshal: %v", err)
				}
				dec := json.NewDecoder(bytes.NewReader(wire))
				dec.UseNumber()
				var back map[string]any
				if err := dec.Decode(&back); err != nil {
					t.Fatalf("decode %s: %v", wire, err)
				}
				again, err := confighash.Canonical(back)
				if err != nil || !bytes.Equal(again, canon) {
					t.Fatalf("JSON round trip: %s, %v; want %s", again, err, canon)
				}
			}
		}
	})
}
