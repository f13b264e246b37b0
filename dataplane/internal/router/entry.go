package router

import (
	"fmt"
	"net/textproto"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"gatehouse.dev/shared/schema"
)

// splitNamespace is the UUIDv5 namespace of the ids Kong gives to the
// entries of a route split by path group (transform.lua uuid_generator).
const splitNamespace = "7f145bf9-0dce-4f91-98eb-debbce4b9f6b"

// entry is one compiled matcher: a route, or one path group of a route
// whose paths Kong splits. Its fields are ANDed, the values of each field
// ORed; an empty field matches anything.
type entry struct {
	route    *Route
	id       string // lower case; the split id for a split route
	priority uint64
	methods  []string
	hosts    []hostMatcher
	snis     []hostMatcher
	headers  []headerMatcher
	// A path group holds either prefixes (all of one length) or regexes.
	prefixes []string
	regexes  []*regexp.Regexp
	// keys are the entry's path index keys: its prefixes, the literal
	// prefixes of its regexes, or "" when it has no paths.
	keys []string
}

type hostKind uint8

const (
	hostExact  hostKind = iota // http.host == value
	hostSuffix                 // `*.example.com`: http.host =^ ".example.com"
	hostPrefix                 // `example.*`: http.host ^= "example."
)

// hostMatcher is one value of hosts or snis. value is lower case; port 0
// means any port.
type hostMatcher struct {
	kind  hostKind
	value string
	port  int
}

func (m *hostMatcher) match(host string, port int) bool {
	if m.port != 0 && m.port != port {
		return false
	}
	switch m.kind {
	case hostSuffix:
		return len(host) >= len(m.value) && equalFoldLower(host[len(host)-len(m.value):], m.value)
	case hostPrefix:
		return len(host) >= len(m.value) && equalFoldLower(host[:len(m.value)], m.value)
	case hostExact:
		return equalFoldLower(host, m.value)
	}
	return false
}

// headerMatcher is one entry of headers: the request must carry a value
// of the header equal (case-insensitively) to one of values or matching
// one of regexes.
type headerMatcher struct {
	name    string // canonical MIME form
	values  []string
	regexes []*regexp.Regexp
}

func (m *headerMatcher) match(h Headers) bool {
	if h == nil {
		return false
	}
	for _, v := range h.Values(m.name) {
		for _, want := range m.values {
			if strings.EqualFold(v, want) {
				return true
			}
		}
		for _, re := range m.regexes {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// routeFields are a route's matching fields, compiled once and shared by
// the entries of a split route.
type routeFields struct {
	methods    []string
	hosts      []hostMatcher
	plainHosts bool // hosts is set (even empty) and has no '*': Kong's PLAIN_HOST_ONLY
	snis       []hostMatcher
	headers    []headerMatcher
	regexPrio  int
	paths      []string
}

func compileFields(rec map[string]any) (*routeFields, error) {
	f := &routeFields{}
	var err error
	if f.methods, err = stringList(rec, "methods"); err != nil {
		return nil, err
	}
	hosts, err := stringList(rec, "hosts")
	if err != nil {
		return nil, err
	}
	f.plainHosts = hosts != nil
	for _, h := range hosts {
		if strings.Contains(h, "*") {
			f.plainHosts = false
		}
		f.hosts = append(f.hosts, hostValue(h))
	}
	snis, err := stringList(rec, "snis")
	if err != nil {
		return nil, err
	}
	for _, s := range snis {
		f.snis = append(f.snis, sniValue(s))
	}
	headers, err := headerMap(rec)
	if err != nil {
		return nil, err
	}
	for name, values := range headers {
		m, err := compileHeader(name, values)
		if err != nil {
			return nil, err
		}
		f.headers = append(f.headers, m)
	}
	// Map order is random; a fixed order keeps matching deterministic.
	sortHeaders(f.headers)
	if f.paths, err = stringList(rec, "paths"); err != nil {
		return nil, err
	}
	f.regexPrio, _ = toInt(rec["regex_priority"])
	return f, nil
}

// hostValue compiles a hosts element as transform.lua does: an optional
// numeric `:port`, then a leading `*` (suffix match on the rest) or a
// trailing `*` (prefix match on the rest).
func hostValue(h string) hostMatcher {
	host, port := splitHostPort(h)
	m := hostMatcher{value: lowerASCII(host), port: port}
	switch {
	case strings.HasPrefix(host, "*"):
		m.kind, m.value = hostSuffix, m.value[1:]
	case strings.HasSuffix(host, "*"):
		m.kind, m.value = hostPrefix, m.value[:len(m.value)-1]
	}
	return m
}

// sniValue compiles a snis element as transform.lua does: the trailing dot
// of a fully qualified name is ignored, and wildcards work as for hosts.
func sniValue(s string) hostMatcher {
	s = lowerASCII(s)
	switch {
	case strings.HasPrefix(s, "*"):
		s = strings.TrimSuffix(s, ".")
		return hostMatcher{kind: hostSuffix, value: s[1:]}
	case strings.HasSuffix(s, "*"):
		return hostMatcher{kind: hostPrefix, value: s[:len(s)-1]}
	}
	if len(s) > 1 {
		s = strings.TrimSuffix(s, ".")
	}
	return hostMatcher{value: s}
}

// compileHeader compiles one headers entry. Kong reads request headers by
// name lower-cased with '_' and '-' alike, compares values lower-cased,
// and treats a value starting with `~*` as a regex on the lower-cased
// request value (unanchored).
func compileHeader(name string, values []string) (headerMatcher, error) {
	if len(values) == 0 {
		return headerMatcher{}, fmt.Errorf("headers.%s: no values", name)
	}
	m := headerMatcher{name: textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(lowerASCII(name), "_", "-"))}
	for _, v := range values {
		if strings.HasPrefix(v, "~*") {
			re, err := regexp.Compile("(?i)" + lowerASCII(v[2:]))
			if err != nil {
				return headerMatcher{}, fmt.Errorf("headers.%s: %w", name, err)
			}
			m.regexes = append(m.regexes, re)
			continue
		}
		m.values = append(m.values, lowerASCII(v))
	}
	return m, nil
}

func sortHeaders(h []headerMatcher) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].name < h[j-1].name; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

// pathGroups splits paths as transform.lua's group_by_regex_or_length:
// one group for all regexes and one per prefix length, in the order each
// group first appears.
func pathGroups(paths []string) [][]string {
	var groups [][]string
	index := map[int]int{}
	for _, p := range paths {
		k := len(p)
		if isRegex(p) {
			k = 0
		}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	return groups
}

func isRegex(p string) bool { return strings.HasPrefix(p, "~") }

// compileEntries returns the entries of a route: one, or one per path
// group when Kong splits the route.
func compileEntries(r *Route, f *routeFields, regexes map[string]*regexp.Regexp) ([]*entry, error) {
	groups := pathGroups(f.paths)
	if len(groups) == 0 {
		groups = [][]string{nil}
	}
	out := make([]*entry, 0, len(groups))
	for i, paths := range groups {
		e := &entry{
			route:   r,
			id:      strings.ToLower(r.ID),
			methods: f.methods,
			hosts:   f.hosts,
			snis:    f.snis,
			headers: f.headers,
		}
		if len(groups) > 1 {
			e.id = schema.UUIDv5(splitNamespace, r.ID+"#"+strconv.Itoa(i+1))
		}
		for _, p := range paths {
			if !isRegex(p) {
				e.prefixes = append(e.prefixes, p)
				e.keys = append(e.keys, p)
				continue
			}
			re, err := compileRegex(p, regexes)
			if err != nil {
				return nil, err
			}
			e.regexes = append(e.regexes, re)
			e.keys = append(e.keys, literalPrefix(re))
		}
		if len(paths) == 0 {
			e.keys = []string{""}
		}
		e.priority = priority(f, paths)
		out = append(out, e)
	}
	return out, nil
}

// compileRegex compiles a `~` path as transform.lua rewrites it: anchored
// with a leading `^` (and nothing else: `~/a|/b` leaves `/b` unanchored,
// as in Kong) and with `?<` turned into `?P<`. Each distinct pattern is
// compiled once per Compile.
func compileRegex(p string, cache map[string]*regexp.Regexp) (*regexp.Regexp, error) {
	if re, ok := cache[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile("^" + strings.ReplaceAll(p[1:], "?<", "?P<"))
	if err != nil {
		return nil, fmt.Errorf("paths: %q: %w", p, err)
	}
	cache[p] = re
	return re, nil
}

// literalPrefix returns the text every match of re starts with at offset
// 0: the literal right after the leading `^` when the whole regex is that
// concatenation, else "". It stops before any rune that is not plain
// UTF-8, since the regex engine reads invalid bytes as U+FFFD.
func literalPrefix(re *regexp.Regexp) string {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	tree = tree.Simplify()
	if tree.Op != syntax.OpConcat || len(tree.Sub) < 2 || tree.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	var b strings.Builder
	for _, s := range tree.Sub[1:] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		for _, r := range s.Rune {
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return b.String()
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Priority bits (transform.lua get_priority).
const (
	maxHeaderCount   = 255
	plainHostOnlyBit = uint64(1) << 60
	regexURLBit      = uint64(1) << 51
	maxPrefixLength  = 0x7FFFF
)

// priority is Kong's 64-bit priority of an entry with the route's fields
// and the paths of one group (see the package doc).
func priority(f *routeFields, paths []string) uint64 {
	var weight uint64
	for _, set := range []bool{len(f.methods) > 0, len(f.hosts) > 0, len(f.headers) > 0, len(f.snis) > 0, len(paths) > 0} {
		if set {
			weight++
		}
	}
	p := weight << 61
	if f.plainHosts {
		p |= plainHostOnlyBit
	}
	p |= uint64(min(len(f.headers), maxHeaderCount)) << 52
	if len(paths) > 0 {
		if isRegex(paths[0]) {
			p |= regexURLBit | regexPriorityBits(f.regexPrio)<<19
		} else {
			p |= uint64(len(paths[0]) & maxPrefixLength)
		}
	}
	return p
}

// regexPriorityBits stores regex_priority in 32 bits of offset binary so
// that negative values order below zero (see the package doc).
func regexPriorityBits(rp int) uint64 {
	rp = max(min(rp, 1<<31-1), -1<<31)
	return uint64(int64(rp) + 1<<31)
}
