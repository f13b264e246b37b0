package admin

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gatehouse.dev/shared/schema"
)

// Infer converts the values of a form or multipart body (strings, lists of
// strings and nested maps) to the types the schema gives their fields, as
// Kong's arguments.infer does: numbers for integer and number fields,
// true/false for booleans, a single value wrapped into a one-element
// array for arrays and sets, map values and record fields recursively, and
// an empty string becomes null. s.EachField specializes the fields for
// args, so a plugin's config is inferred with the plugin's own schema
// (selected by args["name"]). Values of unknown fields and values that do
// not convert are left for validation to report. args is modified and
// returned.
func Infer(s *schema.Schema, args map[string]any) map[string]any {
	if args == nil {
		return nil
	}
	s.EachField(args, func(f *schema.Field) {
		if v, ok := args[f.Name]; ok && v != nil {
			args[f.Name] = inferValue(v, f)
		}
	})
	for i := range s.Shorthands {
		f := s.Shorthands[i].Field
		if v, ok := args[f.Name]; ok && v != nil {
			args[f.Name] = inferValue(v, f)
		}
	}
	return args
}

// inferValue is Kong's infer_value for one value and its field.
func inferValue(v any, f *schema.Field) any {
	if v == nil || f == nil {
		return v
	}
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	switch f.Type {
	case schema.Integer, schema.Number:
		if s, ok := v.(string); ok {
			if n, ok := luaNumber(s, f.Type == schema.Integer); ok {
				return n
			}
		}
	case schema.Boolean:
		switch v {
		case "true":
			return true
		case "false":
			return false
		}
	case schema.Array, schema.Set:
		list, ok := v.([]any)
		if !ok {
			if m, isMap := v.(map[string]any); isMap {
				list = mapToList(m)
			} else {
				list = []any{v}
			}
		}
		for i, el := range list {
			list[i] = inferValue(el, f.Elements)
		}
		return list
	case schema.Map:
		if m, ok := v.(map[string]any); ok {
			for k, el := range m {
				m[k] = inferValue(el, f.Values)
			}
		}
	case schema.String, schema.Foreign:
		// Strings stay; foreign keys ({"name": ...}) hold strings.
	case schema.Record:
		if m, ok := v.(map[string]any); ok && f.Fields != nil {
			for k, el := range m {
				if sub := f.Field(k); sub != nil && el != nil {
					m[k] = inferValue(el, sub)
				}
			}
			for i := range f.Shorthands {
				sh := f.Shorthands[i].Field
				if el, ok := m[sh.Name]; ok && el != nil {
					m[sh.Name] = inferValue(el, sh)
				}
			}
		}
	}
	return v
}

// mapToList turns a map whose keys are all numbers ({"1": a, "2": b},
// what `x[1]=a&x[2]=b` may decode to) into a list in key order; any other
// map becomes a one-element list, which validation then reports.
func mapToList(m map[string]any) []any {
	keys := make([]int, 0, len(m))
	for k := range m {
		n, err := strconv.Atoi(k)
		if err != nil {
			return []any{m}
		}
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = m[strconv.Itoa(k)]
	}
	return out
}

var (
	decimalRe = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)
	hexRe     = regexp.MustCompile(`^[-+]?0[xX][0-9a-fA-F]+$`)
)

// luaNumber is Lua's tonumber for the strings a form carries: decimal
// (with fraction and exponent) or hexadecimal, surrounded by optional
// spaces. Integer fields get an int64 when the value is integral.
func luaNumber(s string, integer bool) (any, bool) {
	s = strings.TrimSpace(s)
	switch {
	case hexRe.MatchString(s):
		neg := strings.HasPrefix(s, "-")
		digits := strings.TrimLeft(s, "+-")[2:]
		n, err := strconv.ParseUint(digits, 16, 64)
		if err != nil || n > math.MaxInt64 {
			return nil, false
		}
		if neg {
			return -int64(n), true
		}
		return int64(n), true
	case decimalRe.MatchString(s):
		if integer {
			if n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64); err == nil {
				return n, true
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		if integer && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
		return f, true
	}
	return nil, false
}
