package router

import (
	"maps"
	"regexp"
	"slices"
)

// Source is where Patch reads the current records: a configuration set.
type Source interface {
	Get(typ, id string) (map[string]any, bool)
	Each(typ string, fn func(map[string]any))
}

// The entity types Patch reads.
const (
	routesType   = "routes"
	servicesType = "services"
)

// compactAt is how many routes and services may have changed since the
// base before a patch rebuilds the whole router instead: a base of n
// routes takes max(minCompact, n/16) changes. A patch costs about the changed
// routes; the rebuild it ends with costs about n, once per that many
// changed routes.
func compactAt(n int) int { return max(minCompact, n/16) }

const minCompact = 64

// Patch returns the router after the routes and services with the given
// ids changed (upserted or deleted) in src, which holds the whole
// configuration prev was built from with those changes applied. Only the
// changed routes, and the routes of changed services, are compiled; they
// go into the top layer and hide their base entries. When the routes
// changed since the base exceed compactAt, Patch builds the whole router
// again from src instead (as Update, reusing what it can). Skipped then
// reports the routes left out among those this call compiled. prev must
// not be nil.
func Patch(prev *Router, src Source, routeIDs, serviceIDs []string) (*Router, error) {
	r := &Router{
		base: prev.base, services: prev.services, compiled: prev.compiled, byService: prev.byService,
		svcChanged: maps.Clone(prev.svcChanged), changed: maps.Clone(prev.changed),
		hidden: slices.Clone(prev.hidden), routes: prev.routes,
	}
	if r.svcChanged == nil {
		r.svcChanged = map[string]*Service{}
	}
	if r.changed == nil {
		r.changed = map[string]*compiledRoute{}
	}
	work := map[string]bool{}
	for _, id := range routeIDs {
		work[id] = true
	}
	for _, id := range serviceIDs {
		var svc *Service
		if rec, ok := src.Get(servicesType, id); ok {
			s, err := decodeService(rec)
			if err != nil {
				return nil, err
			}
			svc = s
		}
		r.svcChanged[id] = svc
		// Its routes link to the new service (or to none).
		for _, rid := range prev.byService[id] {
			work[rid] = true
		}
		for rid, c := range prev.changed {
			if c != nil && c.svcID == id {
				work[rid] = true
			}
		}
	}
	if len(work) == 0 && len(serviceIDs) == 0 {
		return prev, nil
	}
	regexes := map[string]*regexp.Regexp{}
	r.skipped = nil
	for id := range work {
		old, _ := prev.route(id)
		var c *compiledRoute
		if rec, ok := src.Get(routesType, id); ok {
			svcID := serviceRef(rec)
			svc, found := r.service(svcID)
			if svcID == "" {
				found = true
			} else if found && svc == nil {
				found = false // gone or disabled since the base
			}
			c = compileRoute(rec, svcID, svc, found, r.enabledService, regexes)
			if c.err != nil {
				r.skipped = append(r.skipped, routeError(id, c.err))
			}
		}
		r.changed[id] = c
		if old.included() {
			r.routes--
		}
		if c.included() {
			r.routes++
		}
		if base, ok := prev.compiled[id]; ok {
			for _, o := range base.ords {
				if r.hidden == nil {
					r.hidden = make([]uint64, (len(r.base.entries)+63)/64)
				}
				r.hidden[o>>6] |= 1 << (o & 63)
			}
		}
	}
	if len(r.changed)+len(r.svcChanged) > compactAt(len(r.compiled)) {
		return r.rebuild(src)
	}
	var top []*entry
	for _, c := range r.changed {
		if c.included() {
			top = append(top, c.entries...)
		}
	}
	if len(top) > 0 {
		r.top = newLayer(top)
	}
	return r, nil
}

// enabledService is the serviceLookup of r: the enabled services.
func (r *Router) enabledService(id string) (*Service, bool) {
	s, ok := r.service(id)
	return s, ok && s != nil
}

// Rebuild compiles the whole router from src as Update does, reusing
// prev's work (prev may be nil).
func Rebuild(prev *Router, src Source) (*Router, error) {
	var routes, services []map[string]any
	src.Each(routesType, func(e map[string]any) { routes = append(routes, e) })
	src.Each(servicesType, func(e map[string]any) { services = append(services, e) })
	return Update(prev, routes, services)
}

// rebuild compiles the whole router from src, reusing r's work; Skipped
// stays what this patch compiled.
func (r *Router) rebuild(src Source) (*Router, error) {
	next, err := Rebuild(r, src)
	if err != nil {
		return nil, err
	}
	next.skipped = r.skipped
	return next, nil
}
