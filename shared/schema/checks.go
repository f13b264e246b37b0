package schema

import (
	"errors"
	"fmt"
	"strings"
)

// checkerSpec mirrors the flags of Kong's entity_checkers table.
type checkerSpec struct {
	runWithMissing bool
	runWithInvalid bool
	// fields to project and the subset that is required (nil = none).
	fields   []string
	required map[string]bool
}

func (c Check) fieldNames() []string {
	switch {
	case c.AtLeastOneOf != nil:
		return c.AtLeastOneOf
	case c.OnlyOneOf != nil:
		return c.OnlyOneOf
	case c.MutuallyRequired != nil:
		return c.MutuallyRequired
	case c.MutuallyExclusive != nil:
		return c.MutuallyExclusive
	case c.Distinct != nil:
		return c.Distinct
	case c.MutuallyExclusiveSets != nil:
		return append(append([]string{}, c.MutuallyExclusiveSets.Set1...), c.MutuallyExclusiveSets.Set2...)
	case c.Conditional != nil:
		return []string{c.Conditional.IfField, c.Conditional.ThenField}
	case c.ConditionalAtLeastOneOf != nil:
		a := c.ConditionalAtLeastOneOf
		out := []string{a.IfField}
		out = append(out, a.ThenAtLeastOneOf...)
		return append(out, a.ElseThenAtLeastOneOf...)
	case c.Custom != nil:
		return c.Custom.FieldSources
	}
	return nil
}

func allRequired(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func (c Check) spec() checkerSpec {
	names := c.fieldNames()
	switch {
	case c.AtLeastOneOf != nil:
		return checkerSpec{runWithMissing: true, runWithInvalid: true, fields: names, required: allRequired(names)}
	case c.OnlyOneOf != nil, c.Distinct != nil:
		return checkerSpec{runWithInvalid: true, fields: names, required: allRequired(names)}
	case c.MutuallyRequired != nil, c.MutuallyExclusive != nil:
		return checkerSpec{runWithMissing: true, fields: names, required: allRequired(names)}
	case c.MutuallyExclusiveSets != nil:
		return checkerSpec{runWithMissing: true, fields: names}
	case c.Conditional != nil:
		return checkerSpec{runWithInvalid: true, fields: names, required: map[string]bool{c.Conditional.IfField: true}}
	case c.ConditionalAtLeastOneOf != nil:
		return checkerSpec{runWithMissing: true, runWithInvalid: true, fields: names}
	case c.Custom != nil:
		return checkerSpec{
			runWithMissing: c.Custom.RunWithMissingFields,
			runWithInvalid: c.Custom.RunWithInvalidFields,
			fields:         names,
			required:       allRequired(names),
		}
	}
	return checkerSpec{}
}

// runChecks is Kong's run_entity_check for each check in turn: it projects
// the fields a check needs, skips it when they are missing, invalid or all
// absent as Kong does, and adds failures to errs.
func runChecks(s *Schema, input map[string]any, checks []Check, mode Mode, errs Errors) {
checks:
	for _, c := range checks {
		spec := c.spec()
		projected := map[string]any{}
		var missing []string
		allAbsent, allValid := true, true
		for _, name := range spec.fields {
			v, present := getPath(input, name)
			if !present {
				if !spec.runWithMissing && spec.required[name] {
					missing = append(missing, name)
				}
			} else {
				allAbsent = false
				if f := s.fieldByPath(name); f != nil && f.Type == String && f.Referenceable {
					if str, ok := v.(string); ok && IsReference(str) {
						continue checks // references are checked where they are resolved
					}
				}
			}
			if _, bad := getPath(map[string]any(errs), name); bad {
				allValid = false
			}
			if present {
				setPath(projected, name, v)
			}
		}
		if !allValid && !spec.runWithInvalid {
			continue
		}
		if allAbsent && (!spec.runWithMissing || mode.Partial) {
			continue
		}
		if missing != nil {
			msg := msgRequiredCheck
			if mode.Partial {
				msg += " when updating"
			}
			for _, name := range missing {
				setPath(map[string]any(errs), name, msg)
			}
			continue
		}
		if msg := c.run(s, projected, mode, errs); msg != "" {
			errs.addEntity(msg)
		}
	}
}

// run evaluates one check against the projected entity and returns the
// @entity message of a failure, or "".
func (c Check) run(s *Schema, e map[string]any, mode Mode, errs Errors) string {
	updating := ""
	if mode.Partial {
		updating = "when updating, "
	}
	switch {
	case c.AtLeastOneOf != nil:
		for _, n := range c.AtLeastOneOf {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				return ""
			}
		}
		return updating + "at least one of these fields must be non-empty: " + quotedList(c.AtLeastOneOf)
	case c.OnlyOneOf != nil:
		count := 0
		for _, n := range c.OnlyOneOf {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				count++
			}
		}
		if count == 1 {
			return ""
		}
		return "exactly one of these fields must be non-empty: " + quotedList(c.OnlyOneOf)
	case c.MutuallyRequired != nil:
		count := 0
		for _, n := range c.MutuallyRequired {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				count++
			}
		}
		if count == 0 || count == len(c.MutuallyRequired) {
			return ""
		}
		return "all or none of these fields must be set: " + quotedList(c.MutuallyRequired)
	case c.MutuallyExclusive != nil:
		var set []string
		for _, n := range c.MutuallyExclusive {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				set = append(set, n)
			}
		}
		if len(set) <= 1 {
			return ""
		}
		return "only one or none of these fields must be set: " + quotedList(c.MutuallyExclusive)
	case c.Distinct != nil:
		var seen []any
		for _, n := range c.Distinct {
			v, _ := getPath(e, n)
			if !IsNonEmpty(v) {
				continue
			}
			for _, o := range seen {
				if Equal(o, v) {
					return "values of these fields must be distinct: " + quotedList(c.Distinct)
				}
			}
			seen = append(seen, v)
		}
		return ""
	case c.MutuallyExclusiveSets != nil:
		var a, b []string
		for _, n := range c.MutuallyExclusiveSets.Set1 {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				a = append(a, n)
			}
		}
		for _, n := range c.MutuallyExclusiveSets.Set2 {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				b = append(b, n)
			}
		}
		if len(a) > 0 && len(b) > 0 {
			return fmt.Sprintf("these sets are mutually exclusive: (%s), (%s)", quotedList(a), quotedList(b))
		}
		return ""
	case c.Conditional != nil:
		return c.Conditional.run(s, e, errs)
	case c.ConditionalAtLeastOneOf != nil:
		return c.ConditionalAtLeastOneOf.run(s, e, updating)
	case c.Custom != nil:
		if err := safeCheck(c.Custom.Fn, e); err != nil {
			return err.Error()
		}
	}
	return ""
}

func safeCheck(fn func(map[string]any) error, e map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("entity check failed")
		}
	}()
	return fn(e)
}

func (c *Conditional) run(s *Schema, e map[string]any, errs Errors) string {
	ifValue, _ := getPath(e, c.IfField)
	if !matches(s.fieldByPath(c.IfField), c.IfMatch, ifValue) {
		return ""
	}
	thenValue, _ := getPath(e, c.ThenField)
	if c.ThenMatch.Required && thenValue == nil {
		setPath(map[string]any(errs), c.ThenField, msgRequired)
		return fmt.Sprintf("failed conditional validation given value of field '%s'", c.IfField)
	}
	if msg := validateField(overlay(s.fieldByPath(c.ThenField), c.ThenMatch), thenValue); msg != nil {
		setPath(map[string]any(errs), c.ThenField, msg)
		if c.ThenErr != "" {
			return formatErr(c.ThenErr, c.IfField)
		}
		return fmt.Sprintf("failed conditional validation given value of field '%s'", c.IfField)
	}
	return ""
}

func (c *ConditionalAtLeastOneOf) run(s *Schema, e map[string]any, updating string) string {
	ifValue, present := getPath(e, c.IfField)
	if !present {
		return ""
	}
	anyOf := func(names []string, customErr string) string {
		for _, n := range names {
			if v, _ := getPath(e, n); IsNonEmpty(v) {
				return ""
			}
		}
		if customErr != "" {
			return formatErr(customErr, quotedList(names))
		}
		return updating + "at least one of these fields must be non-empty: " + quotedList(names)
	}
	f := s.fieldByPath(c.IfField)
	if matches(f, c.IfMatch, ifValue) {
		return anyOf(c.ThenAtLeastOneOf, c.ThenErr)
	}
	if c.ElseMatch == nil || !matches(f, c.ElseMatch, ifValue) {
		return ""
	}
	return anyOf(c.ElseThenAtLeastOneOf, c.ElseThenErr)
}

func formatErr(format, arg string) string {
	if strings.Contains(format, "%s") {
		return fmt.Sprintf(format, arg)
	}
	return format
}

// matches runs a conditional's match against a value of field f.
func matches(f *Field, match *Field, v any) bool {
	return validateField(overlay(f, match), v) == nil
}

// overlay returns field f with the attributes that match sets replacing
// its own, as Kong does by giving the match table f as its metatable.
func overlay(f *Field, m *Field) *Field {
	if f == nil {
		f = &Field{Type: m.Type}
	}
	o := *f
	if m.Type != "" {
		o.Type = m.Type
	}
	if m.Required {
		o.Required = true
	}
	if m.EqNull {
		o.EqNull = true
	}
	if m.NeNull {
		o.NeNull = true
	}
	if m.Eq != nil {
		o.Eq = m.Eq
	}
	if m.OneOf != nil {
		o.OneOf = m.OneOf
	}
	if m.NotOneOf != nil {
		o.NotOneOf = m.NotOneOf
	}
	if m.Gt != nil {
		o.Gt = m.Gt
	}
	if m.Between != nil {
		o.Between = m.Between
	}
	if m.LenEq != nil {
		o.LenEq = m.LenEq
	}
	if m.LenMin != nil {
		o.LenMin = m.LenMin
	}
	if m.LenMax != nil {
		o.LenMax = m.LenMax
	}
	if m.StartsWith != "" {
		o.StartsWith = m.StartsWith
	}
	if m.Match != nil {
		o.Match = m.Match
	}
	if m.NotMatch != nil {
		o.NotMatch = m.NotMatch
	}
	if m.MatchAny != nil {
		o.MatchAny = m.MatchAny
	}
	if m.MatchAll != nil {
		o.MatchAll = m.MatchAll
	}
	if m.MatchNone != nil {
		o.MatchNone = m.MatchNone
	}
	if m.Contains != nil {
		o.Contains = m.Contains
	}
	if m.Custom != nil {
		o.Custom = m.Custom
	}
	if m.Elements != nil {
		o.Elements = overlay(f.Elements, m.Elements)
	}
	if m.Err != "" {
		o.Err = m.Err
	}
	return &o
}
