package declarative

import (
	"slices"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// childSpec says how entities of one type nest in a record of another.
type childSpec struct {
	key string       // the key of the array in the parent record
	typ *entity.Type // the type of its elements
	fk  string       // the field of typ that points at the parent
	// ref, for the consumer-group aliases, is the field of typ that each
	// element references (the elements are references, not records).
	ref   string
	order int
}

// The consumer-group membership type and the decK keys that declare
// memberships (kong-admin-api.md 2.13).
const (
	membershipType = "consumer_group_consumers"
	consumerGroups = "consumer_groups"
	consumers      = "consumers"
)

// childSpecs returns the arrays a record of type t may nest, by key: one
// per type with a foreign key to t, named after that type
// (services[].routes[]), unless t has a field of that name that is not
// transient (certificates' transient "snis" gives way to nested SNI
// records). Consumer groups also take decK's "consumers" (references to
// consumers) and consumers decK's "groups" (references to groups), both
// declaring consumer_group_consumers memberships.
func (p *parser) childSpecs(t *entity.Type) map[string]*childSpec {
	if specs, ok := p.specs[t.Name]; ok {
		return specs
	}
	specs := map[string]*childSpec{}
	add := func(cs *childSpec) {
		if _, dup := specs[cs.key]; dup {
			return
		}
		if f := t.Schema.Field(cs.key); f != nil && !isTransient(t, cs.key) {
			return
		}
		cs.order = len(specs)
		specs[cs.key] = cs
	}
	for _, r := range p.cat.Children(t.Name) {
		if r.Type.Name == t.Name {
			continue
		}
		add(&childSpec{key: r.Type.Name, typ: r.Type, fk: r.Key.Field})
	}
	if m := p.cat.Type(membershipType); m != nil {
		groupFK, consumerFK := fkTo(m, consumerGroups), fkTo(m, consumers)
		if groupFK != "" && consumerFK != "" {
			switch t.Name {
			case consumerGroups:
				add(&childSpec{key: "consumers", typ: m, fk: groupFK, ref: consumerFK})
			case consumers:
				add(&childSpec{key: "groups", typ: m, fk: consumerFK, ref: groupFK})
			}
		}
	}
	p.specs[t.Name] = specs
	return specs
}

func isTransient(t *entity.Type, name string) bool {
	return slices.Contains(t.Transient, name)
}

// fkTo returns the field of t that references the type ref, or "".
func fkTo(t *entity.Type, ref string) string {
	for _, fk := range t.ForeignKeys() {
		if fk.Reference == ref {
			return fk.Field
		}
	}
	return ""
}

func (p *parser) foreignKeys(t *entity.Type) []entity.ForeignKey {
	fks, ok := p.fks[t.Name]
	if !ok {
		fks = t.ForeignKeys()
		p.fks[t.Name] = fks
	}
	return fks
}

// aliasRecord turns an element of a membership alias into a membership
// record: a string is the referenced entity's endpoint key or id; an
// object names it by "id", by its endpoint key or by another unique field
// (decK writes {username: alice} and {name: gold}); other keys are
// ignored. It returns an @entity message when the element names nothing.
func (p *parser) aliasRecord(e any, spec *childSpec) (map[string]any, string) {
	ref := p.cat.Type(referenceOf(spec.typ, spec.ref))
	switch t := e.(type) {
	case string:
		return map[string]any{spec.ref: t}, ""
	case map[string]any:
		for _, k := range lookupFields(ref) {
			if v, ok := t[k]; ok && v != nil {
				return map[string]any{spec.ref: map[string]any{k: v}}, ""
			}
		}
		quoted := make([]string, 0, 3)
		for _, k := range lookupFields(ref) {
			quoted = append(quoted, "'"+k+"'")
		}
		return nil, "at least one of these fields must be non-empty: " + strings.Join(quoted, ", ")
	default:
		return nil, "expected a record"
	}
}

func referenceOf(t *entity.Type, field string) string {
	for _, fk := range t.ForeignKeys() {
		if fk.Field == field {
			return fk.Reference
		}
	}
	return ""
}

// lookupFields are the fields a reference to t may name it by: id, the
// endpoint key, then the other unique fields, in schema order.
func lookupFields(t *entity.Type) []string {
	if t == nil {
		return []string{"id"}
	}
	out := []string{"id"}
	if ek := t.Schema.EndpointKey; ek != "" {
		out = append(out, ek)
	}
	for _, f := range t.Schema.Fields {
		if f.Unique && f.Type != schema.Foreign && f.Name != "id" && f.Name != t.Schema.EndpointKey {
			out = append(out, f.Name)
		}
	}
	return out
}
