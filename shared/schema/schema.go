package schema

import "fmt"

// Schema describes an entity type (a Kong DAO schema) or, for subschemas,
// the part of an entity that a subschema specializes.
type Schema struct {
	// Name is the table name ("services", "keyauth_credentials").
	Name string
	// Fields in Kong's order; the order is what /schemas endpoints show.
	Fields       []*Field
	EntityChecks []Check
	// Shorthands are input-only fields translated into real ones.
	Shorthands []Shorthand

	// PrimaryKey is the list of primary key fields (["id"] for every
	// entity Gatehouse stores).
	PrimaryKey []string
	// EndpointKey is the field an Admin API path may use instead of the id
	// ("name", "username", "key").
	EndpointKey string
	// CacheKey is the list of fields that identify an entity besides its
	// id (plugins: name, route, service, consumer); it is unique.
	CacheKey []string

	// SubschemaKey names the field whose value selects a subschema (the
	// plugin "name"), Subschemas looks it up, and SubschemaError is the
	// message (with %s for the key) when none is found.
	SubschemaKey   string
	Subschemas     func(key string) *Schema
	SubschemaError string
}

// Field returns the top-level field called name, or nil.
func (s *Schema) Field(name string) *Field {
	return findField(s.Fields, name)
}

// subschemaFor returns the subschema selected by input, or nil.
func (s *Schema) subschemaFor(input map[string]any) *Schema {
	if s.SubschemaKey == "" || s.Subschemas == nil {
		return nil
	}
	key, ok := input[s.SubschemaKey].(string)
	if !ok {
		return nil
	}
	return s.Subschemas(key)
}

// Resolve returns the field called name as input specializes it: the
// subschema's definition when input selects a subschema that redefines the
// field, else the schema's own. It returns nil for unknown names.
func (s *Schema) Resolve(input map[string]any, name string) *Field {
	if sub := s.subschemaFor(input); sub != nil {
		if f := sub.Field(name); f != nil {
			return f
		}
	}
	return s.Field(name)
}

// EachField calls fn for every field of the schema, specialized for input
// (which may be nil).
func (s *Schema) EachField(input map[string]any, fn func(*Field)) {
	sub := s.subschemaFor(input)
	for _, f := range s.Fields {
		if sub != nil {
			if sf := sub.Field(f.Name); sf != nil {
				f = sf
			}
		}
		fn(f)
	}
}

// recordSchema wraps a record field's sub-fields as a Schema, so records
// and entities share one implementation.
func recordSchema(f *Field) *Schema {
	return &Schema{Name: f.Name, Fields: f.Fields, EntityChecks: f.EntityChecks, Shorthands: f.Shorthands}
}

// Check verifies the schema definition itself: every field has a name and
// a known type, aggregates have their element/key/value/field definitions,
// defaults are valid values, entity checks name existing fields. It is run
// by tests over every schema Gatehouse ships.
func (s *Schema) Check() error {
	for _, f := range s.Fields {
		if err := checkField(f, s.Name, true); err != nil {
			return err
		}
	}
	return checkChecks(s.Fields, s.EntityChecks, s.Name)
}

func checkField(f *Field, where string, named bool) error {
	path := where + "." + f.Name
	if named && f.Name == "" {
		return fmt.Errorf("%s: field without a name", where)
	}
	switch f.Type {
	case String, Integer, Number, Boolean:
	case Array, Set:
		if f.Elements == nil {
			return fmt.Errorf("%s: %s without elements", path, f.Type)
		}
		if err := checkField(f.Elements, path+"[]", false); err != nil {
			return err
		}
	case Map:
		if f.Keys == nil || f.Values == nil {
			return fmt.Errorf("%s: map without keys or values", path)
		}
		if f.Keys.Type != String {
			return fmt.Errorf("%s: map keys must be strings", path)
		}
		if err := checkField(f.Keys, path+"{keys}", false); err != nil {
			return err
		}
		if err := checkField(f.Values, path+"{values}", false); err != nil {
			return err
		}
	case Record:
		if f.Fields == nil && !f.Abstract {
			return fmt.Errorf("%s: record without fields", path)
		}
		for _, sub := range f.Fields {
			if err := checkField(sub, path, true); err != nil {
				return err
			}
		}
		if err := checkChecks(f.Fields, f.EntityChecks, path); err != nil {
			return err
		}
	case Foreign:
		if f.Reference == "" {
			return fmt.Errorf("%s: foreign field without reference", path)
		}
	default:
		return fmt.Errorf("%s: invalid type %q", path, f.Type)
	}
	if f.Default != nil && f.Type != Record {
		if msg := validateField(f, f.Default); msg != nil {
			return fmt.Errorf("%s: default %v is invalid: %v", path, f.Default, msg)
		}
	}
	return nil
}

func checkChecks(fields []*Field, checks []Check, where string) error {
	s := &Schema{Fields: fields}
	for i, c := range checks {
		for _, name := range c.fieldNames() {
			if s.fieldByPath(name) == nil {
				return fmt.Errorf("%s: entity check %d names unknown field %q", where, i+1, name)
			}
		}
	}
	return nil
}
