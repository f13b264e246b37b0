package store

import (
	"encoding/json"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// uniqueKey is one unique constraint of a type: a single field, or the
// type's cache key (several fields, nulls included).
type uniqueKey struct {
	name   string   // key_name in entity_keys: "name", or "cache_key"
	fields []string // the fields it covers
	cache  bool
}

func uniqueKeys(t *entity.Type) []uniqueKey {
	var out []uniqueKey
	for _, f := range t.Schema.Fields {
		if f.Unique && f.Name != "id" {
			out = append(out, uniqueKey{name: f.Name, fields: []string{f.Name}})
		}
	}
	if len(t.Schema.CacheKey) > 1 || len(t.Schema.CacheKey) == 1 && !isUniqueField(t, t.Schema.CacheKey[0]) {
		out = append(out, uniqueKey{name: "cache_key", fields: t.Schema.CacheKey, cache: true})
	}
	return out
}

func isUniqueField(t *entity.Type, name string) bool {
	f := t.Schema.Field(name)
	return f != nil && f.Unique
}

// value returns the key's stored value for an entity, and false when the
// key does not apply (a single unique field that is null: SQL unique
// constraints ignore nulls, and so does Kong).
func (k uniqueKey) value(t *entity.Type, e map[string]any) (string, bool) {
	if !k.cache {
		v := e[k.fields[0]]
		if v == nil {
			return "", false
		}
		return keyText(t, k.fields[0], v), true
	}
	parts := make([]any, len(k.fields))
	for i, f := range k.fields {
		parts[i] = keyPart(e[f])
	}
	b, _ := json.Marshal(parts)
	return string(b), true
}

// keyText is the stored form of a single-field key. Foreign keys are
// stored by id; text is kept as it is (Kong's uniques are case-sensitive).
func keyText(t *entity.Type, field string, v any) string {
	if f := t.Schema.Field(field); f != nil && f.Type == schema.Foreign {
		return foreignID(v)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return schema.FormatValue(v)
}

func keyPart(v any) any {
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"].(string); ok {
			return strings.ToLower(id)
		}
	}
	return v
}

// violation describes a unique key in Kong's message form:
// {name="foo"} or {consumer=null,name="basic-auth",...}.
func (k uniqueKey) violation(e map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range k.fields {
		v := e[f]
		if m, ok := v.(map[string]any); ok {
			v = map[string]any{"id": m["id"]}
		}
		out[f] = v
	}
	return out
}

func foreignID(v any) string {
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"].(string); ok {
			return strings.ToLower(id)
		}
	}
	return ""
}

func tagsOf(e map[string]any) []string {
	list, _ := e["tags"].([]any)
	if list == nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
