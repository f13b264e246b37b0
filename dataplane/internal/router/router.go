package router

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Router matches requests to routes. It is immutable once compiled and
// safe for concurrent use.
type Router struct {
	entries []entry // by priority, highest first; the index is the ordinal
	index   *index
	routes  int
	skipped []error
}

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
	svcs := make(map[string]*Service, len(services))
	for _, rec := range services {
		s, err := decodeService(rec)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		if _, dup := svcs[s.ID]; dup {
			return nil, fmt.Errorf("duplicate service id %s", s.ID)
		}
		svcs[s.ID] = s
	}
	r := &Router{}
	var entries []*entry
	seen := make(map[string]bool, len(routes))
	regexes := map[string]*regexp.Regexp{}
	for _, rec := range routes {
		id, _ := rec["id"].(string)
		if id == "" {
			return nil, errors.New("route without id")
		}
		if seen[id] {
			return nil, fmt.Errorf("duplicate route id %s", id)
		}
		seen[id] = true
		es, err := compileRoute(rec, svcs, regexes)
		if err != nil {
			r.skipped = append(r.skipped, fmt.Errorf("route %s: %w", id, err))
			continue
		}
		if len(es) > 0 {
			entries = append(entries, es...)
			r.routes++
		}
	}
	// Ids are unique (split ids are derived from unique route ids), so
	// the order is total and need not be stable.
	slices.SortFunc(entries, func(a, b *entry) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	b := newIndexBuilder()
	r.entries = make([]entry, len(entries))
	for i, e := range entries {
		r.entries[i] = *e
		b.add(e, int32(i))
	}
	r.index = b.freeze()
	return r, nil
}

// compileRoute returns the entries of a route record: none when Kong
// leaves the route out of its http router.
func compileRoute(rec map[string]any, svcs map[string]*Service, regexes map[string]*regexp.Regexp) ([]*entry, error) {
	rt, ok, err := decodeRoute(rec, svcs)
	if err != nil || !ok {
		return nil, err
	}
	fields, err := compileFields(rec)
	if err != nil {
		return nil, err
	}
	return compileEntries(rt, fields, regexes)
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
	var buf [maxLists][]int32
	lists := r.index.collect(host, path, buf[:0])
	last := int32(-1)
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0] < lists[best][0]) {
				best = i
			}
		}
		if best < 0 {
			return Match{}, false
		}
		ord := lists[best][0]
		lists[best] = lists[best][1:]
		if ord == last {
			continue
		}
		last = ord
		if m, ok := r.entries[ord].match(req, host, port, path); ok {
			return m, true
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
