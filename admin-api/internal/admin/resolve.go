package admin

import (
	"context"
	"strings"
	"unicode/utf8"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// lookup finds the entity of type t that a path segment names, as Kong's
// query_entity does: a UUID is an id; anything else is the type's endpoint
// key, whose value must pass the field's validation (else code 10). A type
// without an endpoint key answers code 1 for a non-UUID. It returns nil
// when no entity matches. The filter it used is returned for code-6
// messages ({id=...} or {name=...}).
func (s *Service) lookup(ctx context.Context, r reader, t *entity.Type, key string) (map[string]any, map[string]any, error) {
	key = validUTF8(key)
	if schema.IsUUID(key) {
		filter := map[string]any{"id": key}
		e, err := r.Get(ctx, t.Name, key)
		return found(e, err, filter)
	}
	ek := t.Schema.EndpointKey
	if ek == "" {
		return nil, nil, schema.InvalidPrimaryKey(map[string]any{"id": "expected a valid UUID"})
	}
	f := t.Schema.Field(ek)
	value := inferValue(key, f)
	if msg := schema.ValidateField(f, value); msg != nil {
		return nil, nil, invalidUnique(ek, msg)
	}
	filter := map[string]any{ek: value}
	if !f.Unique {
		// Targets: the endpoint key is unique only within the parent,
		// which callers resolve themselves.
		return nil, filter, nil
	}
	e, err := r.GetByKey(ctx, t.Name, ek, value)
	return found(e, err, filter)
}

func found(e map[string]any, err error, filter map[string]any) (map[string]any, map[string]any, error) {
	if isNotFound(err) {
		return nil, filter, nil
	}
	if err != nil {
		return nil, filter, err
	}
	return e, filter, nil
}

// lookupForWrite is lookup for an entity that a write will replace: the
// computed "ttl" read-out is removed so the entity can be merged and
// validated again.
func (s *Service) lookupForWrite(ctx context.Context, r reader, t *entity.Type, key string) (map[string]any, map[string]any, error) {
	e, filter, err := s.lookup(ctx, r, t, key)
	if e != nil && t.TTL {
		delete(e, "ttl")
	}
	return e, filter, err
}

// notFound is the code-6 error for a filter lookup returned.
func notFound(filter map[string]any) *schema.Error {
	if _, byID := filter["id"]; byID && len(filter) == 1 {
		return schema.NotFound(filter)
	}
	return schema.NotFoundByField(filter)
}

// resolveForeign replaces foreign keys given by a unique field of the
// referenced entity ({"name": "x"}) with {"id": ...}, as Kong's DAO
// resolve_foreign does; one that matches nothing is code 13. A valid id
// keeps only the id; anything else is left for validation to report.
func (s *Service) resolveForeign(ctx context.Context, r reader, t *entity.Type, fields map[string]any) error {
	for _, fk := range t.ForeignKeys() {
		m, ok := fields[fk.Field].(map[string]any)
		if !ok {
			continue
		}
		if id, ok := m["id"].(string); ok && schema.IsUUID(id) {
			fields[fk.Field] = map[string]any{"id": strings.ToLower(id)}
			continue
		}
		ref := s.cat.Type(fk.Reference)
		if ref == nil {
			continue
		}
		for _, f := range ref.Schema.Fields {
			if !f.Unique && ref.Schema.EndpointKey != f.Name || f.Name == "id" {
				continue
			}
			v, given := m[f.Name]
			if !given || v == nil || schema.ValidateField(f, v) != nil {
				continue
			}
			e, err := r.GetByKey(ctx, ref.Name, f.Name, v)
			if isNotFound(err) {
				return schema.ForeignKeysUnresolved(fk.Field, f.Name, v, ref.Name)
			}
			if err != nil {
				return err
			}
			fields[fk.Field] = map[string]any{"id": e["id"]}
			break
		}
	}
	return nil
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, as JSON decoding does:
// Postgres refuses invalid text, and no stored value holds it.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// sanitize returns v with every string (keys included) valid UTF-8.
func sanitize(v any) any {
	switch t := v.(type) {
	case string:
		return validUTF8(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, el := range t {
			out[validUTF8(k)] = sanitize(el)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, el := range t {
			out[i] = sanitize(el)
		}
		return out
	}
	return v
}

// foreignID returns the id a foreign key value holds, or "".
func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return strings.ToLower(id)
}

// idOf returns an entity's id.
func idOf(e map[string]any) string {
	id, _ := e["id"].(string)
	return id
}
