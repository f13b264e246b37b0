package confighash_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/confighash"
)

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, `null`},
		{"true", true, `true`},
		{"false", false, `false`},
		{"empty object", map[string]any{}, `{}`},
		{"nil map", map[string]any(nil), `null`},
		{"empty array", []any{}, `[]`},
		{"nil slice", []any(nil), `null`},
		{"sorted keys", map[string]any{"b": 1, "a": 2, "B": 3, "aa": 4}, `{"B":3,"a":2,"aa":4,"b":1}`},
		{"keys in byte order", map[string]any{"é": 1, "z": 2, "日": 3, "🚀": 4}, `{"z":2,"é":1,"日":3,"🚀":4}`},
		{"null members omitted", map[string]any{"a": 1, "b": nil, "c": map[string]any(nil), "d": []any(nil)}, `{"a":1}`},
		{"null members omitted recursively", map[string]any{"a": map[string]any{"x": nil, "y": map[string]any{"z": nil}}}, `{"a":{"y":{}}}`},
		{"nulls kept in arrays", []any{nil, 1, nil, map[string]any{"k": nil}}, `[null,1,null,{}]`},
		{"nested", map[string]any{"cfg": map[string]any{"list": []any{"a", []any{true}}, "n": 1.5}}, `{"cfg":{"list":["a",[true]],"n":1.5}}`},
		{"plain string", "hello", `"hello"`},
		{"no HTML escaping", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"slash kept", "/v1/items", `"/v1/items"`},
		{"quote and backslash", `say "hi" \o/`, `"say \"hi\" \\o/"`},
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other controls", "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"DEL raw", "\x7f", "\"\x7f\""},
		{"line separators raw", "\u2028\u2029", "\"\u2028\u2029\""},
		{"unicode raw", "jöhn 日本 🚀", `"jöhn 日本 🚀"`},
		{"escaped key", map[string]any{"a\"b": 1}, `{"a\"b":1}`},
		{"int", 5, `5`},
		{"negative int", -12, `-12`},
		{"int8", int8(-128), `-128`},
		{"int16", int16(300), `300`},
		{"int32", int32(-70000), `-70000`},
		{"int64 max", int64(math.MaxInt64), `9223372036854775807`},
		{"int64 min", int64(math.MinInt64), `-9223372036854775808`},
		{"uint", uint(7), `7`},
		{"uint8", uint8(255), `255`},
		{"uint16", uint16(65535), `65535`},
		{"uint32", uint32(math.MaxUint32), `4294967295`},
		{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"float integral", 5.0, `5`},
		{"float zero", 0.0, `0`},
		{"float negative zero", math.Copysign(0, -1), `0`},
		{"float 2^53", float64(1 << 53), `9007199254740992`},
		{"float -2^53", -float64(1 << 53), `-9007199254740992`},
		{"float 2^53+2", float64(1<<53 + 2), `9007199254740994`},
		{"float 1e21", 1e21, `1e+21`},
		{"float half", 0.5, `0.5`},
		{"float negative", -2.25, `-2.25`},
		{"float timestamp", 1700000000.123, `1700000000.123`},
		{"float small", 0.0001, `0.0001`},
		{"float tiny", 1e-7, `1e-7`},
		{"float six digits", 123456.7, `123456.7`},
		{"float seven digits", 1234567.5, `1234567.5`},
		{"float tenth", 0.1, `0.1`},
		{"float smallest", 5e-324, `5e-324`},
		{"float largest", math.MaxFloat64, `1.7976931348623157e+308`},
		{"number integer", json.Number("5"), `5`},
		{"number negative zero", json.Number("-0"), `0`},
		{"number big integer", json.Number("123456789012345678901234567890"), `123456789012345678901234567890`},
		{"number fraction zero", json.Number("5.0"), `5`},
		{"number exponent", json.Number("5e0"), `5`},
		{"number exponent integral", json.Number("1E3"), `1000`},
		{"number fraction", json.Number("0.50"), `0.5`},
		{"number negative fraction zero", json.Number("-0.0"), `0`},
		{"number timestamp", json.Number("1700000000.123"), `1700000000.123`},
		{"number exponent large", json.Number("1e20"), `100000000000000000000`},
		{"float 1e20 as encoding/json writes it", 1e20, `100000000000000000000`},
		{"float 1e21", 1e21, `1e+21`},
		{"number underflow", json.Number("1e-400"), `0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := confighash.Canonical(tt.in)
			if err != nil {
				t.Fatalf("Canonical(%#v): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonical(%#v) = %s; want %s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Canonical(%#v) = %s is not valid JSON", tt.in, got)
			}
		})
	}
}

// TestCanonicalNumberTypes checks that one numeric value encodes the same
// whichever Go type holds it.
func TestCanonicalNumberTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []any
	}{
		{"five", []any{5, int8(5), int16(5), int32(5), int64(5), uint(5), uint8(5), uint16(5), uint32(5), uint64(5), 5.0, json.Number("5"), json.Number("5.0"), json.Number("0.5e1"), json.Number("50e-1")}},
		{"zero", []any{0, int64(0), uint64(0), 0.0, math.Copysign(0, -1), json.Number("0"), json.Number("-0"), json.Number("0.0"), json.Number("-0e5")}},
		{"negative", []any{-42, int64(-42), -42.0, json.Number("-42"), json.Number("-4.2e1")}},
		{"2^53", []any{int64(1 << 53), uint64(1 << 53), float64(1 << 53), json.Number("9007199254740992"), json.Number("9.007199254740992e15")}},
		{"fraction", []any{1.5, json.Number("1.5"), json.Number("15e-1"), json.Number("1.50")}},
		{"timestamp", []any{1700000000.123, json.Number("1700000000.123"), json.Number("1.700000000123e9")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := confighash.Canonical(tt.values[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.values[1:] {
				got, err := confighash.Canonical(v)
				if err != nil {
					t.Fatalf("Canonical(%T %v): %v", v, v, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Canonical(%T %v) = %s; want %s", v, v, got, want)
				}
			}
		})
	}
}

func TestCanonicalErrors(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{"a": 1}
	cyclic["self"] = cyclic
	deep := any(1)
	for range 10001 {
		deep = []any{deep}
	}
	tests := []struct {
		name     string
		in       any
		want     error
		wantText string
	}{
		{"NaN", math.NaN(), confighash.ErrNonFinite, "at $: non-finite number"},
		{"+Inf", math.Inf(1), confighash.ErrNonFinite, ""},
		{"-Inf", math.Inf(-1), confighash.ErrNonFinite, ""},
		{"NaN nested", map[string]any{"config": map[string]any{"limits": []any{1, math.NaN()}}}, confighash.ErrNonFinite, "at $.config.limits[1]: non-finite number"},
		{"number overflow", json.Number("1e400"), confighash.ErrNonFinite, ""},
		{"chan", make(chan int), confighash.ErrUnsupportedType, "unsupported type chan int"},
		{"struct", struct{ A int }{1}, confighash.ErrUnsupportedType, "unsupported type struct { A int }"},
		{"float32", float32(0.5), confighash.ErrUnsupportedType, ""},
		{"typed string slice", []string{"a"}, confighash.ErrUnsupportedType, ""},
		{"typed map", map[string]string{"a": "b"}, confighash.ErrUnsupportedType, ""},
		{"pointer", new(int), confighash.ErrUnsupportedType, ""},
		{"func in map", map[string]any{"odd key": func() {}}, confighash.ErrUnsupportedType, `at $["odd key"]: unsupported type func()`},
		{"invalid UTF-8 value", map[string]any{"name": "a\xffb"}, confighash.ErrInvalidUTF8, "at $.name: invalid UTF-8"},
		{"invalid UTF-8 key", map[string]any{"\xfe": 1}, confighash.ErrInvalidUTF8, ""},
		{"truncated UTF-8", "\xe6\x97", confighash.ErrInvalidUTF8, ""},
		{"empty number", json.Number(""), confighash.ErrInvalidNumber, ""},
		{"number with plus", json.Number("+1"), confighash.ErrInvalidNumber, ""},
		{"number leading zero", json.Number("01"), confighash.ErrInvalidNumber, ""},
		{"number trailing dot", json.Number("1."), confighash.ErrInvalidNumber, ""},
		{"number leading dot", json.Number(".5"), confighash.ErrInvalidNumber, ""},
		{"number bare exponent", json.Number("1e"), confighash.ErrInvalidNumber, ""},
		{"number hex", json.Number("0x10"), confighash.ErrInvalidNumber, ""},
		{"number inf", json.Number("Inf"), confighash.ErrInvalidNumber, ""},
		{"number NaN", json.Number("NaN"), confighash.ErrInvalidNumber, ""},
		{"number underscore", json.Number("1_000"), confighash.ErrInvalidNumber, ""},
		{"number space", json.Number(" 1"), confighash.ErrInvalidNumber, ""},
		{"cycle", cyclic, confighash.ErrTooDeep, "at $.self.self.self"},
		{"too deep", deep, confighash.ErrTooDeep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := confighash.Canonical(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Canonical(%T) = %q, %v; want %v", tt.in, got, err, tt.want)
			}
			if got != nil {
				t.Errorf("Canonical(%T) returned %q with an error; want nil", tt.in, got)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestCanonicalDepthLimit(t *testing.T) {
	t.Parallel()
	nest := func(levels int) any {
		v := any(map[string]any{})
		for range levels - 1 {
			v = []any{v}
		}
		return v
	}
	if _, err := confighash.Canonical(nest(10000)); err != nil {
		t.Errorf("10000 levels: %v; want success", err)
	}
	if _, err := confighash.Canonical(nest(10001)); !errors.Is(err, confighash.ErrTooDeep) {
		t.Errorf("10001 levels: %v; want ErrTooDeep", err)
	}
}

func TestAppendCanonical(t *testing.T) {
	t.Parallel()
	dst := []byte("prefix:")
	got, err := confighash.AppendCanonical(dst, map[string]any{"b": 2, "a": []any{1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `prefix:{"a":[1],"b":2}`; string(got) != want {
		t.Errorf("AppendCanonical = %s; want %s", got, want)
	}
	got, err = confighash.AppendCanonical(dst, map[string]any{"x": math.NaN()})
	if err == nil || string(got) != "prefix:" {
		t.Errorf("AppendCanonical with NaN = %q, %v; want dst unchanged and an error", got, err)
	}
}

// TestCanonicalJSONRoundTrip checks that a value and its encoding/json round
// trip (with and without UseNumber) encode the same, which is what lets a
// data plane check the hash of what the control plane sent.
func TestCanonicalJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for typ, list := range goldenMixed() {
		for _, entity := range list {
			t.Run(typ+"/"+entity["id"].(string), func(t *testing.T) {
				t.Parallel()
				want, err := confighash.Canonical(entity)
				if err != nil {
					t.Fatal(err)
				}
				wire, err := json.Marshal(entity)
				if err != nil {
					t.Fatal(err)
				}
				for _, useNumber := range []bool{false, true} {
					dec := json.NewDecoder(bytes.NewReader(wire))
					if useNumber {
						dec.UseNumber()
					}
					var back map[string]any
					if err := dec.Decode(&back); err != nil {
						t.Fatal(err)
					}
					got, err := confighash.Canonical(back)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("UseNumber=%v: round trip encodes as\n%s\nwant\n%s", useNumber, got, want)
					}
				}
			})
		}
	}
}

// TestAppendCanonicalKeepsCallerMemory checks that a failed AppendCanonical
// does not leave the caller's buffer in the encoder pool, where later calls
// would write into it.
func TestAppendCanonicalKeepsCallerMemory(t *testing.T) {
	t.Parallel()
	dst := make([]byte, 0, 4096)
	bad := map[string]any{"a": strings.Repeat("x", 100), "b": math.NaN()}
	if _, err := confighash.AppendCanonical(dst, bad); err == nil {
		t.Fatal("AppendCanonical with NaN succeeded")
	}
	snapshot := slices.Clone(dst[:cap(dst)])
	for range 100 {
		if _, err := confighash.Canonical(map[string]any{"z": strings.Repeat("y", 200)}); err != nil {
			t.Fatal(err)
		}
		if _, err := confighash.EntityDigest("services", map[string]any{"id": strings.Repeat("w", 200)}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(dst[:cap(dst)], snapshot) {
		t.Error("later encodings wrote into the caller's buffer")
	}
}

// TestFloatsSurviveJSONWithUseNumber pins the reason floats are written the
// way encoding/json writes them: whatever the magnitude, the control plane's
// float64 and the data plane's json.Number (decoded with UseNumber from the
// JSON the control plane sent) encode the same.
func TestFloatsSurviveJSONWithUseNumber(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0.5, 1e-7, 123.456, 1700000000.123, 1 << 60, 1e20, 1e21, -3.5e300, 9007199254740993} {
		text, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		fromFloat, err1 := confighash.Canonical(f)
		fromNumber, err2 := confighash.Canonical(json.Number(text))
		if err1 != nil || err2 != nil || string(fromFloat) != string(fromNumber) {
			t.Errorf("%v: float encodes %s (%v), its JSON %s read back encodes %s (%v)", f, fromFloat, err1, text, fromNumber, err2)
		}
	}
}
