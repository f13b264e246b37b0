package schema

import (
	"fmt"
	"sort"
)

// Shorthand is Kong's shorthand_fields entry: an input-only field that
// stands for other fields (services' url, rate-limiting's deprecated
// redis_host). Process replaces it by the fields it translates to; it is
// never stored.
type Shorthand struct {
	// Field is the shorthand's name and type, which its value must pass.
	Field *Field
	// Translate returns the fields the value stands for, as a partial
	// record merged into the entity (records merge one level deep).
	Translate func(v any) map[string]any
	// Deprecated shorthands lose to the real fields when both are given;
	// given with a different value, they are refused.
	Deprecated bool
	// Backwards, when set, recomputes the shorthand from the entity so that
	// responses echo it (Kong's translate_backwards); nil means input-only.
	Backwards func(entity map[string]any) any
}

func (s *Schema) shorthand(name string) *Shorthand {
	for i := range s.Shorthands {
		if s.Shorthands[i].Field.Name == name {
			return &s.Shorthands[i]
		}
	}
	return nil
}

// applyShorthands translates the valid shorthands of out in place. A
// shorthand whose value is invalid, or (deprecated) conflicts with a value
// given for the real field, is left in place for Validate to report.
func (s *Schema) applyShorthands(out map[string]any) {
	for _, sh := range s.Shorthands {
		v, ok := out[sh.Field.Name]
		if !ok || validateField(sh.Field, v) != nil {
			continue
		}
		vals := safeTranslate(sh.Translate, v)
		if vals == nil {
			continue
		}
		if sh.Deprecated && v != nil && len(conflicts(vals, out, "")) > 0 {
			continue
		}
		delete(out, sh.Field.Name)
		for k, nv := range vals {
			if nm, isMap := nv.(map[string]any); isMap {
				src, _ := out[k].(map[string]any)
				merged := CopyMap(src)
				if merged == nil {
					merged = map[string]any{}
				}
				for sk, sv := range nm {
					if _, given := merged[sk]; sh.Deprecated && given && merged[sk] != nil {
						continue
					}
					merged[sk] = DeepCopy(sv)
				}
				out[k] = merged
				continue
			}
			if cur, given := out[k]; sh.Deprecated && given && cur != nil {
				continue
			}
			out[k] = DeepCopy(nv)
		}
	}
}

func safeTranslate(fn func(any) map[string]any, v any) (out map[string]any) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return fn(v)
}

// conflicts lists the paths where vals and a non-null given value differ.
func conflicts(vals, given map[string]any, prefix string) []string {
	var out []string
	for _, k := range sortedKeys(vals) {
		gv, ok := given[k]
		if !ok || gv == nil || vals[k] == nil {
			continue
		}
		if vm, isMap := vals[k].(map[string]any); isMap {
			if gm, ok := gv.(map[string]any); ok {
				out = append(out, conflicts(vm, gm, prefix+k+".")...)
			}
			continue
		}
		if !Equal(vals[k], gv) {
			out = append(out, prefix+k)
		}
	}
	return out
}

// shorthandError reports a shorthand left in place by Process.
func (s *Schema) shorthandError(sh *Shorthand, input map[string]any) any {
	v := input[sh.Field.Name]
	if msg := validateField(sh.Field, v); msg != nil {
		return msg
	}
	vals := safeTranslate(sh.Translate, v)
	paths := conflicts(vals, input, "")
	if len(paths) == 0 {
		return nil
	}
	sort.Strings(paths)
	given, _ := getPath(input, paths[0])
	return fmt.Sprintf("both deprecated and new field are used but their values mismatch: %s = %s vs %s = %s",
		sh.Field.Name, FormatValue(v), paths[0], FormatValue(given))
}

// Present returns a copy of a stored entity as the Admin API shows it:
// with deprecated shorthand fields echoed (Kong's translate_backwards), in
// the entity and in its records.
func (s *Schema) Present(entity map[string]any) map[string]any {
	out := CopyMap(entity)
	s.present(out)
	return out
}

func (s *Schema) present(out map[string]any) {
	s.EachField(out, func(f *Field) {
		if f.Type != Record {
			return
		}
		if m, ok := out[f.Name].(map[string]any); ok {
			recordSchema(f).present(m)
		}
	})
	for _, sh := range s.Shorthands {
		if sh.Backwards != nil {
			out[sh.Field.Name] = sh.Backwards(out)
		}
	}
}

// StripShorthands removes echoed shorthand fields, recursively; what is
// left is the entity as stored.
func (s *Schema) StripShorthands(entity map[string]any) {
	for _, sh := range s.Shorthands {
		delete(entity, sh.Field.Name)
	}
	s.EachField(entity, func(f *Field) {
		if m, ok := entity[f.Name].(map[string]any); ok && f.Type == Record {
			recordSchema(f).StripShorthands(m)
		}
	})
}
