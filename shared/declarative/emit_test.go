package declarative

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// emitBoth writes v as YAML and as JSON.
func emitBoth(t *testing.T, v *orderedMap) (yamlOut, jsonOut []byte) {
	t.Helper()
	var yb, jb bytes.Buffer
	ye := &emitter{w: &yb}
	ye.yamlMapping(v.keys, v.vals, 0)
	ye.flush()
	je := &emitter{w: &jb}
	je.json(v, 0)
	je.flush()
	if ye.err != nil || je.err != nil {
		t.Fatalf("emit: %v %v", ye.err, je.err)
	}
	return yb.Bytes(), jb.Bytes()
}

// TestEmitReadsBack checks that strings the YAML emitter writes plain,
// quoted or as literal blocks read back unchanged, in every position.
func TestEmitReadsBack(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"plain", "with space", "a: b", "a #b", "true", "Yes", "NULL", "~", "~/x", "-x", "3.0", "1e3",
		"0x10", "2001-12-14", "", " lead", "trail ", "a\nb", "a\nb\n", "a\n\n", "\n", "  x\ny", "x\n  y\n",
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "tab\there", "a\tb\nc", "\x00\x7f\u0085\u2028",
		"quote\"back\\slash", "é", "\xff", "@at", "%p", "a:", "a:b", "{x}", "[x]", "*x", "&x", "!x", "|", ">",
		"7d5e8c3a-0f6b-4f0e-9c7a-1d2e3f4a5b6c", "a  b", "#x", "x #", "x\r\ny",
	} {
		checkEmit(t, s)
	}
}

func checkEmit(t *testing.T, s string) {
	t.Helper()
	doc := &orderedMap{}
	doc.add("k", s)
	doc.add(sanitizeKey(s), []any{s, []any{s}, map[string]any{"n": s}, []any{}, map[string]any{}})
	want := map[string]any{"k": s, sanitizeKey(s): []any{s, []any{s}, map[string]any{"n": s}, []any{}, map[string]any{}}}
	if !utf8.ValidString(s) {
		// Invalid UTF-8 is replaced, as encoding/json does.
		return
	}
	yamlOut, jsonOut := emitBoth(t, doc)
	for name, out := range map[string][]byte{"yaml": yamlOut, "json": jsonOut} {
		got, err := decode(out)
		if err != nil {
			t.Fatalf("%s of %q does not read back: %v\n%s", name, s, err, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s of %q reads back as %#v\n%s", name, s, got, out)
		}
	}
	var std any
	if err := json.Unmarshal(jsonOut, &std); err != nil {
		t.Fatalf("json of %q is not JSON: %v\n%s", s, err, jsonOut)
	}
}

// sanitizeKey keeps keys distinct from "k".
func sanitizeKey(s string) string {
	if s == "k" {
		return "k2"
	}
	return s
}

func FuzzEmit(f *testing.F) {
	for _, s := range []string{"plain", "a: b", "a\nb\n", "true", "", " x", "x\n  y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEmit(t, s)
	})
}
