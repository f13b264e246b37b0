package chain

import (
	"gatehouse.dev/dataplane/internal/pdk"
)

// The phases a span is made for.
const (
	phaseAccess = iota
	phaseHeaderFilter
	phaseBodyFilter
	phaseLog
	numPhases
)

var phaseNames = [numPhases]string{"access", "header_filter", "body_filter", "log"}

// entry is one served plugin entity with its instance.
type entry struct {
	id, name string
	priority int
	// The entity's scope: ids, and the name of its consumer group.
	route, service, consumer, groupID string
	inst                              pdk.Instance
	access                            pdk.Accesser
	header                            pdk.HeaderFilterer
	body                              pdk.BodyFilterer
	log                               pdk.Logger
	// spans are the span names per phase (spanNames), shared by the
	// entries of a plugin.
	spans *[numPhases]string
	env   *env
}

func newEntry(id, name string, priority int, spans *[numPhases]string, inst pdk.Instance) *entry {
	e := &entry{id: id, name: name, priority: priority, inst: inst, spans: spans}
	e.access, _ = inst.(pdk.Accesser)
	e.header, _ = inst.(pdk.HeaderFilterer)
	e.body, _ = inst.(pdk.BodyFilterer)
	e.log, _ = inst.(pdk.Logger)
	return e
}

// spanNames returns the span names of a plugin per phase, as Kong names
// them: kong.<phase>.plugin.<name>.
func spanNames(name string) *[numPhases]string {
	var out [numPhases]string
	for p := range numPhases {
		out[p] = "kong." + phaseNames[p] + ".plugin." + name
	}
	return &out
}

// level is one rung of Kong's precedence for one plugin name: the
// configurations scoped to a consumer (by consumer id), to a consumer
// group (by group name), or the one configuration without a consumer
// dimension, which always matches and ends the search.
type level struct {
	byConsumer map[string]*entry
	byGroup    map[string]*entry
	plain      *entry
}

// slot is one plugin name's candidates for one route, in precedence
// order: levels end with the first level that always matches.
type slot struct {
	// plain is the configuration that applies when no consumer is known
	// (nil when only consumer-scoped ones exist).
	plain *entry
	// levels is nil when no consumer-scoped candidate precedes plain, so
	// the consumer does not matter.
	levels []level
}

// resolve returns the configuration that applies for consumer c (nil
// when none is authenticated), or nil.
func (s *slot) resolve(c *pdk.Consumer) *entry {
	if s.levels == nil || c == nil {
		return s.plain
	}
	for i := range s.levels {
		l := &s.levels[i]
		switch {
		case l.byConsumer != nil:
			if e := l.byConsumer[c.ID]; e != nil {
				return e
			}
		case l.byGroup != nil:
			// Groups are sorted by name: the first in alphabetical order
			// that has a configuration decides.
			for _, g := range c.Groups {
				if e := l.byGroup[g]; e != nil {
					return e
				}
			}
		default:
			return l.plain
		}
	}
	return nil
}

// bucket holds the configurations of one plugin name attached to one
// (route, service) pair ("" for none).
type bucket struct {
	plain      *entry
	byConsumer map[string]*entry
	byGroup    map[string]*entry
	body       bool // some entry filters bodies
}

type bucketKey struct{ name, route, service string }

// key is the bucket an entry belongs to.
func (e *entry) key() bucketKey { return bucketKey{e.name, e.route, e.service} }

// compile builds the plan for requests on route (with service), each
// possibly "": for every plugin name in order, its candidates in Kong's
// precedence (kong-admin-api.md 7.1, with Kong Enterprise's consumer
// groups):
//
//	consumer+route+service, group+route+service, consumer+route,
//	consumer+service, group+route, group+service, route+service,
//	consumer, group, route, service, global
func compile(names []string, buckets map[bucketKey]*bucket, route, service string) *Plan {
	p := &Plan{}
	for _, name := range names {
		var brs, br, bs *bucket
		if route != "" && service != "" {
			brs = buckets[bucketKey{name, route, service}]
		}
		if route != "" {
			br = buckets[bucketKey{name, route, ""}]
		}
		if service != "" {
			bs = buckets[bucketKey{name, "", service}]
		}
		bg := buckets[bucketKey{name, "", ""}]
		if brs == nil && br == nil && bs == nil && bg == nil {
			continue
		}
		s, ok := makeSlot(
			consumers(brs), groups(brs), consumers(br), consumers(bs), groups(br), groups(bs), plain(brs),
			consumers(bg), groups(bg), plain(br), plain(bs), plain(bg),
		)
		if !ok {
			continue
		}
		p.slots = append(p.slots, s)
		for _, b := range [...]*bucket{brs, br, bs, bg} {
			p.body = p.body || b != nil && b.body
		}
	}
	return p
}

func consumers(b *bucket) level {
	if b == nil || len(b.byConsumer) == 0 {
		return level{}
	}
	return level{byConsumer: b.byConsumer}
}

func groups(b *bucket) level {
	if b == nil || len(b.byGroup) == 0 {
		return level{}
	}
	return level{byGroup: b.byGroup}
}

func plain(b *bucket) level {
	if b == nil {
		return level{}
	}
	return level{plain: b.plain}
}

// makeSlot keeps the non-empty levels up to the first plain one.
func makeSlot(levels ...level) (slot, bool) {
	var s slot
	for _, l := range levels {
		switch {
		case l.byConsumer != nil || l.byGroup != nil:
			s.levels = append(s.levels, l)
		case l.plain != nil:
			s.plain = l.plain
			if s.levels != nil {
				s.levels = append(s.levels, l)
			}
			return s, true
		}
	}
	return s, s.levels != nil
}
