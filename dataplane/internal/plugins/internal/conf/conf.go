// Package conf reads a plugin's validated configuration record
// (pdk.Config.Config) into typed values. The record has been validated
// against the plugin's schema in shared/plugin, so the getters only
// tolerate what validation lets through: absent or null fields, and the
// Go types a JSON decoder or the schema's processing produce.
package conf

import (
	"maps"

	"gatehouse.dev/shared/schema"
)

// String returns m[key] as a string, "" when absent, null or not a
// string.
func String(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// Bool returns m[key] as a boolean, false when absent or null.
func Bool(m map[string]any, key string) bool {
	b, _ := m[key].(bool)
	return b
}

// Float returns m[key] as a number and whether it is one (false when
// absent or null).
func Float(m map[string]any, key string) (float64, bool) {
	return schema.AsFloat(m[key])
}

// Int returns m[key] as an integer and whether it is an integral number.
func Int(m map[string]any, key string) (int64, bool) {
	return schema.AsInt(m[key])
}

// Strings returns the string elements of the array m[key], nil when
// absent or null. Elements that are not strings are skipped.
func Strings(m map[string]any, key string) []string {
	switch v := m[key].(type) {
	case []string:
		return append([]string(nil), v...)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Record returns the record m[key], nil when absent or null.
func Record(m map[string]any, key string) map[string]any {
	r, _ := m[key].(map[string]any)
	return r
}

// StringMap returns the map m[key] with its string values, nil when
// absent or null.
func StringMap(m map[string]any, key string) map[string]string {
	var out map[string]string
	switch v := m[key].(type) {
	case map[string]string:
		out = maps.Clone(v)
	case map[string]any:
		out = make(map[string]string, len(v))
		for k, e := range v {
			if s, ok := e.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}
