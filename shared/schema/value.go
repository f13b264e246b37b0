package schema

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// DeepCopy returns a copy of a JSON value that shares no maps or slices
// with v.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = DeepCopy(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	default:
		return v
	}
}

// CopyMap returns a deep copy of m (nil stays nil).
func CopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = DeepCopy(e)
	}
	return out
}

// AsFloat returns the numeric value of a JSON number held in any of the
// Go types a decoder produces.
func AsFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float32:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return f, true
	default:
		return 0, false
	}
}

// AsInt returns v as an int64 when it is an integral JSON number.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
	}
	f, ok := AsFloat(v)
	if !ok || f != math.Trunc(f) || math.IsInf(f, 0) || f > 1<<63-1 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

func isNumber(v any) bool {
	f, ok := AsFloat(v)
	return ok && !math.IsNaN(f)
}

// IsNonEmpty is Kong's is_nonempty: not absent, not null, not an empty
// string, array or map.
func IsNonEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	default:
		return true
	}
}

// Equal reports whether two JSON values are equal, comparing numbers by
// value whatever Go type holds them.
func Equal(a, b any) bool {
	if fa, ok := AsFloat(a); ok {
		fb, ok := AsFloat(b)
		return ok && fa == fb
	}
	switch ta := a.(type) {
	case nil:
		return b == nil
	case string:
		tb, ok := b.(string)
		return ok && ta == tb
	case bool:
		tb, ok := b.(bool)
		return ok && ta == tb
	case []any:
		tb, ok := b.([]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !Equal(ta[i], tb[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !Equal(va, vb) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// FormatValue renders a scalar the way Lua's tostring does in Kong's
// messages: integral numbers without a fraction, strings as they are.
func FormatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	}
	if f, ok := AsFloat(v); ok {
		return formatNumber(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

func joinValues(vs []any, sep string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = FormatValue(v)
	}
	return strings.Join(parts, sep)
}

func quotedList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "'" + n + "'"
	}
	return strings.Join(parts, ", ")
}

// getPath returns the value at a dotted path and whether it is present.
func getPath(m map[string]any, path string) (any, bool) {
	for {
		head, rest, dotted := strings.Cut(path, ".")
		v, ok := m[head]
		if !dotted {
			return v, ok
		}
		sub, isMap := asMap(v)
		if !ok || !isMap {
			return nil, false
		}
		m, path = sub, rest
	}
}

// setPath sets the value at a dotted path, creating intermediate maps.
func setPath(m map[string]any, path string, v any) {
	for {
		head, rest, dotted := strings.Cut(path, ".")
		if !dotted {
			m[head] = v
			return
		}
		sub, ok := asMap(m[head])
		if !ok {
			sub = map[string]any{}
			m[head] = sub
		}
		m, path = sub, rest
	}
}

// fieldByPath finds the definition of a dotted path.
func (s *Schema) fieldByPath(path string) *Field {
	fields := s.Fields
	for {
		head, rest, dotted := strings.Cut(path, ".")
		f := findField(fields, head)
		if !dotted || f == nil {
			return f
		}
		fields = f.Fields
		path = rest
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// asMap accepts both plain maps and Errors trees.
func asMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case Errors:
		return t, true
	}
	return nil, false
}
