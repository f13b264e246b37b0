package schema

import (
	"crypto/rand"
	"time"
)

// Context is the CRUD operation a Process call prepares input for.
type Context int

// The contexts of Kong's process_auto_fields.
const (
	// Insert fills ids, timestamps and defaults for a new entity.
	Insert Context = iota
	// Upsert is Insert for PUT: every field not given is reset.
	Upsert
	// Update stamps updated_at and fills nothing else (a PATCH body).
	Update
	// Select normalises a stored entity: fields added since it was written
	// get their defaults or null, required nulls get their defaults.
	Select
)

var zeroTime time.Time

// Process returns a copy of input prepared for ctx, as Kong's
// process_auto_fields: auto ids and random strings on insert/upsert,
// created_at on insert/upsert when not given, updated_at on every write,
// defaults for missing fields (except on Update), nested record defaults,
// sets de-duplicated, and numbers held as int64 (integer fields) or
// float64 (number fields). now stamps timestamps; a zero now leaves them
// alone (used when validating nested records).
func (s *Schema) Process(input map[string]any, ctx Context, now time.Time) map[string]any {
	out := CopyMap(input)
	if out == nil {
		out = map[string]any{}
	}
	if ctx != Select {
		s.applyShorthands(out)
	}
	s.EachField(out, func(f *Field) {
		v, present := out[f.Name]
		if f.Auto {
			switch {
			case f.UUID:
				if (ctx == Insert || ctx == Upsert) && !present {
					v, present = NewUUID(), true
				}
			case f.Type == String:
				if (ctx == Insert || ctx == Upsert) && !present {
					v, present = RandomString(), true
				}
			case !now.IsZero() && f.Name == "created_at":
				if (ctx == Insert || ctx == Upsert) && (!present || v == nil) {
					v, present = timestamp(f, now), true
				}
			case !now.IsZero() && f.Name == "updated_at":
				if ctx != Select {
					v, present = timestamp(f, now), true
				}
			}
		}
		v, present = adjust(f, v, present, ctx)
		if present {
			out[f.Name] = v
		} else {
			delete(out, f.Name)
		}
	})
	return out
}

func timestamp(f *Field, now time.Time) any {
	if f.Type == Number {
		return float64(now.UnixMilli()) / 1000
	}
	return now.Unix()
}

// adjust is Kong's adjust_field_for_context.
func adjust(f *Field, v any, present bool, ctx Context) (any, bool) {
	if ctx == Select && present && v == nil && f.IsRequired() {
		return missingValue(f)
	}
	if f.Type == Record && !f.Abstract {
		recurse := present && v != nil
		if ctx != Update && !present && f.IsRequired() {
			recurse = true
		}
		if recurse {
			if !present {
				v, present = missingValue(f)
			}
			if m, ok := v.(map[string]any); ok {
				return recordSchema(f).Process(m, ctx, zeroTime), true
			}
		}
	}
	if !present {
		if ctx == Update {
			return nil, false
		}
		return missingValue(f)
	}
	return normalize(f, v), true
}

// missingValue is Kong's handle_missing_field: the default, else null for
// optional fields, else the expanded defaults of a required record, else
// absent (validation then reports the required field).
func missingValue(f *Field) (any, bool) {
	if f.Default != nil {
		return DeepCopy(f.Default), true
	}
	if !f.IsRequired() {
		return nil, true
	}
	if f.Type == Record && !f.Abstract {
		return recordSchema(f).Process(map[string]any{}, Insert, zeroTime), true
	}
	return nil, false
}

// normalize converts numbers to the Go type of their field and
// de-duplicates sets. Values of the wrong type are left for validation
// to report.
func normalize(f *Field, v any) any {
	switch f.Type {
	case Integer:
		if n, ok := AsInt(v); ok {
			return n
		}
	case Number:
		if n, ok := AsFloat(v); ok {
			return n
		}
	case Set, Array:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, 0, len(arr))
		for _, e := range arr {
			if f.Type == Set && containsValue(out, e) {
				continue
			}
			if f.Elements != nil {
				e = normalizeElement(f.Elements, e)
			}
			out = append(out, e)
		}
		return out
	case Map:
		m, ok := v.(map[string]any)
		if !ok || f.Values == nil {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = normalizeElement(f.Values, e)
		}
		return out
	case String, Boolean, Record, Foreign:
		// Kept as given: records are processed by adjust, and wrong types
		// are left for validation to report.
	}
	return v
}

func normalizeElement(f *Field, v any) any {
	if f.Type == Record && !f.Abstract {
		if m, ok := v.(map[string]any); ok {
			return recordSchema(f).Process(m, Insert, zeroTime)
		}
		return v
	}
	return normalize(f, v)
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if Equal(e, v) {
			return true
		}
	}
	return false
}

// Merge is Kong's merge_values for PATCH: fields of top replace those of
// bottom, except non-abstract records, which merge recursively; arrays,
// sets and maps are replaced whole; a null in top clears the field.
func (s *Schema) Merge(top, bottom map[string]any) map[string]any {
	out := CopyMap(bottom)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range top {
		out[k] = DeepCopy(v)
	}
	s.EachField(bottom, func(f *Field) {
		tv, inTop := top[f.Name]
		if !inTop {
			return
		}
		if f.Type == Record && tv != nil && f.Fields != nil {
			tm, tok := tv.(map[string]any)
			bm, bok := bottom[f.Name].(map[string]any)
			if tok && bok {
				out[f.Name] = recordSchema(f).Merge(tm, bm)
			}
		}
	})
	return out
}

// RandomString returns 32 random alphanumeric characters, what Kong
// generates for auto string fields such as a key-auth credential's key.
func RandomString() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var buf [32]byte
	out := make([]byte, 32)
	_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
	for i, b := range buf {
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(out)
}
