package chain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

// builder makes the Chains of one runtime.
type builder struct {
	opts      *Options
	factories map[string]pdk.Factory
	priority  map[string]int
	spans     map[string]*[numPhases]string // per plugin name with a factory
}

// build makes the chains of next. With prev (the previous runtime's
// chains), prevRT (that runtime) and the changes since, instances whose
// plugin entity did not change and whose Env reads (recorded while New
// ran) saw no changed type are kept; every other instance is made again.
// Buckets and plans are always compiled anew: they cost little next to
// New. Unless a change flips a service's enabled flag, only the plugins
// whose served state may have changed are looked at again: the changed
// plugins and those of changed routes, so that a one-route change does
// not visit every plugin.
func (b *builder) build(ctx context.Context, next, prevRT *gateway.Runtime, prev *Chains, changes []protocol.Change) (*Chains, error) {
	changed, changedPlugins, changedRoutes := typeSet{}, map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		changed.add(c.Type)
		switch c.Type {
		case entity.Plugins:
			changedPlugins[c.ID] = true
		case entity.Routes:
			changedRoutes[c.ID] = true
		}
	}
	var prevEnv *runtimeEnv
	if prev != nil {
		prevEnv = prev.env
	}
	set := next.Set()
	renv := newRuntimeEnv(set, next.Shared(), b.opts, prevEnv, changed)
	c := &Chains{env: renv, entries: map[string]*entry{}, routes: map[string]*Plan{}, services: map[string]*Plan{}}

	var errs []error
	add := func(p map[string]any) {
		e, err := b.instance(p, renv)
		if err != nil {
			errs = append(errs, err)
			return
		}
		c.entries[e.id] = e
	}
	warmed := map[string]bool{}
	keep := func(old *entry) bool {
		return old != nil && !old.env.unknown && !old.env.deps.intersects(changed)
	}
	if prev != nil && prevRT != nil && prev.byRoute != nil && !enabledFlipped(prevRT, next, changes) {
		// Served states changed at most for the changed plugins and the
		// plugins of changed routes (a route may have moved to or from a
		// disabled service): visit the previous instances and those.
		revisit := maps.Clone(changedPlugins)
		for r := range changedRoutes {
			for _, id := range prev.byRoute[r] {
				revisit[id] = true
			}
		}
		shared := len(revisit) == 0
		for _, old := range prev.entries {
			if !shared {
				break
			}
			shared = keep(old)
		}
		if shared {
			// Every instance is kept: so is the map (never modified
			// once built).
			c.entries = prev.entries
		} else {
			c.entries = make(map[string]*entry, len(prev.entries)+len(revisit))
		}
		for id, old := range prev.entries {
			switch {
			case shared:
				warmLives(old.env, renv, warmed)
				c.kept = append(c.kept, old.env)
			case revisit[id]:
			case keep(old):
				warmLives(old.env, renv, warmed)
				c.kept = append(c.kept, old.env)
				c.entries[id] = old
			default:
				if p, ok := set.Get(entity.Plugins, id); ok {
					add(p)
				}
			}
		}
		for id := range revisit {
			p, ok := set.Get(entity.Plugins, id)
			if !ok || !next.ServedEntity(entity.Plugins, p) {
				continue
			}
			if old := prev.entries[id]; !changedPlugins[id] && keep(old) {
				warmLives(old.env, renv, warmed)
				c.kept = append(c.kept, old.env)
				c.entries[id] = old
				continue
			}
			add(p)
		}
		c.byRoute = updateByRoute(prev.byRoute, changedPlugins, prevRT.Set(), set)
	} else {
		c.byRoute = map[string][]string{}
		if prev != nil {
			c.entries = make(map[string]*entry, len(prev.entries))
		}
		n := 0
		set.Each(entity.Plugins, func(p map[string]any) {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return
			}
			id, _ := p["id"].(string)
			if r := foreignID(p, "route"); r != "" {
				c.byRoute[r] = append(c.byRoute[r], id)
			}
			if !next.ServedEntity(entity.Plugins, p) {
				return
			}
			if prev != nil && !changedPlugins[id] {
				if old := prev.entries[id]; keep(old) {
					warmLives(old.env, renv, warmed)
					c.kept = append(c.kept, old.env)
					c.entries[id] = old
					return
				}
			}
			add(p)
		})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errors.Join(errs...)
	}
	c.compile(set, prev, changed, changedRoutes)
	return c, nil
}

// enabledFlipped reports whether a change turned a service's enabled
// flag, which decides whether its routes and plugins are served.
func enabledFlipped(prev, next *gateway.Runtime, changes []protocol.Change) bool {
	for _, ch := range changes {
		if ch.Type != entity.Services {
			continue
		}
		ref := map[string]any{"id": ch.ID}
		if prev.ServedEntity(entity.Services, ref) != next.ServedEntity(entity.Services, ref) {
			return true
		}
	}
	return false
}

// updateByRoute returns byRoute (plugin ids by the route they are scoped
// to, over every plugin) after the changed plugins, from their records in
// before and after. byRoute is shared with the previous chains: it is
// copied when anything changes.
func updateByRoute(byRoute map[string][]string, changedPlugins map[string]bool, before, after configuration) map[string][]string {
	if len(changedPlugins) == 0 {
		return byRoute
	}
	out := maps.Clone(byRoute)
	for id := range changedPlugins {
		if p, ok := before.Get(entity.Plugins, id); ok {
			if r := foreignID(p, "route"); r != "" {
				ids := slices.DeleteFunc(slices.Clone(out[r]), func(x string) bool { return x == id })
				if len(ids) == 0 {
					delete(out, r)
				} else {
					out[r] = ids
				}
			}
		}
		if p, ok := after.Get(entity.Plugins, id); ok {
			if r := foreignID(p, "route"); r != "" {
				out[r] = append(slices.Clip(out[r]), id)
			}
		}
	}
	return out
}

// instance makes the entry of plugin entity p.
func (b *builder) instance(p map[string]any, renv *runtimeEnv) (*entry, error) {
	id, _ := p["id"].(string)
	name, _ := p["name"].(string)
	f := b.factories[name]
	if f == nil {
		return nil, fmt.Errorf("plugin %s (%s): this data plane does not run the %s plugin", name, id, name)
	}
	cfg := pdk.Config{
		ID: id, Name: name, RouteID: foreignID(p, "route"), ServiceID: foreignID(p, "service"),
		ConsumerID: foreignID(p, "consumer"), ConsumerGroupID: foreignID(p, "consumer_group"),
	}
	cfg.InstanceName, _ = p["instance_name"].(string)
	cfg.Config, _ = p["config"].(map[string]any)
	ev := newEnv(renv)
	cfg.Env = ev
	inst, err := newInstance(f, cfg)
	ev.seal()
	if err != nil {
		return nil, fmt.Errorf("plugin %s (%s): %w", name, id, err)
	}
	e := newEntry(id, name, b.priority[name], b.spans[name], inst)
	e.route, e.service, e.consumer, e.groupID = cfg.RouteID, cfg.ServiceID, cfg.ConsumerID, cfg.ConsumerGroupID
	e.env = ev
	return e, nil
}

// newInstance calls f.New, turning a panic into an error: a broken
// configuration must not take the data plane down.
func newInstance(f pdk.Factory, cfg pdk.Config) (inst pdk.Instance, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f.New(cfg)
}

// configuration is what compile reads of the runtime's configuration.
type configuration interface {
	Get(typ, id string) (map[string]any, bool)
	Each(typ string, fn func(map[string]any))
}

// compile groups the entries by plugin name and scope and compiles the
// plans: the global one, one per service with service-scoped plugins, one
// per route with route-scoped plugins. With prev (the previous runtime's
// chains) and the changed types and routes, a plan whose buckets hold
// the same entries as before and whose route did not change is kept.
func (c *Chains) compile(set configuration, prev *Chains, changed typeSet, changedRoutes map[string]bool) {
	if prev != nil && !changed.has(entity.ConsumerGroups) && sameEntries(c.entries, prev.entries) {
		// The same instances in the same scopes: the buckets are the
		// same, and only the plans of changed routes can differ.
		c.buckets, c.names, c.global = prev.buckets, prev.names, prev.global
		c.routes, c.services = prev.routes, prev.services // never modified once built
		if len(changedRoutes) > 0 {
			c.routes = maps.Clone(prev.routes)
			for r := range changedRoutes {
				c.compileRoute(set, r)
			}
		}
		return
	}
	groupNames := map[string]string{}
	set.Each(entity.ConsumerGroups, func(g map[string]any) {
		id, _ := g["id"].(string)
		groupNames[id], _ = g["name"].(string)
	})
	var buckets map[bucketKey]*bucket
	if prev != nil && prev.buckets != nil && !changed.has(entity.ConsumerGroups) {
		buckets = updateBuckets(prev.buckets, prev.entries, c.entries, groupNames)
	} else {
		buckets = make(map[bucketKey]*bucket, len(c.entries))
		for _, e := range c.entries {
			addToBucket(buckets, e, groupNames)
		}
	}
	c.buckets = buckets
	priority := map[string]int{}
	for _, e := range c.entries {
		priority[e.name] = e.priority
	}
	c.names = order(priority)

	// What must be compiled again: everything, or the services and
	// routes whose buckets changed.
	full := prev == nil || changed.has(entity.ConsumerGroups) || !slices.Equal(c.names, prev.names)
	services, routes := map[string]bool{}, map[string]bool{}
	if !full {
		dirty := func(e *entry) {
			switch k := e.key(); {
			case k.route != "":
				routes[k.route] = true
			case k.service != "":
				services[k.service] = true
			default:
				full = true
			}
		}
		for id, e := range c.entries {
			if old := prev.entries[id]; old != e {
				dirty(e)
				if old != nil {
					dirty(old)
				}
			}
		}
		for id, old := range prev.entries {
			if c.entries[id] == nil {
				dirty(old)
			}
		}
		maps.Copy(routes, changedRoutes)
	}

	if full {
		c.global = compile(c.names, buckets, "", "")
	} else {
		c.global = prev.global
	}
	for k := range buckets {
		switch {
		case k.route != "":
			if _, done := c.routes[k.route]; done {
				continue
			}
			var service string
			if r, ok := set.Get(entity.Routes, k.route); ok {
				service = foreignID(r, "service")
			}
			if old, ok := prev.plan(true, k.route); ok && !full && !routes[k.route] && !services[service] {
				c.routes[k.route] = old
				continue
			}
			c.routes[k.route] = compile(c.names, buckets, k.route, service)
		case k.service != "":
			if _, done := c.services[k.service]; done {
				continue
			}
			if old, ok := prev.plan(false, k.service); ok && !full && !services[k.service] {
				c.services[k.service] = old
				continue
			}
			c.services[k.service] = compile(c.names, buckets, "", k.service)
		}
	}
}

// addToBucket puts e in the bucket of its name and scope.
func addToBucket(buckets map[bucketKey]*bucket, e *entry, groupNames map[string]string) {
	k := e.key()
	b := buckets[k]
	if b == nil {
		b = &bucket{}
		buckets[k] = b
	}
	b.body = b.body || e.body != nil
	switch {
	case e.consumer != "":
		if b.byConsumer == nil {
			b.byConsumer = map[string]*entry{}
		}
		put(b.byConsumer, e.consumer, e)
	case e.groupID != "":
		if b.byGroup == nil {
			b.byGroup = map[string]*entry{}
		}
		put(b.byGroup, groupNames[e.groupID], e)
	default:
		if b.plain == nil || e.id < b.plain.id {
			b.plain = e
		}
	}
}

// updateBuckets returns the buckets of next from those of prev (built from
// before): the buckets no changed instance is in are shared (they are
// never modified once built), the others are made again from next.
func updateBuckets(prev map[bucketKey]*bucket, before, next map[string]*entry, groupNames map[string]string) map[bucketKey]*bucket {
	affected := map[bucketKey]bool{}
	for id, e := range next {
		if old := before[id]; old != e {
			affected[e.key()] = true
			if old != nil {
				affected[old.key()] = true
			}
		}
	}
	for id, old := range before {
		if next[id] == nil {
			affected[old.key()] = true
		}
	}
	out := maps.Clone(prev)
	for k := range affected {
		delete(out, k)
	}
	for _, e := range next {
		if affected[e.key()] {
			addToBucket(out, e, groupNames)
		}
	}
	return out
}

// sameEntries reports whether a and b hold the same instances.
func sameEntries(a, b map[string]*entry) bool {
	if len(a) != len(b) {
		return false
	}
	for id, e := range a {
		if b[id] != e {
			return false
		}
	}
	return true
}

// compileRoute compiles again the plan of route r, whose record changed,
// from c's buckets: a route has a plan when route-scoped plugins name it,
// and the plan depends on the route's service.
func (c *Chains) compileRoute(set configuration, r string) {
	delete(c.routes, r)
	rec, ok := set.Get(entity.Routes, r)
	if !ok {
		return
	}
	for k := range c.buckets {
		if k.route == r {
			c.routes[r] = compile(c.names, c.buckets, r, foreignID(rec, "service"))
			return
		}
	}
}

// plan returns c's plan of a route or a service (a nil c has none).
func (c *Chains) plan(route bool, id string) (*Plan, bool) {
	if c == nil {
		return nil, false
	}
	plans := c.services
	if route {
		plans = c.routes
	}
	p, ok := plans[id]
	return p, ok
}

// put stores e under key, keeping the entity with the smaller id when two
// claim the same scope (the control plane's uniqueness rule prevents it).
func put(m map[string]*entry, key string, e *entry) {
	if old := m[key]; old == nil || e.id < old.id {
		m[key] = e
	}
}

// order returns the plugin names in Kong's execution order: priority
// descending, equal priorities by name descending.
func order(priority map[string]int) []string {
	names := make([]string, 0, len(priority))
	for name := range priority {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := cmp.Compare(priority[b], priority[a]); d != 0 {
			return d
		}
		return strings.Compare(b, a)
	})
	return names
}
