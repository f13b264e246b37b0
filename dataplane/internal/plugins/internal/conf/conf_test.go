package conf_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

func TestGetters(t *testing.T) {
	t.Parallel()
	m := map[string]any{
		"s": "v", "b": true, "n": json.Number("1.5"), "i": json.Number("42"), "f": 3.0,
		"list": []any{"a", 1, "b"}, "strs": []string{"x"}, "rec": map[string]any{"k": "v"},
		"map": map[string]any{"a": "1", "b": 2}, "null": nil,
	}
	if conf.String(m, "s") != "v" || conf.String(m, "n") != "" || conf.String(m, "missing") != "" {
		t.Error("String")
	}
	if !conf.Bool(m, "b") || conf.Bool(m, "s") || conf.Bool(m, "null") {
		t.Error("Bool")
	}
	if f, ok := conf.Float(m, "n"); !ok || f != 1.5 {
		t.Errorf("Float = %v %v", f, ok)
	}
	if _, ok := conf.Float(m, "null"); ok {
		t.Error("Float of null")
	}
	if i, ok := conf.Int(m, "i"); !ok || i != 42 {
		t.Errorf("Int = %v %v", i, ok)
	}
	if i, ok := conf.Int(m, "f"); !ok || i != 3 {
		t.Errorf("Int(3.0) = %v %v", i, ok)
	}
	if _, ok := conf.Int(m, "n"); ok {
		t.Error("Int of 1.5")
	}
	if got := conf.Strings(m, "list"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Strings = %q", got)
	}
	if got := conf.Strings(m, "strs"); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("Strings([]string) = %q", got)
	}
	if conf.Strings(m, "null") != nil || conf.Record(m, "null") != nil || conf.StringMap(m, "null") != nil {
		t.Error("null is not nil")
	}
	if conf.Record(m, "rec")["k"] != "v" {
		t.Error("Record")
	}
	if got := conf.StringMap(m, "map"); !reflect.DeepEqual(got, map[string]string{"a": "1"}) {
		t.Errorf("StringMap = %v", got)
	}
}

func TestPairs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want conf.Pair
		ok   bool
	}{
		{"name:value", conf.Pair{Name: "name", Value: "value", HasValue: true}, true},
		{"name::value:x", conf.Pair{Name: "name", Value: "value:x", HasValue: true}, true},
		{"name:", conf.Pair{Name: "name"}, true},
		{"name", conf.Pair{Name: "name"}, true},
		{":value", conf.Pair{}, false},
		{"", conf.Pair{}, false},
	}
	for _, tt := range tests {
		if got, ok := conf.SplitPair(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("SplitPair(%q) = %+v %v, want %+v %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	got := conf.Pairs(map[string]any{"l": []any{"a:1", ":x", "b"}}, "l")
	if !reflect.DeepEqual(got, []conf.Pair{{Name: "a", Value: "1", HasValue: true}, {Name: "b"}}) {
		t.Errorf("Pairs = %+v", got)
	}
}
