package declarative

import (
	"fmt"
	"sort"

	"gatehouse.dev/shared/entity"
)

// Config is a flattened declarative configuration: for each entity type,
// its entities as stored (every field present, foreign keys as
// {"id": ...}), ordered by primary key. A Config is read-only once built
// and safe for concurrent use; the maps and slices its methods return are
// shared and must not be modified.
type Config struct {
	cat      *entity.Catalog
	entities map[string][]map[string]any
	types    []string
	n        int
}

// config collects the written items.
func (p *parser) config() *Config {
	byType := map[string][]*item{}
	for _, it := range p.items {
		if it.skip {
			continue
		}
		byType[it.typ.Name] = append(byType[it.typ.Name], it)
	}
	m := make(map[string][]map[string]any, len(byType))
	for name, items := range byType {
		sort.Slice(items, func(i, j int) bool { return items[i].id < items[j].id })
		list := make([]map[string]any, len(items))
		for i, it := range items {
			list[i] = it.out
		}
		m[name] = list
	}
	return newConfig(p.cat, m)
}

func newConfig(cat *entity.Catalog, m map[string][]map[string]any) *Config {
	c := &Config{cat: cat, entities: m}
	for _, t := range cat.Types() {
		if n := len(m[t.Name]); n > 0 {
			c.types = append(c.types, t.Name)
			c.n += n
		}
	}
	return c
}

// FromEntities builds a Config from entities already flattened and
// validated, such as a snapshot read from the store or received from the
// control plane: m maps a type's table name to its entities. It checks
// that every type is in cat and every entity has its primary key, and
// orders the entities by primary key; it neither validates nor copies the
// entities, which the Config then shares with the caller.
func FromEntities(cat *entity.Catalog, m map[string][]map[string]any) (*Config, error) {
	out := make(map[string][]map[string]any, len(m))
	for name, list := range m {
		t := cat.Type(name)
		if t == nil {
			return nil, fmt.Errorf("entities: unknown type %q", name)
		}
		if len(list) == 0 {
			continue
		}
		keyed := make([]keyedEntity, len(list))
		for i, e := range list {
			if e == nil {
				return nil, fmt.Errorf("entities: %s[%d] is null", name, i)
			}
			for _, k := range t.Schema.PrimaryKey {
				if e[k] == nil {
					return nil, fmt.Errorf("entities: %s[%d] has no %s", name, i, k)
				}
			}
			keyed[i] = keyedEntity{pkString(t.Schema, e), e}
		}
		sort.Slice(keyed, func(i, j int) bool { return keyed[i].key < keyed[j].key })
		sorted := make([]map[string]any, len(keyed))
		for i, k := range keyed {
			sorted[i] = k.e
		}
		out[name] = sorted
	}
	return newConfig(cat, out), nil
}

type keyedEntity struct {
	key string
	e   map[string]any
}

// Types returns the table names of the types that have entities, parents
// before the types that reference them (the catalog's order).
func (c *Config) Types() []string { return c.types }

// Len returns the number of entities.
func (c *Config) Len() int { return c.n }

// Entities returns the entities of the type with table name typ, ordered
// by primary key, or nil.
func (c *Config) Entities(typ string) []map[string]any { return c.entities[typ] }

// AsMap returns the entities by table name: what sync-hub and the data
// plane carry. The map is new; the slices and entities are shared.
func (c *Config) AsMap() map[string][]map[string]any {
	out := make(map[string][]map[string]any, len(c.entities))
	for k, v := range c.entities {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// Catalog returns the catalog the Config was built with.
func (c *Config) Catalog() *entity.Catalog { return c.cat }
