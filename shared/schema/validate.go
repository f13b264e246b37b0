package schema

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Kong's standard validator messages (kong/db/schema/init.lua).
const (
	msgRequired       = "required field missing"
	msgUnknown        = "unknown field"
	msgRequiredCheck  = "field required for entity check"
	msgImmutable      = "immutable field cannot be updated"
	msgMissingPK      = "missing primary key"
	msgExpectedRecord = "expected a record"
)

// Mode says how complete the validated input must be.
type Mode struct {
	// Partial accepts missing required fields (Kong's validate_update, also
	// used for a PATCH after merging with the stored entity); entity-check
	// messages then read "when updating, ...".
	Partial bool
	// IgnoreUnknownNulls accepts unknown fields whose value is null, as a
	// Kong data plane does so that an older data plane accepts entities
	// carrying fields it does not know when they are unset.
	IgnoreUnknownNulls bool
}

// Full is the Mode for inserts and upserts: the entity must be complete.
var Full = Mode{}

// Validate checks input against the schema and returns the field errors,
// or nil when input is valid. It never modifies input and never panics,
// whatever the input holds.
func (s *Schema) Validate(input map[string]any, mode Mode) Errors {
	errs := Errors{}
	if s.SubschemaKey != "" {
		key, present := input[s.SubschemaKey]
		if !present || key == nil {
			errs[s.SubschemaKey] = msgRequired
			return errs
		}
		name, _ := key.(string)
		if s.subschemaFor(input) == nil {
			msg := s.SubschemaError
			if msg == "" {
				msg = "unknown type: %s"
			}
			errs[s.SubschemaKey] = fmt.Sprintf(msg, FormatValue(firstNonEmpty(name, key)))
			return errs
		}
	}
	sub := s.subschemaFor(input)
	for _, k := range sortedKeys(input) {
		v := input[k]
		f := s.Resolve(input, k)
		if f == nil {
			if sh := s.shorthand(k); sh != nil {
				if msg := s.shorthandError(sh, input); msg != nil {
					errs[k] = msg
				}
				continue
			}
			if v == nil && mode.IgnoreUnknownNulls {
				continue
			}
			errs[k] = msgUnknown
			continue
		}
		if msg := validateFieldMode(f, v, mode); msg != nil {
			errs[k] = msg
		}
	}
	s.EachField(input, func(f *Field) {
		v, present := input[f.Name]
		if f.IsRequired() && (present && v == nil || !mode.Partial && !present) {
			errs[f.Name] = msgRequired
		}
	})
	runChecks(s, input, s.EntityChecks, mode, errs)
	if sub != nil && len(sub.EntityChecks) > 0 {
		// Subschema checks see the specialized fields.
		merged := &Schema{Fields: make([]*Field, 0, len(s.Fields))}
		s.EachField(input, func(f *Field) { merged.Fields = append(merged.Fields, f) })
		runChecks(merged, input, sub.EntityChecks, mode, errs)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func firstNonEmpty(s string, v any) any {
	if s != "" {
		return s
	}
	return v
}

// ValidateField checks one value against a field definition and returns
// nil, a message (string), an Errors tree (records) or a []any of element
// messages (arrays and sets).
func ValidateField(f *Field, v any) any {
	return validateFieldMode(f, v, Full)
}

func validateField(f *Field, v any) any { return validateFieldMode(f, v, Full) }

func validateFieldMode(f *Field, v any, mode Mode) any {
	if v == nil {
		switch {
		case f.NeNull:
			return f.errOr("value must not be null")
		case f.Eq != nil:
			return "value must be " + FormatValue(f.Eq)
		case f.IsRequired():
			return msgRequired
		}
		return nil
	}
	if f.EqNull {
		return f.errOr("value must be null")
	}
	if f.Abstract && f.Fields == nil {
		return "error in schema definition: abstract field was not specialized"
	}
	switch f.Type {
	case Array, Set:
		arr, ok := v.([]any)
		if !ok {
			if f.Type == Array {
				return "expected an array"
			}
			return "expected a set"
		}
		if f.Elements != nil {
			var elemErrs []any
			el := *f.Elements
			el.Required = true
			for i, e := range arr {
				if msg := validateFieldMode(&el, e, mode); msg != nil {
					if elemErrs == nil {
						elemErrs = make([]any, len(arr))
					}
					elemErrs[i] = msg
				}
			}
			if elemErrs != nil {
				// Trim trailing holes: JSON arrays of errors end at the last error.
				last := len(elemErrs) - 1
				for last >= 0 && elemErrs[last] == nil {
					last--
				}
				return elemErrs[:last+1]
			}
		}
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return "expected a map"
		}
		keys := *f.Keys
		keys.Required = true
		vals := *f.Values
		vals.Required = true
		for _, k := range sortedKeys(m) {
			if msg := validateFieldMode(&keys, k, mode); msg != nil {
				return msg
			}
			if msg := validateFieldMode(&vals, m[k], mode); msg != nil {
				return msg
			}
		}
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return msgExpectedRecord
		}
		rs := recordSchema(f)
		filled := rs.Process(m, Insert, zeroTime)
		if errs := rs.Validate(filled, Mode{IgnoreUnknownNulls: mode.IgnoreUnknownNulls}); errs != nil {
			return errs
		}
	case Foreign:
		m, ok := v.(map[string]any)
		if !ok {
			return msgExpectedRecord
		}
		id, present := m["id"]
		switch {
		case !present:
			return Errors{"id": msgMissingPK}
		case id == nil:
			return Errors{"id": msgRequired}
		}
		s, ok := id.(string)
		if !ok {
			return Errors{"id": "expected a string"}
		}
		if !IsUUID(s) {
			return Errors{"id": "expected a valid UUID"}
		}
	case Integer:
		if _, ok := AsInt(v); !ok {
			return "expected an integer"
		}
	case Number:
		if !isNumber(v) {
			return "expected a number"
		}
	case String:
		s, ok := v.(string)
		if !ok {
			return "expected a string"
		}
		if f.Referenceable && IsReference(s) {
			return nil
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			return "expected a boolean"
		}
	default:
		return "invalid type: " + string(f.Type)
	}
	if msg := runValidators(f, v); msg != "" {
		return f.errOr(msg)
	}
	return nil
}

func (f *Field) errOr(msg string) string {
	if f.Err != "" {
		return f.Err
	}
	return msg
}

// runValidators runs the validators in Kong's validators_order and returns
// the first failure's message, or "".
func runValidators(f *Field, v any) string {
	if f.Eq != nil && !Equal(v, f.Eq) {
		return "value must be " + FormatValue(f.Eq)
	}
	if f.NotOneOf != nil {
		for _, o := range f.NotOneOf {
			if Equal(v, o) {
				return "must not be one of: " + joinValues(f.NotOneOf, ", ")
			}
		}
	}
	if f.OneOf != nil {
		found := false
		for _, o := range f.OneOf {
			if Equal(v, o) {
				found = true
				break
			}
		}
		if !found {
			return "expected one of: " + joinValues(f.OneOf, ", ")
		}
	}
	num, isNum := AsFloat(v)
	if f.Gt != nil && isNum && !(num > *f.Gt) {
		return "value must be greater than " + formatNumber(*f.Gt)
	}
	if f.Timestamp && isNum && !(num > 0) {
		return "expected a valid timestamp"
	}
	str, isStr := v.(string)
	if f.UUID && isStr && !IsUUID(str) {
		return "expected a valid UUID"
	}
	if f.IsRegex && isStr {
		if _, err := regexp.Compile(str); err != nil {
			return "not a valid regex: " + str
		}
	}
	if f.Between != nil && isNum && (num < f.Between[0] || num > f.Between[1]) {
		return fmt.Sprintf("value should be between %s and %s", formatBound(f.Between[0]), formatBound(f.Between[1]))
	}
	minLen := f.LenMin
	if minLen == nil && f.Type == String {
		minLen = &one // empty strings are refused unless a schema allows them
	}
	if f.LenEq != nil || minLen != nil || f.LenMax != nil {
		n := length(v)
		if f.LenEq != nil && n != *f.LenEq {
			return fmt.Sprintf("length must be %d", *f.LenEq)
		}
		if minLen != nil && n < *minLen {
			return fmt.Sprintf("length must be at least %d", *minLen)
		}
		if f.LenMax != nil && n > *f.LenMax {
			return fmt.Sprintf("length must be at most %d", *f.LenMax)
		}
	}
	if isStr {
		if f.StartsWith != "" && !strings.HasPrefix(str, f.StartsWith) {
			return "should start with: " + f.StartsWith
		}
		if f.NotMatch != nil && f.NotMatch.MatchString(str) {
			return "invalid value: " + str
		}
		for _, p := range f.MatchNone {
			if p.Pattern.MatchString(str) {
				return p.Err
			}
		}
		if f.Match != nil && !f.Match.MatchString(str) {
			return "invalid value: " + str
		}
		for _, p := range f.MatchAll {
			if !p.Pattern.MatchString(str) {
				return p.Err
			}
		}
		if f.MatchAny != nil {
			ok := false
			for _, p := range f.MatchAny.Patterns {
				if p.MatchString(str) {
					ok = true
					break
				}
			}
			if !ok {
				return f.MatchAny.Err
			}
		}
	}
	if f.Contains != nil {
		arr, _ := v.([]any)
		found := false
		for _, e := range arr {
			if Equal(e, f.Contains) {
				found = true
				break
			}
		}
		if !found {
			return "expected to contain: " + FormatValue(f.Contains)
		}
	}
	if f.Custom != nil {
		if err := safeCustom(f.Custom, v); err != nil {
			return err.Error()
		}
	}
	if f.MutuallyExclusiveSubsets != nil {
		if msg := exclusiveSubsets(v, f.MutuallyExclusiveSubsets); msg != "" {
			return msg
		}
	}
	return ""
}

var one = 1

func formatBound(f float64) string {
	if math.Abs(f) >= 1e15 && f == math.Trunc(f) {
		return fmt.Sprintf("%.0f", f)
	}
	return formatNumber(f)
}

// safeCustom runs a custom validator, turning a panic into a message:
// validation never panics, whatever the input.
func safeCustom(fn func(any) error, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("invalid value")
		}
	}()
	return fn(v)
}

func length(v any) int {
	switch t := v.(type) {
	case string:
		return len(t)
	case []any:
		return len(t)
	case map[string]any:
		return len(t)
	}
	return 0
}

func exclusiveSubsets(v any, subsets [][]string) string {
	arr, _ := v.([]any)
	var memberOf [][]string
	seen := map[int]bool{}
	for _, e := range arr {
		s, _ := e.(string)
		for i, sub := range subsets {
			for _, m := range sub {
				if m == s && !seen[i] {
					seen[i] = true
					memberOf = append(memberOf, sub)
				}
			}
		}
	}
	if len(memberOf) <= 1 {
		return ""
	}
	parts := make([]string, len(memberOf))
	for i, sub := range memberOf {
		parts[i] = "(" + quotedList(sub) + ")"
	}
	return "these sets are mutually exclusive: " + strings.Join(parts, ", ")
}
