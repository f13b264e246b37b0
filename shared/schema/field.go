package schema

import (
	"regexp"
)

// Type is the type of a field, with Kong's names.
type Type string

// The field types of Kong's schema language.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
	Array   Type = "array"
	Set     Type = "set"
	Map     Type = "map"
	Record  Type = "record"
	Foreign Type = "foreign"
)

// Field describes one field of an entity or record. Fields are built once,
// at start-up, and never mutated afterwards: they are safe for concurrent
// use.
type Field struct {
	// Name is the key of the field in its parent record.
	Name string
	Type Type

	// Required fields may not be null (and must be given on insert).
	// Records are required unless Optional is set, as Kong makes every
	// record required unless its definition says otherwise.
	Required bool
	// Optional makes a record field nullable (Kong's `required = false`
	// on a record).
	Optional bool
	// Default fills a field that an insert or upsert does not give. Nil
	// means "no default": a missing optional field becomes null.
	Default any
	// Auto fields are generated: a UUID (with UUID), a random string, or
	// the created_at/updated_at timestamps.
	Auto      bool
	UUID      bool
	Unique    bool
	Immutable bool
	Timestamp bool
	// Referenceable strings may hold a vault reference ({vault://...}),
	// which skips their other validators.
	Referenceable bool
	Encrypted     bool
	Description   string
	// Abstract fields are specialized by a subschema (plugins' config).
	Abstract bool
	// Err, when set, replaces the message of any failed validator.
	Err string

	// Validators, run in Kong's order (validators_order) after the type
	// check; the first failure is reported.
	EqNull     bool // value must be null
	NeNull     bool // value must not be null
	Eq         any
	NotOneOf   []any
	OneOf      []any
	Gt         *float64
	IsRegex    bool
	Between    *[2]float64
	LenEq      *int
	LenMin     *int
	LenMax     *int
	StartsWith string
	NotMatch   *Pattern
	MatchNone  []PatternErr
	Match      *Pattern
	MatchAll   []PatternErr
	MatchAny   *MatchAny
	Contains   any
	// Custom is Kong's custom_validator: it returns nil when the value is
	// acceptable and an error whose text is the field's message otherwise.
	Custom func(value any) error
	// MutuallyExclusiveSubsets (for sets): the elements may come from at
	// most one of these subsets.
	MutuallyExclusiveSubsets [][]string

	// Elements describes the elements of an array or set.
	Elements *Field
	// Keys and Values describe the entries of a map.
	Keys   *Field
	Values *Field
	// Fields and EntityChecks describe a record.
	Fields       []*Field
	EntityChecks []Check
	Shorthands   []Shorthand
	// Reference is the table a foreign field points to; OnDelete is
	// "cascade", "restrict" or "" (Kong's default, which Postgres treats as
	// restrict).
	Reference string
	OnDelete  string
}

// IsRequired reports whether the field may not be null: Required, or a
// (non-abstract) record that is not Optional.
func (f *Field) IsRequired() bool {
	return f.Required || f.Type == Record && !f.Optional && !f.Abstract
}

// Pattern is a regular expression with its source text, which /schemas
// endpoints show. Go's regexp (RE2) syntax is used, not Lua patterns.
type Pattern struct {
	Source string
	re     *regexp.Regexp
}

// MustPattern compiles a Pattern and panics on a bad expression; use it
// only for patterns written in the code.
func MustPattern(expr string) *Pattern {
	return &Pattern{Source: expr, re: regexp.MustCompile(expr)}
}

// MatchString reports whether s matches the pattern.
func (p *Pattern) MatchString(s string) bool { return p.re.MatchString(s) }

// PatternErr is a pattern with the message given when it fails (for
// match_all) or matches (for match_none).
type PatternErr struct {
	Pattern *Pattern
	Err     string
}

// MatchAny passes when any of Patterns matches, else fails with Err.
type MatchAny struct {
	Patterns []*Pattern
	Err      string
}

// Ptr returns a pointer to v; it keeps field literals short
// (LenMin: schema.Ptr(1)).
func Ptr[T any](v T) *T { return new(v) }

// Range returns a Between bound.
func Range(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// Clone returns a deep copy of f's definition, for typedefs that a schema
// adjusts (`typedefs.host { required = true }` in Kong).
func (f *Field) Clone() *Field {
	if f == nil {
		return nil
	}
	c := *f
	c.Elements = f.Elements.Clone()
	c.Keys = f.Keys.Clone()
	c.Values = f.Values.Clone()
	if f.Fields != nil {
		c.Fields = make([]*Field, len(f.Fields))
		for i, sub := range f.Fields {
			c.Fields[i] = sub.Clone()
		}
	}
	c.Default = DeepCopy(f.Default)
	return &c
}

// Named returns a copy of f with the given name.
func (f *Field) Named(name string) *Field {
	c := f.Clone()
	c.Name = name
	return c
}

// With returns a copy of f changed by fn: schema.Host().With(func(f *schema.Field) { f.Required = true }).
func (f *Field) With(fn func(*Field)) *Field {
	c := f.Clone()
	fn(c)
	return c
}

// Field returns the sub-field of a record called name, or nil.
func (f *Field) Field(name string) *Field {
	return findField(f.Fields, name)
}

func findField(fields []*Field, name string) *Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}
