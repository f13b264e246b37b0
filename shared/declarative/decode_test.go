package declarative

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  string
		want any
	}{
		{
			"json object", `{"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}`,
			map[string]any{"a": json.Number("1"), "b": []any{true, nil, "x"}, "c": map[string]any{"d": json.Number("1.5")}},
		},
		{"json duplicate keys keep the last, as cjson", `{"a": 1, "a": 2}`, map[string]any{"a": json.Number("2")}},
		{
			"yaml scalars", "i: 42\nh: 0x10\nu: 1_000\nf: 1e3\nneg: -7\nb: true\nn: ~\ns: '123'\nt: 2001-12-14\nbig: 18446744073709551615\n",
			map[string]any{
				"i": json.Number("42"), "h": json.Number("16"), "u": json.Number("1000"), "f": json.Number("1000"),
				"neg": json.Number("-7"), "b": true, "n": nil, "s": "123", "t": "2001-12-14",
				"big": json.Number("18446744073709551615"),
			},
		},
		{"yaml words stay strings", "a: yes\nb: on\nc: No\n", map[string]any{"a": "yes", "b": "on", "c": "No"}},
		{"yaml anchors and merge keys", `
base: &base {x: 1, y: 2}
list: [*base, *base]
m:
  <<: *base
  y: 3
multi:
  <<: [{a: 1}, {a: 2, b: 2}]
`, map[string]any{
			"base": map[string]any{"x": json.Number("1"), "y": json.Number("2")},
			"list": []any{
				map[string]any{"x": json.Number("1"), "y": json.Number("2")},
				map[string]any{"x": json.Number("1"), "y": json.Number("2")},
			},
			"m":     map[string]any{"x": json.Number("1"), "y": json.Number("3")},
			"multi": map[string]any{"a": json.Number("1"), "b": json.Number("2")},
		}},
		{"yaml flow mapping that is not JSON", `{a: 1, b: [x]}`, map[string]any{"a": json.Number("1"), "b": []any{"x"}}},
		{"json with trailing text is read as yaml", "{\"a\": 1}\n# comment\n", map[string]any{"a": json.Number("1")}},
		{"empty", "", nil},
		{"comment only", "# nothing\n", nil},
		{"scalar", "hello", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decode([]byte(tc.src))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decode = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	var bomb strings.Builder
	bomb.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&bomb, "%s: &%s [%s*%s]\n", name, name, strings.Repeat("*"+prev+", ", 9), prev)
		prev = name
	}
	for _, tc := range []struct {
		name, src, want string
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", `line 3: mapping key "a" already defined at line 1`},
		{"nested duplicate key", "a:\n  x: 1\n  x: 2\n", `line 3: mapping key "x" already defined at line 2`},
		{"integer key", "1: a\n", `line 1: mapping key "1" is not a string`},
		{"boolean key", "true: a\n", `line 1: mapping key "true" is not a string`},
		{"null key", "~: a\n", `mapping key "~" is not a string`},
		{"sequence key", "? [a]\n: b\n", `is not a string`},
		{"two documents", "a: 1\n---\nb: 2\n", "line 2: expected a single YAML document"},
		{"infinity", "a: .inf\n", "line 1: .inf is not a JSON number"},
		{"not a number", "a: .nan\n", "line 1: .nan is not a JSON number"},
		{"custom tag", "a: !thing x\n", "line 1: unsupported YAML tag !thing"},
		{"bad integer", "a: !!int x\n", `line 1: invalid !!int value "x"`},
		{"alias bomb", bomb.String(), "YAML aliases expand to too many values"},
		{"merge of a scalar", "a:\n  <<: 1\n", "merge key expects a mapping or a list of mappings"},
		{"syntax", "a: [1\n", "yaml: line 1: did not find expected ',' or ']'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decode([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeDeepNesting(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	v, err := decode([]byte(src))
	if err != nil {
		t.Fatalf("decode of 5000 nested arrays: %v", err)
	}
	depth := 0
	for {
		list, ok := v.([]any)
		if !ok {
			break
		}
		depth++
		if len(list) == 0 {
			break
		}
		v = list[0]
	}
	if depth != 5000 {
		t.Errorf("depth = %d, want 5000", depth)
	}
}
