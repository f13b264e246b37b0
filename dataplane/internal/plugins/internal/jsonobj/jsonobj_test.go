package jsonobj_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"gatehouse.dev/dataplane/internal/plugins/internal/jsonobj"
)

func parse(t *testing.T, s string) *jsonobj.Object {
	t.Helper()
	o, err := jsonobj.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return o
}

func TestParseKeepsOrderAndBytes(t *testing.T) {
	t.Parallel()
	o := parse(t, ` { "b" : 1.50 , "a": {"z": [ 1 ]}, "b": 2e3, "esc\u00e9": "x\/y" } `)
	if got := string(o.Bytes()); got != `{"b":2e3,"a":{"z": [ 1 ]},"escé":"x\/y"}` {
		t.Errorf("Bytes = %s", got)
	}
	for _, bad := range []string{`[1]`, `"s"`, `null`} {
		if _, err := jsonobj.Parse([]byte(bad)); !errors.Is(err, jsonobj.ErrNotObject) {
			t.Errorf("Parse(%s) = %v, want ErrNotObject", bad, err)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":}`, `{"a":1}x`, `[1`} {
		if _, err := jsonobj.Parse([]byte(bad)); err == nil || errors.Is(err, jsonobj.ErrNotObject) {
			t.Errorf("Parse(%s) = %v, want a decode error", bad, err)
		}
	}
}

func TestEdits(t *testing.T) {
	t.Parallel()
	o := parse(t, `{"s":"v","a":[],"n":1,"t":true,"f":false,"z":null,"o":{"k":1},"e":{}}`)
	if !o.Truthy("z") || o.Truthy("f") || !o.Truthy("n") || o.Truthy("absent") || !o.Has("f") {
		t.Error("truthiness is not Lua's")
	}
	x := jsonobj.String("x")
	for _, name := range []string{"s", "a", "n", "t", "f", "z", "o", "e", "new"} {
		o.Append(name, x)
	}
	want := `{"s":["v","x"],"a":["x"],"n":["x"],"t":["x"],"f":["x"],"z":["x"],"o":{"k":1,"1":"x"},"e":["x"],"new":["x"]}`
	if got := string(o.Bytes()); got != want {
		t.Errorf("after Append:\n%s\nwant\n%s", got, want)
	}
	o.Rename("s", "renamed")
	o.Rename("a", "n")
	o.Rename("absent", "n")
	o.Del("o")
	o.Set("t", jsonobj.Number(1.0/3))
	o.Set("f", jsonobj.Bool(true))
	want = `{"renamed":["v","x"],"n":["x"],"t":0.33333333333333,"f":true,"z":["x"],"e":["x"],"new":["x"]}`
	if got := string(o.Bytes()); got != want {
		t.Errorf("after edits:\n%s\nwant\n%s", got, want)
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	if got := string(jsonobj.String("a\"b\\c\n\t\x01<&>/é")); got != `"a\"b\\c\n\t\u0001<&>/é"` {
		t.Errorf("String = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null],"a":"x"}`, `{}`, `[1]`, `{"é\n":{"x":{}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := jsonobj.Parse([]byte(s))
		if err != nil {
			return
		}
		out := o.Bytes()
		var in, back any
		if err := json.Unmarshal([]byte(s), &in); err != nil {
			t.Fatalf("Parse accepted %q that encoding/json refuses: %v", s, err)
		}
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Bytes() = %q is not JSON: %v", out, err)
		}
		if !reflect.DeepEqual(in, back) {
			t.Errorf("%q became %q", s, out)
		}
	})
}
