package lkg

import (
	"bytes"
	"encoding/json"
	"testing"

	"gatehouse.dev/shared/confighash"
)

// decodeJSON decodes JSON text as entities arrive: numbers as json.Number.
func decodeJSON(tb testing.TB, text string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := unmarshalNumbers([]byte(text), &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestValueRoundTripKeepsTheDigest(t *testing.T) {
	t.Parallel()
	tests := []map[string]any{
		decodeJSON(t, `{"id":"x","n":5,"f":0.5,"big":12345678901234567890123,"neg":-1e-7,"s":"héllo\u0000","b":true,"z":false,"nil":null,
			"a":[1,"two",null,[3],{"k":"v"}],"o":{"deep":{"deeper":[]}},"empty":{}}`),
		// Go values from a declarative file or the Admin API.
		{"id": "y", "i": int64(7), "j": 8, "f": 1e21, "g": 5.0, "tags": []any{"a"}},
	}
	for _, e := range tests {
		data, err := encodeValue(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeObject(data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := confighash.EntityDigest("things", e)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := confighash.EntityDigest("things", got); err != nil || d != want {
			t.Errorf("digest after a round trip = %v (%v), want %v; got %v", d, err, want, got)
		}
	}
}

func TestCorruptValuesAreRefused(t *testing.T) {
	t.Parallel()
	good, err := encodeValue(nil, map[string]any{"id": "x", "list": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		if _, err := decodeObject(good[:i]); err == nil {
			t.Errorf("a value cut to %d bytes decoded", i)
		}
	}
	for _, bad := range [][]byte{
		{}, {tagString, 1, 'x'}, {tagObject, 200}, {tagNumber, 3, '"', 'x', '"'}, {99}, append(bytes.Clone(good), 0),
	} {
		if _, err := decodeObject(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func FuzzValueRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{"id":"x"}`, `{"a":[1,2,{"b":null}],"c":"d","e":1.5e300,"f":-0}`, `{"s":"\u2028<>&","n":[[[[]]]]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var e map[string]any
		if dec.Decode(&e) != nil || e == nil {
			// Not an entity: it must at least not crash the decoder.
			_, _ = decodeObject(text)
			return
		}
		want, werr := confighash.EntityDigest("t", e)
		data, err := encodeValue(nil, e)
		if err != nil {
			t.Fatalf("encode %s: %v", text, err)
		}
		got, err := decodeObject(data)
		if err != nil {
			t.Fatalf("decode of %s: %v", text, err)
		}
		d, derr := confighash.EntityDigest("t", got)
		if (werr == nil) != (derr == nil) || d != want {
			t.Fatalf("digest of %s changed: %v (%v) then %v (%v)", text, want, werr, d, derr)
		}
	})
}
