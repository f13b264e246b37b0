// Package entity defines Kong's entities (services, routes, consumers,
// plugins, upstreams, targets, certificates, snis, ca_certificates,
// credentials, consumer groups) with the schema engine, and the catalog the
// services use to find them. New builds the catalog.
//
// The definitions follow Kong 3.10's schemas field by field (order,
// defaults, validators, entity checks, messages), for the
// traditional_compatible router flavor, with these deliberate differences:
//
//   - Routes whose protocols include anything but http and https are
//     refused (a "protocols" field error) until the data plane serves them.
//   - Plugins carry Kong Enterprise's consumer_group foreign key (3.4+) and
//     its rule that consumer and consumer_group exclude each other.
//   - Consumer group memberships have an id (MembershipID by default); Kong's
//     primary key (consumer_group, consumer) is their cache key.
//   - snis.certificate is on_delete cascade in the schema; Kong's DAO does
//     the same cascade in code.
//   - Target normalisation (Prepare) also applies to updates.
//   - Field descriptions are not carried, so /schemas shows none.
//
// Always process and validate through a Type (Write, Update, Validate,
// SchemaFor): routes specialize their schema by protocols, and some types
// have Prepare, Transform and Check hooks that Schema alone does not run.
package entity

import (
	"fmt"
	"time"

	"gatehouse.dev/shared/schema"
)

// PluginSchemas gives the subschema of a plugin by name (the fields a
// plugin specializes: config, protocols, scope restrictions), or nil when
// the plugin is not loaded. shared/plugin's Set implements it.
type PluginSchemas interface {
	PluginSchema(name string) *schema.Schema
}

// Type is one entity type with what every service needs to know about it.
type Type struct {
	// Schema holds the fields, checks and keys.
	Schema *schema.Schema
	// Name is the table name ("keyauth_credentials"), also the key of the
	// type in declarative files and on the wire.
	Name string
	// AdminName is the Admin API collection path segment ("key-auths");
	// NestedName the segment under a parent ("/consumers/{c}/key-auth"),
	// equal to AdminName when empty.
	AdminName  string
	NestedName string
	// GenerateAdminAPI is false for types without generated endpoints
	// (memberships, managed under /consumer_groups/{g}/consumers).
	GenerateAdminAPI bool
	// TTL types accept a "ttl" option (seconds) on create and update,
	// stored as their "expires_at" field (see ExpiresAt).
	TTL bool
	// Transient names input fields that are not stored with the entity
	// (certificates' "snis", materialised as sni rows by the Admin API).
	Transient []string
	// Prepare, when set, normalises an input before Process (target
	// normalisation, upstream hash coupling, derived fields such as a CA
	// certificate's digest). It must not fail: bad values are left for
	// validation to report.
	Prepare func(input map[string]any, ctx schema.Context)
	// Transform, when set, applies Kong's DAO transformations that replace
	// user-given values (basic-auth password hashing). Declarative imports
	// with `_transform: false` skip it, since they carry stored values.
	Transform func(input map[string]any, ctx schema.Context)
	// TransformNeeds names the top-level fields Transform reads besides the
	// ones it rewrites (Kong's transformation `needs`: basic-auth salts the
	// password with the consumer id). Update copies them from the stored
	// entity into the patch when the patch does not give them, so a PATCH
	// of the password alone is hashed as Kong hashes it.
	TransformNeeds []string
	// Specialize, when set, returns the schema that processes and validates
	// a given entity in place of Schema, or nil for Schema itself. Routes
	// use it for Kong's subschemas keyed by the first of their protocols (a
	// set, where the schema engine keys subschemas by a string field only).
	// Always go through SchemaFor, Validate, Write or Update: Schema alone
	// misses the specialized rules.
	Specialize func(entity map[string]any) *schema.Schema
	// Check, when set, adds Gatehouse's own rules after Kong's (routes
	// refuse the protocols the data plane does not serve yet). It may add
	// to errs, which Validate then reports with the schema's errors.
	Check func(entity map[string]any, errs schema.Errors)
}

// SchemaFor returns the schema that processes and validates entity:
// Specialize's choice, else Schema.
func (t *Type) SchemaFor(entity map[string]any) *schema.Schema {
	if t.Specialize != nil {
		if s := t.Specialize(entity); s != nil {
			return s
		}
	}
	return t.Schema
}

// Validate checks a processed entity with the schema that applies to it
// and the type's own Check, and returns the field errors or nil. Like
// schema.Schema.Validate it never modifies entity and never panics.
func (t *Type) Validate(entity map[string]any, mode schema.Mode) schema.Errors {
	errs := t.SchemaFor(entity).Validate(entity, mode)
	if t.Check == nil {
		return errs
	}
	if errs == nil {
		errs = schema.Errors{}
	}
	t.Check(entity, errs)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// WriteOptions tunes Write.
type WriteOptions struct {
	// SkipTransform leaves Transform out (declarative `_transform: false`).
	SkipTransform bool
}

// ForeignKey is a foreign field of a type.
type ForeignKey struct {
	Field     string // "service"
	Reference string // "services"
	OnDelete  string // "cascade", "restrict" or ""
	Required  bool
}

// ForeignKeys returns the foreign fields of t, in schema order.
func (t *Type) ForeignKeys() []ForeignKey {
	var out []ForeignKey
	for _, f := range t.Schema.Fields {
		if f.Type == schema.Foreign {
			out = append(out, ForeignKey{Field: f.Name, Reference: f.Reference, OnDelete: f.OnDelete, Required: f.Required})
		}
	}
	return out
}

// Write prepares input for storage in context ctx (Insert or Upsert): the
// transient fields are set aside, then Prepare, Transform, Process and
// Validate run, and the transient values given are validated against
// their fields. It returns the entity to store (without transient fields)
// or a schema-violation error. now stamps timestamps. input is not
// modified.
func (t *Type) Write(input map[string]any, ctx schema.Context, now time.Time) (map[string]any, *schema.Error) {
	return t.WriteWith(input, ctx, now, WriteOptions{})
}

// WriteWith is Write with options.
func (t *Type) WriteWith(input map[string]any, ctx schema.Context, now time.Time, opts WriteOptions) (map[string]any, *schema.Error) {
	in := schema.CopyMap(input)
	if in == nil {
		in = map[string]any{}
	}
	transient := t.takeTransient(in)
	if t.Prepare != nil {
		t.Prepare(in, ctx)
	}
	if t.Transform != nil && !opts.SkipTransform {
		t.Transform(in, ctx)
	}
	out := t.SchemaFor(in).Process(in, ctx, now)
	t.dropTransient(out)
	errs := t.validateTransient(transient, t.Validate(out, schema.Full))
	if errs != nil {
		return nil, schema.SchemaViolation(errs)
	}
	return out, nil
}

// Update applies a PATCH: the patch is prepared and transformed (with
// TransformNeeds taken from stored when the patch lacks them), processed
// in Update context, merged over the stored entity (records deep-merged)
// and the result validated as Kong's validate_update does. Neither input
// is modified.
func (t *Type) Update(patch, stored map[string]any, now time.Time) (map[string]any, *schema.Error) {
	in := schema.CopyMap(patch)
	if in == nil {
		in = map[string]any{}
	}
	transient := t.takeTransient(in)
	if t.Prepare != nil {
		t.Prepare(in, schema.Update)
	}
	if t.Transform != nil {
		for _, name := range t.TransformNeeds {
			if _, given := in[name]; !given {
				if v, ok := stored[name]; ok {
					in[name] = schema.DeepCopy(v)
				}
			}
		}
		t.Transform(in, schema.Update)
	}
	processed := t.SchemaFor(in).Process(in, schema.Update, now)
	merged := t.SchemaFor(stored).Merge(processed, stored)
	// Records given in the patch may lack defaults that the stored entity
	// had; Select fills anything still missing.
	merged = t.SchemaFor(merged).Process(merged, schema.Select, now)
	t.dropTransient(merged)
	errs := t.validateTransient(transient, t.Validate(merged, schema.Mode{Partial: true}))
	if errs != nil {
		return nil, schema.SchemaViolation(errs)
	}
	for _, f := range t.Schema.Fields {
		if f.Immutable {
			if v, ok := patch[f.Name]; ok && !schema.Equal(v, stored[f.Name]) {
				return nil, schema.SchemaViolation(schema.Errors{f.Name: "immutable field cannot be updated"})
			}
		}
	}
	return merged, nil
}

// takeTransient removes the transient fields from in and returns those
// that were given.
func (t *Type) takeTransient(in map[string]any) map[string]any {
	var out map[string]any
	for _, name := range t.Transient {
		if v, ok := in[name]; ok {
			if out == nil {
				out = map[string]any{}
			}
			out[name] = v
			delete(in, name)
		}
	}
	return out
}

// dropTransient removes the transient fields that processing added (as
// null) to an entity about to be stored.
func (t *Type) dropTransient(entity map[string]any) {
	for _, name := range t.Transient {
		delete(entity, name)
	}
}

// validateTransient checks the given transient values against their
// schema fields, adding to errs (which may be nil), and returns the
// errors or nil.
func (t *Type) validateTransient(given map[string]any, errs schema.Errors) schema.Errors {
	for _, name := range t.Transient {
		v, ok := given[name]
		f := t.Schema.Field(name)
		if !ok || f == nil {
			continue
		}
		if msg := schema.ValidateField(f, v); msg != nil {
			if errs == nil {
				errs = schema.Errors{}
			}
			errs[name] = msg
		}
	}
	return errs
}

// Catalog is the set of entity types, built once at start-up and
// read-only afterwards (safe for concurrent use).
type Catalog struct {
	byName  map[string]*Type
	byAdmin map[string]*Type
	ordered []*Type
}

// Type returns the type with the given table name, or nil.
func (c *Catalog) Type(name string) *Type { return c.byName[name] }

// ByAdminName returns the type whose Admin API collection is path, or nil.
func (c *Catalog) ByAdminName(path string) *Type { return c.byAdmin[path] }

// Types returns every type, parents before the types that reference them
// (the order to load or export a configuration in).
func (c *Catalog) Types() []*Type { return c.ordered }

// Children returns the foreign keys that point at the type called name,
// as (child type, foreign key) pairs in catalog order.
func (c *Catalog) Children(name string) []Reference {
	var out []Reference
	for _, t := range c.ordered {
		for _, fk := range t.ForeignKeys() {
			if fk.Reference == name {
				out = append(out, Reference{Type: t, Key: fk})
			}
		}
	}
	return out
}

// Reference is a foreign key of Type pointing at another type.
type Reference struct {
	Type *Type
	Key  ForeignKey
}

func newCatalog(types []*Type) (*Catalog, error) {
	c := &Catalog{byName: map[string]*Type{}, byAdmin: map[string]*Type{}}
	for _, t := range types {
		if _, dup := c.byName[t.Name]; dup {
			return nil, fmt.Errorf("entity type %s defined twice", t.Name)
		}
		c.byName[t.Name] = t
		if t.GenerateAdminAPI {
			c.byAdmin[t.AdminName] = t
		}
	}
	// Order parents first; the definitions are acyclic apart from
	// self-references, which do not constrain the order.
	done := map[string]bool{}
	var visit func(t *Type, depth int) error
	visit = func(t *Type, depth int) error {
		if done[t.Name] {
			return nil
		}
		if depth > len(types) {
			return fmt.Errorf("entity type %s: foreign keys form a cycle", t.Name)
		}
		for _, fk := range t.ForeignKeys() {
			if fk.Reference == t.Name {
				continue
			}
			parent := c.byName[fk.Reference]
			if parent == nil {
				return fmt.Errorf("entity type %s: field %s references unknown type %s", t.Name, fk.Field, fk.Reference)
			}
			if err := visit(parent, depth+1); err != nil {
				return err
			}
		}
		done[t.Name] = true
		c.ordered = append(c.ordered, t)
		return nil
	}
	for _, t := range types {
		if err := visit(t, 0); err != nil {
			return nil, err
		}
	}
	return c, nil
}
