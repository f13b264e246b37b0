package declarative

import (
	"slices"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// nilRef stands in for a reference that names nothing, so that the schema
// checks can run; the invalid reference itself is reported afterwards.
const nilRef = "00000000-0000-0000-0000-000000000000"

// index registers every item by id and by unique endpoint key, the first
// declaration winning (duplicates are reported by checkKeys).
func (p *parser) index() {
	for _, it := range p.items {
		name := it.typ.Name
		if it.id != "" {
			ids := p.byID[name]
			if ids == nil {
				ids = map[string]*item{}
				p.byID[name] = ids
			}
			if _, dup := ids[it.id]; !dup {
				ids[it.id] = it
			}
		}
		if ek := uniqueEndpointKey(it.typ.Schema); ek != "" {
			if v, ok := it.rec[ek].(string); ok {
				keys := p.byKey[name]
				if keys == nil {
					keys = map[string]*item{}
					p.byKey[name] = keys
				}
				if _, dup := keys[v]; !dup {
					keys[v] = it
				}
			}
		}
	}
}

func uniqueEndpointKey(s *schema.Schema) string {
	if s.EndpointKey == "" {
		return ""
	}
	if f := s.Field(s.EndpointKey); f != nil && f.Unique {
		return s.EndpointKey
	}
	return ""
}

// find returns the item of type typ whose field is value; field "" means
// Kong's lookup: the endpoint key, then the id.
func (p *parser) find(typ, field, value string) *item {
	t := p.cat.Type(typ)
	if t == nil {
		return nil
	}
	switch field {
	case "":
		if it := p.byKey[typ][value]; it != nil {
			return it
		}
		return p.byID[typ][value]
	case "id":
		return p.byID[typ][value]
	case uniqueEndpointKey(t.Schema):
		return p.byKey[typ][value]
	}
	f := t.Schema.Field(field)
	if f == nil || !f.Unique {
		return nil
	}
	idx := typ + "\x00" + field
	m, ok := p.byUnique[idx]
	if !ok {
		m = map[string]*item{}
		for _, it := range p.items {
			if it.typ.Name != typ {
				continue
			}
			if v, ok := it.rec[field].(string); ok {
				if _, dup := m[v]; !dup {
					m[v] = it
				}
			}
		}
		p.byUnique[idx] = m
	}
	return m[value]
}

// resolve turns the foreign keys of an item into {"id": ...}: a string is
// the referenced entity's endpoint key or id, an object holds "id" or a
// single unique field ({name: ...}). References that name nothing are
// kept for checkKeys; values of the wrong shape are left for the schema
// to report.
func (p *parser) resolve(it *item) {
	for _, fk := range p.foreignKeys(it.typ) {
		if it.spec != nil && fk.Field == it.spec.fk {
			continue // set from the parent
		}
		v, ok := it.rec[fk.Field]
		if !ok || v == nil {
			continue
		}
		res, refMsg, shapeMsg := p.resolveFK(fk, v)
		if shapeMsg != "" {
			it.addExtra(fk.Field, shapeMsg)
			delete(it.rec, fk.Field)
			continue
		}
		it.rec[fk.Field] = res
		if refMsg != "" {
			it.refErrs = append(it.refErrs, refMsg)
		}
	}
	if it.spec != nil && it.spec.ref != "" && len(it.refErrs) == 0 && it.extra == nil {
		p.identifyMembership(it)
	}
}

func (p *parser) resolveFK(fk entity.ForeignKey, v any) (res any, refMsg, shapeMsg string) {
	switch t := v.(type) {
	case string:
		if target := p.find(fk.Reference, "", t); target != nil {
			return target.refValue(), "", ""
		}
		return map[string]any{"id": nilRef}, referenceMessage(fk.Field, t, fk.Reference), ""
	case map[string]any:
		if idv, ok := t["id"]; ok {
			id, isString := idv.(string)
			if !isString || !schema.IsUUID(id) {
				return v, "", ""
			}
			if target := p.byID[fk.Reference][id]; target != nil {
				return target.refValue(), "", ""
			}
			return map[string]any{"id": id}, referenceMessage(fk.Field, t, fk.Reference), ""
		}
		if len(t) == 1 {
			for k, kv := range t {
				s, ok := kv.(string)
				if !ok || !slices.Contains(lookupFields(p.cat.Type(fk.Reference)), k) {
					break
				}
				if target := p.find(fk.Reference, k, s); target != nil {
					return target.refValue(), "", ""
				}
				return map[string]any{"id": nilRef}, referenceMessage(fk.Field, t, fk.Reference), ""
			}
		}
		return v, "", ""
	default:
		// At the top level Kong declares foreign keys as strings.
		return nil, "", "expected a string"
	}
}

// refValue is the reference to the item, or a placeholder when its own id
// is invalid (the item's errors say why; the referrer's should not).
func (it *item) refValue() map[string]any {
	if !schema.IsUUID(it.id) {
		return map[string]any{"id": nilRef}
	}
	return it.ref()
}

// identifyMembership drops a membership declared through an alias when
// the same membership was already declared that way (decK files may
// declare one from both the group and the consumer).
func (p *parser) identifyMembership(it *item) {
	group, ok1 := it.rec[fkTo(it.typ, consumerGroups)].(map[string]any)
	consumer, ok2 := it.rec[fkTo(it.typ, consumers)].(map[string]any)
	if !ok1 || !ok2 {
		return
	}
	key := valueKey(group) + ":" + valueKey(consumer)
	if p.members[key] {
		it.skip = true
		return
	}
	p.members[key] = true
}

// checkKeys is the second phase (Kong's validate_references): a unique
// endpoint key or a primary key declared twice, and references to
// entities the file does not declare.
func (p *parser) checkKeys() *errTree {
	tree := newErrTree()
	keys := map[string]map[string]bool{}
	ids := map[string]map[string]bool{}
	seen := func(m map[string]map[string]bool, typ, k string) bool {
		set := m[typ]
		if set == nil {
			set = map[string]bool{}
			m[typ] = set
		}
		if set[k] {
			return true
		}
		set[k] = true
		return false
	}
	for _, it := range p.items {
		if it.skip {
			continue
		}
		name := it.typ.Name
		failed := false
		if ek := uniqueEndpointKey(it.typ.Schema); ek != "" {
			if v := it.out[ek]; v != nil && seen(keys, name, valueKey(v)) {
				tree.message(&it.loc, it, uniquenessMessage(name, ek, v))
				failed = true
			}
		}
		if !failed && it.id != "" && seen(ids, name, it.id) {
			tree.message(&it.loc, it, uniquenessMessage(name, "primary key", it.id))
		}
		for _, msg := range it.refErrs {
			tree.reference(&it.loc, it, msg)
		}
	}
	if tree.empty {
		return nil
	}
	return tree
}

// checkUnique is the third phase: the other unique fields (Kong's flatten)
// and the cache key, which identifies an entity besides its id (a plugin's
// name and scope, a target's upstream and address), across the file.
func (p *parser) checkUnique() *errTree {
	tree := newErrTree()
	values := map[string]bool{}
	for _, it := range p.items {
		if it.skip {
			continue
		}
		s := it.typ.Schema
		name := it.typ.Name
		failed := false
		for _, f := range s.Fields {
			if !f.Unique || f.Name == s.EndpointKey || slices.Contains(s.PrimaryKey, f.Name) {
				continue
			}
			v := it.out[f.Name]
			if v == nil {
				continue
			}
			k := name + "\x00" + f.Name + "\x00" + valueKey(v)
			if values[k] {
				tree.message(&it.loc, it, uniquenessMessage(name, f.Name, valueKey(v)))
				failed = true
				break
			}
			values[k] = true
		}
		if failed || len(s.CacheKey) == 0 {
			continue
		}
		tuple := make(map[string]any, len(s.CacheKey))
		parts := make([]string, 0, len(s.CacheKey))
		for _, f := range s.CacheKey {
			tuple[f] = it.out[f]
			parts = append(parts, valueKey(it.out[f]))
		}
		k := name + "\x01" + strings.Join(parts, "\x00")
		if values[k] {
			tree.message(&it.loc, it, cacheKeyMessage(name, s.CacheKey, tuple))
			continue
		}
		values[k] = true
	}
	if tree.empty {
		return nil
	}
	return tree
}

// cacheKeyMessage reports a cache key declared twice; a one-field cache
// key reads like any unique field.
func cacheKeyMessage(typ string, fields []string, tuple map[string]any) string {
	if len(fields) == 1 {
		return uniquenessMessage(typ, fields[0], valueKey(tuple[fields[0]]))
	}
	return "uniqueness violation: '" + typ + "' entity with cache key set to '" +
		schema.LuaPretty(tuple) + "' already declared"
}
