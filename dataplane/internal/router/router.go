package router

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
)

// Router matches requests to routes. It is immutable once compiled and
// safe for concurrent use.
//
// A router is a base layer, compiled from every route, and a top layer
// holding the routes changed since (see Patch): the base entries of a
// changed route are hidden, and a request matches the first entry of
// either layer in the one priority order.
type Router struct {
	base, top layer
	hidden    []uint64 // base ordinals hidden by a change, as a bit set; nil when none
	routes    int
	skipped   []error

	// What Patch and Update reuse: the base's services and routes as
	// decoded and compiled from their records, the base's route ids by
	// service id, and the services and routes changed since the base
	// (a nil value: gone, or a disabled service).
	services   map[string]*Service
	compiled   map[string]*compiledRoute
	byService  map[string][]string
	svcChanged map[string]*Service
	changed    map[string]*compiledRoute
}

// layer is entries in priority order and their index.
type layer struct {
	entries []entry // by priority, highest first; the index is the ordinal
	index   *index
}

// compiledRoute is a route as compiled from rec, linked to svc (found
// reports whether its service was among the enabled services).
type compiledRoute struct {
	rec     map[string]any
	svcID   string
	svc     *Service
	found   bool
	entries []*entry // none when Kong leaves the route out
	err     error    // why the route was skipped
	ords    []int32  // the ordinals of entries in the base layer
}

// included reports whether c is a route the router serves.
func (c *compiledRoute) included() bool { return c != nil && c.err == nil && len(c.entries) > 0 }

// Compile builds a router from routes and services records (map[string]any
// as entity.Type(...).Write or the configuration set hold them).
//
// Routes are left out as Kong leaves them out of its http router: routes
// whose protocols are all stream protocols, and routes whose service is
// not among services or has enabled = false (so the caller may pass every
// service or only the enabled ones). A route without service is kept: it
// matches, and the proxy answers 503. A route whose fields do not compile
// (a regex Go's regexp rejects, a malformed field) is left out and
// reported by Skipped, as Kong logs and drops it. The error is for input
// Kong refuses to build a router from: a record without id, or two routes
// (or two services) with the same id.
func Compile(routes, services []map[string]any) (*Router, error) {
	return Update(nil, routes, services)
}

// Update is Compile reusing prev's work (prev may be nil): a service
// whose record is the same map as prev was given is not decoded again,
// and a route whose record is the same map, linked to the same service,
// is not compiled again. Records are never modified, so the same map
// means the same content; a configuration change replaces the records it
// changes. Sorting and indexing are redone whole.
func Update(prev *Router, routes, services []map[string]any) (*Router, error) {
	svcs := make(map[string]*Service, len(services))
	for _, rec := range services {
		id, _ := rec["id"].(string)
		if _, dup := svcs[id]; dup {
			return nil, fmt.Errorf("duplicate service id %s", id)
		}
		s, ok := prev.service(id)
		if !ok || s == nil || !sameRecord(s.Record, rec) {
			var err error
			if s, err = decodeService(rec); err != nil {
				return nil, err
			}
		}
		if s != nil {
			svcs[id] = s
		}
	}
	lookup := func(id string) (*Service, bool) { s, ok := svcs[id]; return s, ok }
	r := &Router{
		services: svcs, compiled: make(map[string]*compiledRoute, len(routes)),
		byService: map[string][]string{},
	}
	var entries []*entry
	regexes := map[string]*regexp.Regexp{}
	for _, rec := range routes {
		id, _ := rec["id"].(string)
		if id == "" {
			return nil, errors.New("route without id")
		}
		if _, dup := r.compiled[id]; dup {
			return nil, fmt.Errorf("duplicate route id %s", id)
		}
		svcID := serviceRef(rec)
		svc, found := lookup(svcID)
		if svcID == "" {
			found = true
		}
		c, ok := prev.route(id)
		if !ok || c == nil || !sameRecord(c.rec, rec) || c.svc != svc || c.found != found {
			c = compileRoute(rec, svcID, svc, found, lookup, regexes)
		} else {
			c = &compiledRoute{rec: c.rec, svcID: c.svcID, svc: c.svc, found: c.found, entries: c.entries, err: c.err}
		}
		r.compiled[id] = c
		if svcID != "" {
			r.byService[svcID] = append(r.byService[svcID], id)
		}
		if c.err != nil {
			r.skipped = append(r.skipped, routeError(id, c.err))
			continue
		}
		if len(c.entries) > 0 {
			entries = append(entries, c.entries...)
			r.routes++
		}
	}
	r.base = newLayer(entries)
	for i := range r.base.entries {
		e := &r.base.entries[i]
		c := r.compiled[e.route.ID]
		c.ords = append(c.ords, int32(i))
	}
	return r, nil
}

// newLayer sorts entries by priority and indexes them.
func newLayer(entries []*entry) layer {
	// Ids are unique (split ids are derived from unique route ids), so
	// the order is total and need not be stable.
	slices.SortFunc(entries, func(a, b *entry) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	b := newIndexBuilder()
	l := layer{entries: make([]entry, len(entries))}
	for i, e := range entries {
		l.entries[i] = *e
		b.add(e, int32(i))
	}
	l.index = b.freeze()
	return l
}

// service returns the enabled service id as r has it: nil, true for one
// that is gone or disabled since the base; false when r never had it. A
// nil r has none.
func (r *Router) service(id string) (*Service, bool) {
	if r == nil {
		return nil, false
	}
	if s, ok := r.svcChanged[id]; ok {
		return s, true
	}
	s, ok := r.services[id]
	return s, ok
}

// route returns route id as r compiled it (nil, true: removed since the
// base); false when r never had it. A nil r has none.
func (r *Router) route(id string) (*compiledRoute, bool) {
	if r == nil {
		return nil, false
	}
	if c, ok := r.changed[id]; ok {
		return c, true
	}
	c, ok := r.compiled[id]
	return c, ok
}

// routeError names the route a compile error is about.
func routeError(id string, err error) error { return fmt.Errorf("route %s: %w", id, err) }

// serviceRef is the service id a route record names ("" for none).
func serviceRef(rec map[string]any) string {
	ref, _ := rec["service"].(map[string]any)
	id, _ := ref["id"].(string)
	return id
}

// sameRecord reports whether a and b are the same map.
func sameRecord(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// compileRoute compiles a route record linked to svc (found: its service
// is enabled, or it names none): no entries when Kong leaves the route
// out of its http router.
func compileRoute(rec map[string]any, svcID string, svc *Service, found bool, services serviceLookup, regexes map[string]*regexp.Regexp) *compiledRoute {
	c := &compiledRoute{rec: rec, svcID: svcID, svc: svc, found: found}
	rt, ok, err := decodeRoute(rec, services)
	if err != nil || !ok {
		c.err = err
		return c
	}
	fields, err := compileFields(rec)
	if err != nil {
		c.err = err
		return c
	}
	c.entries, c.err = compileEntries(rt, fields, regexes)
	return c
}

// Len returns the number of routes in the router.
func (r *Router) Len() int {
	if r == nil {
		return 0
	}
	return r.routes
}

// Skipped returns one error per route left out because its fields did not
// compile, naming the route.
func (r *Router) Skipped() []error { return r.skipped }

// Headers reads request headers. Values returns every value of the header
// named name, given in canonical MIME form ("X-Api-Version"), one element
// per header line. http.Header implements it.
type Headers interface {
	Values(name string) []string
}

// Request is what the router reads of a request.
type Request struct {
	// Method is the request method.
	Method string
	// Host is the Host header (or HTTP/2 :authority) as sent, with its
	// port if any.
	Host string
	// Port is the port the request came in on; route hosts with a port
	// compare it when Host carries none.
	Port int
	// Path is the raw request path. The router normalizes it (Kong's
	// normalization: unreserved percent-escapes decoded, dot segments
	// removed, slashes merged) and ignores anything from a '?'.
	Path string
	// Headers reads the request headers; nil means none.
	Headers Headers
	// SNI is the TLS server name, TLS whether the request came over TLS.
	// Route snis are only checked over TLS.
	SNI string
	TLS bool
}

// maxLists bounds the candidate lists gathered on the stack; more (a
// deep path through many route prefixes) spill to the heap.
const maxLists = 16

// Match returns the highest priority route matching req, and false when
// none does (the proxy answers 404 "no Route matched with those values").
// A nil Router matches nothing.
func (r *Router) Match(req *Request) (Match, bool) {
	if r == nil {
		return Match{}, false
	}
	path := NormalizePath(req.Path)
	host, port := splitHostPort(req.Host)
	if port == 0 {
		port = req.Port
	}
	m, e, ok := r.base.match(req, host, port, path, r.hidden)
	if r.top.index == nil {
		return m, ok
	}
	// The first match in the one priority order is the better of each
	// layer's first.
	if tm, te, tok := r.top.match(req, host, port, path, nil); tok && (!ok || before(te, e)) {
		return tm, true
	}
	return m, ok
}

// before reports whether a comes before b in the priority order.
func before(a, b *entry) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	return a.id > b.id
}

// match returns the first entry of l matching the request, skipping the
// ordinals set in hidden.
func (l *layer) match(req *Request, host string, port int, path string, hidden []uint64) (Match, *entry, bool) {
	if l.index == nil {
		return Match{}, nil, false
	}
	var buf [maxLists][]int32
	lists := l.index.collect(host, path, buf[:0])
	last := int32(-1)
	for {
		best := -1
		for i, list := range lists {
			if len(list) > 0 && (best < 0 || list[0] < lists[best][0]) {
				best = i
			}
		}
		if best < 0 {
			return Match{}, nil, false
		}
		ord := lists[best][0]
		lists[best] = lists[best][1:]
		if ord == last {
			continue
		}
		last = ord
		if hidden != nil && hidden[ord>>6]&(1<<(ord&63)) != 0 {
			continue
		}
		e := &l.entries[ord]
		if m, ok := e.match(req, host, port, path); ok {
			return m, e, true
		}
	}
}

// match checks every field of e against the request and builds the
// Match. host is the request host without port, port the Host header's
// port or the listening port, path the normalized path.
func (e *entry) match(req *Request, host string, port int, path string) (Match, bool) {
	if len(e.methods) > 0 && !slices.Contains(e.methods, req.Method) {
		return Match{}, false
	}
	if len(e.hosts) > 0 && !anyHost(e.hosts, host, port) {
		return Match{}, false
	}
	if len(e.snis) > 0 && req.TLS && !anyHost(e.snis, req.SNI, 0) {
		return Match{}, false
	}
	m := Match{Route: e.route, Service: e.route.Service, Path: path, Host: req.Host}
	if len(e.prefixes) > 0 {
		i := 0
		for i < len(e.prefixes) && !hasPrefix(path, e.prefixes[i]) {
			i++
		}
		if i == len(e.prefixes) {
			return Match{}, false
		}
		m.Prefix, m.PathMatched = e.prefixes[i], true
	}
	for i := range e.headers {
		if !e.headers[i].match(req.Headers) {
			return Match{}, false
		}
	}
	if len(e.regexes) > 0 {
		// Regexes last: they cost the most. The first that matches wins,
		// as in Kong's OR of the group's paths. When the match span is
		// needed (to strip it, or for captures) one search gives both the
		// answer and the span; it allocates only on a match.
		span := e.route.StripPath
		for _, re := range e.regexes {
			if !span && re.NumSubexp() == 0 {
				if re.MatchString(path) {
					m.PathMatched = true
					return m, true
				}
				continue
			}
			if idx := re.FindStringSubmatchIndex(path); idx != nil {
				m.PathMatched = true
				m.Prefix = path[idx[0]:idx[1]]
				m.Captures = Captures{subject: path, idx: idx, names: re.SubexpNames()}
				return m, true
			}
		}
		return Match{}, false
	}
	return m, true
}

func anyHost(ms []hostMatcher, host string, port int) bool {
	for i := range ms {
		if ms[i].match(host, port) {
			return true
		}
	}
	return false
}

func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && s[:len(prefix)] == prefix
}
