package schema

// KongJSON returns the schema as Kong's GET /schemas/{entity} serves it:
// {"fields": [{"<name>": {...definition...}}, ...], "entity_checks": [...]}.
// Validator functions have no JSON form and are left out, as Kong leaves
// out Lua functions. Subschemas are not included (plugins are served by
// /schemas/plugins/{name}).
func (s *Schema) KongJSON() map[string]any {
	out := map[string]any{"fields": fieldsJSON(s.Fields)}
	if len(s.EntityChecks) > 0 {
		out["entity_checks"] = checksJSON(s.EntityChecks)
	}
	if s.EndpointKey != "" {
		out["endpoint_key"] = s.EndpointKey
	}
	if len(s.CacheKey) > 0 {
		keys := make([]any, len(s.CacheKey))
		for i, k := range s.CacheKey {
			keys[i] = k
		}
		out["cache_key"] = keys
	}
	if len(s.PrimaryKey) > 0 {
		keys := make([]any, len(s.PrimaryKey))
		for i, k := range s.PrimaryKey {
			keys[i] = k
		}
		out["primary_key"] = keys
	}
	if s.SubschemaKey != "" {
		out["subschema_key"] = s.SubschemaKey
	}
	if len(s.Shorthands) > 0 {
		out["shorthand_fields"] = shorthandsJSON(s.Shorthands)
	}
	return out
}

func shorthandsJSON(list []Shorthand) []any {
	out := make([]any, len(list))
	for i, sh := range list {
		d := sh.Field.KongJSON()
		if sh.Deprecated {
			d["deprecation"] = map[string]any{"message": sh.Field.Name + " is deprecated"}
		}
		out[i] = map[string]any{sh.Field.Name: d}
	}
	return out
}

func fieldsJSON(fields []*Field) []any {
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = map[string]any{f.Name: f.KongJSON()}
	}
	return out
}

// KongJSON returns the field definition as Kong's schema endpoints show it.
func (f *Field) KongJSON() map[string]any {
	d := map[string]any{"type": string(f.Type)}
	set := func(k string, cond bool, v any) {
		if cond {
			d[k] = v
		}
	}
	set("required", f.IsRequired(), true)
	set("default", f.Default != nil, DeepCopy(f.Default))
	set("auto", f.Auto, true)
	set("uuid", f.UUID, true)
	set("unique", f.Unique, true)
	set("immutable", f.Immutable, true)
	set("timestamp", f.Timestamp, true)
	set("referenceable", f.Referenceable, true)
	set("encrypted", f.Encrypted, true)
	set("description", f.Description != "", f.Description)
	set("abstract", f.Abstract, true)
	set("err", f.Err != "", f.Err)
	if f.EqNull {
		d["eq"] = nil
	}
	if f.NeNull {
		d["ne"] = nil
	}
	set("eq", f.Eq != nil, f.Eq)
	set("one_of", f.OneOf != nil, DeepCopy(f.OneOf))
	set("not_one_of", f.NotOneOf != nil, DeepCopy(f.NotOneOf))
	if f.Gt != nil {
		d["gt"] = *f.Gt
	}
	set("is_regex", f.IsRegex, true)
	if f.Between != nil {
		d["between"] = []any{f.Between[0], f.Between[1]}
	}
	if f.LenEq != nil {
		d["len_eq"] = *f.LenEq
	}
	if f.LenMin != nil {
		d["len_min"] = *f.LenMin
	}
	if f.LenMax != nil {
		d["len_max"] = *f.LenMax
	}
	set("starts_with", f.StartsWith != "", f.StartsWith)
	if f.Match != nil {
		d["match"] = f.Match.Source
	}
	if f.NotMatch != nil {
		d["not_match"] = f.NotMatch.Source
	}
	if f.MatchNone != nil {
		d["match_none"] = patternErrsJSON(f.MatchNone)
	}
	if f.MatchAll != nil {
		d["match_all"] = patternErrsJSON(f.MatchAll)
	}
	if f.MatchAny != nil {
		pats := make([]any, len(f.MatchAny.Patterns))
		for i, p := range f.MatchAny.Patterns {
			pats[i] = p.Source
		}
		d["match_any"] = map[string]any{"patterns": pats, "err": f.MatchAny.Err}
	}
	set("contains", f.Contains != nil, f.Contains)
	if f.MutuallyExclusiveSubsets != nil {
		subsets := make([]any, len(f.MutuallyExclusiveSubsets))
		for i, s := range f.MutuallyExclusiveSubsets {
			subsets[i] = stringsJSON(s)
		}
		d["mutually_exclusive_subsets"] = subsets
	}
	if f.Elements != nil {
		d["elements"] = f.Elements.KongJSON()
	}
	if f.Keys != nil {
		d["keys"] = f.Keys.KongJSON()
	}
	if f.Values != nil {
		d["values"] = f.Values.KongJSON()
	}
	if f.Type == Record && f.Fields != nil {
		d["fields"] = fieldsJSON(f.Fields)
		if len(f.EntityChecks) > 0 {
			d["entity_checks"] = checksJSON(f.EntityChecks)
		}
		if len(f.Shorthands) > 0 {
			d["shorthand_fields"] = shorthandsJSON(f.Shorthands)
		}
	}
	set("reference", f.Reference != "", f.Reference)
	set("on_delete", f.OnDelete != "", f.OnDelete)
	return d
}

func patternErrsJSON(list []PatternErr) []any {
	out := make([]any, len(list))
	for i, p := range list {
		out[i] = map[string]any{"pattern": p.Pattern.Source, "err": p.Err}
	}
	return out
}

func stringsJSON(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

func checksJSON(checks []Check) []any {
	out := make([]any, 0, len(checks))
	for _, c := range checks {
		if j := c.KongJSON(); j != nil {
			out = append(out, j)
		}
	}
	return out
}

// KongJSON returns the check as Kong's schema endpoints show it, or nil for
// a custom check (Kong shows those as {"custom_entity_check": {"field_sources": [...]}}).
func (c Check) KongJSON() map[string]any {
	switch {
	case c.AtLeastOneOf != nil:
		return map[string]any{"at_least_one_of": stringsJSON(c.AtLeastOneOf)}
	case c.OnlyOneOf != nil:
		return map[string]any{"only_one_of": stringsJSON(c.OnlyOneOf)}
	case c.MutuallyRequired != nil:
		return map[string]any{"mutually_required": stringsJSON(c.MutuallyRequired)}
	case c.MutuallyExclusive != nil:
		return map[string]any{"mutually_exclusive": stringsJSON(c.MutuallyExclusive)}
	case c.Distinct != nil:
		return map[string]any{"distinct": stringsJSON(c.Distinct)}
	case c.MutuallyExclusiveSets != nil:
		return map[string]any{"mutually_exclusive_sets": map[string]any{
			"set1": stringsJSON(c.MutuallyExclusiveSets.Set1),
			"set2": stringsJSON(c.MutuallyExclusiveSets.Set2),
		}}
	case c.Conditional != nil:
		m := map[string]any{
			"if_field":   c.Conditional.IfField,
			"if_match":   matchJSON(c.Conditional.IfMatch),
			"then_field": c.Conditional.ThenField,
			"then_match": matchJSON(c.Conditional.ThenMatch),
		}
		if c.Conditional.ThenErr != "" {
			m["then_err"] = c.Conditional.ThenErr
		}
		return map[string]any{"conditional": m}
	case c.ConditionalAtLeastOneOf != nil:
		a := c.ConditionalAtLeastOneOf
		m := map[string]any{
			"if_field":             a.IfField,
			"if_match":             matchJSON(a.IfMatch),
			"then_at_least_one_of": stringsJSON(a.ThenAtLeastOneOf),
		}
		if a.ThenErr != "" {
			m["then_err"] = a.ThenErr
		}
		if a.ElseMatch != nil {
			m["else_match"] = matchJSON(a.ElseMatch)
			m["else_then_at_least_one_of"] = stringsJSON(a.ElseThenAtLeastOneOf)
		}
		if a.ElseThenErr != "" {
			m["else_then_err"] = a.ElseThenErr
		}
		return map[string]any{"conditional_at_least_one_of": m}
	case c.Custom != nil:
		return map[string]any{"custom_entity_check": map[string]any{"field_sources": stringsJSON(c.Custom.FieldSources)}}
	}
	return nil
}

// matchJSON shows a conditional's match without the type, which it
// inherits from the field.
func matchJSON(m *Field) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	j := m.KongJSON()
	if m.Type == "" {
		delete(j, "type")
	}
	return j
}
