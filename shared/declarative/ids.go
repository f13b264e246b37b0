package declarative

import (
	"strings"

	"gatehouse.dev/shared/schema"
)

// entitiesNamespace is the UUIDv5 namespace of Kong's declarative ids;
// each table gets its own namespace, v5(entitiesNamespace, table name).
const entitiesNamespace = "fd02801f-0957-4a15-a55a-c8d9606f30b5"

// anyWorkspace stands for the workspace in generated keys: Gatehouse has
// one, and Kong writes "*" for entities that carry no ws_id.
const anyWorkspace = "*"

// GenerateID returns the id Kong's declarative loader gives an entity of
// table typ identified by key (a cache key or an endpoint key, see
// the package documentation): the UUIDv5 of key in the table's namespace.
func GenerateID(typ, key string) string {
	return schema.UUIDv5(schema.UUIDv5(entitiesNamespace, typ), key)
}

func (p *parser) namespace(typ string) string {
	ns, ok := p.namespaces[typ]
	if !ok {
		ns = schema.UUIDv5(entitiesNamespace, typ)
		p.namespaces[typ] = ns
	}
	return ns
}

// assignID gives the item its id before its children are read, as Kong's
// generate_ids does: a given id is kept, a missing one is derived from the
// cache key or the endpoint key when Kong derives it, else random.
func (p *parser) assignID(it *item) {
	s := it.typ.Schema
	if len(s.PrimaryKey) != 1 {
		return
	}
	pk := s.PrimaryKey[0]
	v, given := it.rec[pk]
	if given && v != nil {
		it.id = schema.FormatValue(v)
		return
	}
	if f := s.Field(pk); f == nil || !f.UUID {
		return
	}
	if it.typ.Name == membershipType {
		// The type derives its own id from the resolved pair
		// (entity.MembershipID), the same on every path a membership
		// is created by.
		return
	}
	key, ok := "", false
	if !given {
		// An explicit null id is "set" for Kong: no derived id, and the
		// insert then generates a random one.
		key, ok = p.uuidKey(it)
	}
	if ok {
		it.id = schema.UUIDv5(p.namespace(it.typ.Name), key)
	} else {
		it.id, it.randomID = schema.NewUUID(), true
	}
	it.rec[pk] = it.id
}

// uuidKey is Kong's get_key_for_uuid_gen: the cache key when the type has
// one, else the endpoint key's value (followed by the parent's id and the
// workspace when the endpoint key is not unique on its own).
func (p *parser) uuidKey(it *item) (string, bool) {
	s := it.typ.Schema
	if len(s.CacheKey) > 0 {
		return p.cacheKey(it)
	}
	ek := s.EndpointKey
	if ek == "" {
		return "", false
	}
	key, ok := it.rec[ek].(string)
	if !ok {
		return "", false
	}
	f := s.Field(ek)
	if f == nil || f.Unique {
		return key, true
	}
	parts := []string{key}
	for _, fk := range p.foreignKeys(it.typ) {
		if fk.OnDelete != "cascade" {
			continue
		}
		if it.parent != nil {
			if it.parent.randomID {
				return "", false
			}
			parts = append(parts, it.parent.id)
			continue
		}
		raw, ok := it.rec[fk.Field].(string)
		if !ok {
			return "", false
		}
		parts = append(parts, raw)
	}
	return strings.Join(append(parts, anyWorkspace), ":"), true
}

// cacheKey is Kong's build_cache_key: "<table>:<workspace>:" followed by
// the cache-key fields as given: strings as they are, the parent's id for
// the field that points at the parent of a nested entity, "" for other
// missing optional fields. Other values (null, objects, numbers) add
// nothing. It fails (so the id is random) when a field is auto-generated
// or a required one is missing.
func (p *parser) cacheKey(it *item) (string, bool) {
	s := it.typ.Schema
	parts := make([]string, 0, len(s.CacheKey)+2)
	parts = append(parts, it.typ.Name, anyWorkspace)
	for _, k := range s.CacheKey {
		f := s.Field(k)
		if f == nil || f.Auto {
			return "", false
		}
		v, present := it.rec[k]
		switch {
		case present:
			if str, ok := v.(string); ok {
				parts = append(parts, str)
			}
		case it.spec != nil && k == it.spec.fk:
			if it.parent.randomID {
				return "", false
			}
			parts = append(parts, it.parent.id)
		case f.Required:
			return "", false
		default:
			parts = append(parts, "")
		}
	}
	return strings.Join(parts, ":"), true
}
