package router

import (
	"cmp"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/uri"
)

// The fuzz target builds routes from a small vocabulary chosen by the
// input, so that routes overlap and compete, and checks Match against a
// naive scan written independently here: every route checked with plain
// string operations, in Kong's priority order.
var (
	fuzzHosts = []string{
		"a.com", "b.a.com", "*.a.com", "a.*", "a.com:8080", "*.b.a.com", "x.y.z", "A.COM", "b.*:8443", "*.com",
	}
	fuzzPaths = []string{
		"/", "/a", "/ab", "/a/b", "/a/", "/b", `~/a/(\d+)`, `~/(?<x>[ab])/`, `~/a|/b`, `~/a.*`,
		`~(?i)/A`, `~/[ab]c`, "~/\u00e9", `~/a/b$`, "/a/b/c", `~/`,
	}
	fuzzMethods = []string{"GET", "POST", "PUT"}
	fuzzHeaders = []map[string]any{
		{"X-A": []any{"1"}},
		{"X-A": []any{`~*^[12]$`}},
		{"x_b": []any{"v"}},
		{"X-A": []any{"2"}, "X-B": []any{"v", "w"}},
	}
	fuzzSNIs = [][]any{{"a.com"}, {"*.a.com"}, {"b.a.com.", "x.*"}}
)

// fuzzRoutes decodes 6 bytes per route.
func fuzzRoutes(spec []byte) []map[string]any {
	var routes []map[string]any
	for i := 0; i+6 <= len(spec) && len(routes) < 24; i += 6 {
		b := spec[i : i+6]
		rec := map[string]any{
			"id":            fmt.Sprintf("%02x000000-0000-4000-8000-%012d", b[5], len(routes)),
			"name":          fmt.Sprint("r", len(routes)),
			"protocols":     []any{"http", "https"},
			"strip_path":    b[4]&0x80 != 0,
			"preserve_host": false,
		}
		pick := func(list []string, x byte) string { return list[int(x)%len(list)] }
		if b[0]&1 != 0 {
			rec["methods"] = []any{pick(fuzzMethods, b[3])}
		}
		if b[0]&2 != 0 {
			hosts := []any{pick(fuzzHosts, b[1])}
			if b[1]&0x80 != 0 {
				hosts = append(hosts, pick(fuzzHosts, b[1]>>3))
			}
			rec["hosts"] = hosts
		}
		if b[0]&4 != 0 {
			rec["headers"] = fuzzHeaders[int(b[3]>>2)%len(fuzzHeaders)]
		}
		if b[0]&8 != 0 {
			rec["snis"] = fuzzSNIs[int(b[3]>>4)%len(fuzzSNIs)]
		}
		if b[0]&16 != 0 {
			paths := []any{pick(fuzzPaths, b[2])}
			if b[2]&0x80 != 0 {
				paths = append(paths, pick(fuzzPaths, b[2]>>4))
			}
			if b[0]&32 != 0 {
				paths = append(paths, pick(fuzzPaths, b[4]))
			}
			rec["paths"] = paths
		}
		if b[0]&64 != 0 {
			rec["regex_priority"] = int64(b[4]%4) - 1
		}
		routes = append(routes, rec)
	}
	return routes
}

func FuzzMatch(f *testing.F) {
	f.Add([]byte{0x12, 0, 1, 0, 0, 1, 0x16, 2, 6, 0, 0, 2, 0x7f, 0x81, 0x97, 5, 3, 3}, "GET", "b.a.com:8080", "/a/12/x", "1", "v", "a.com", false, uint8(0))
	f.Add([]byte{0x1f, 0x85, 0x86, 0x18, 0x80, 9, 0x3a, 4, 0x88, 0, 0x81, 9}, "POST", "A.com", "//a/./b/%2e%2e/c?q", "2", "w", "x.b.a.com", true, uint8(1))
	f.Add([]byte{0x50, 0, 7, 0, 2, 0, 0x50, 0, 9, 0, 3, 0, 0x10, 0, 0xe, 0, 0, 0}, "GET", "", "/a/b", "", "", "", false, uint8(2))
	f.Fuzz(func(t *testing.T, spec []byte, method, host, path, xa, xb, sni string, tls bool, portSel uint8) {
		routes := fuzzRoutes(spec)
		r, err := Compile(routes, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Skipped()) > 0 {
			t.Fatalf("skipped: %v", r.Skipped())
		}
		req := &Request{
			Method: method, Host: host, Port: []int{8000, 8080, 8443}[int(portSel)%3], Path: path,
			Headers: http.Header{"X-A": {xa}, "X-B": {xb, "other"}}, SNI: sni, TLS: tls,
		}
		m, ok := r.Match(req)
		want, wantOK := naiveMatch(t, routes, req)
		if ok != wantOK || ok && m.Route.ID != want {
			got := "none"
			if ok {
				got = m.Route.ID
			}
			t.Fatalf("Match = %s, naive scan = %s (ok %v)\nroutes %v\nrequest %+v", got, want, wantOK, routes, req)
		}
		if !ok {
			return
		}
		if !naiveRouteMatches(t, m.Route.Record, nil, req) {
			t.Fatalf("matched route %v does not match %+v", m.Route.Record, req)
		}
		if m.PathMatched && m.Captures.Len() == 0 && !strings.HasPrefix(m.Path, m.Prefix) {
			t.Fatalf("prefix %q is not a prefix of %q", m.Prefix, m.Path)
		}
		if up := m.UpstreamPath(); up == "" || up[0] != '/' {
			t.Fatalf("upstream path %q", up)
		}
		for i := range m.Captures.Len() {
			m.Captures.Group(i)
		}
	})
}

// naiveMatch scans every route (split by path group as Kong does) in
// priority order and returns the first that matches.
func naiveMatch(t *testing.T, routes []map[string]any, req *Request) (string, bool) {
	t.Helper()
	type cand struct {
		rec   map[string]any
		paths []string
		prio  uint64
		id    string
	}
	var cands []cand
	for _, rec := range routes {
		paths := stringsOf(rec["paths"])
		var groups [][]string
		keys := map[int]int{}
		for _, p := range paths {
			k := len(p)
			if strings.HasPrefix(p, "~") {
				k = -1
			}
			if _, ok := keys[k]; !ok {
				keys[k] = len(groups)
				groups = append(groups, nil)
			}
			groups[keys[k]] = append(groups[keys[k]], p)
		}
		id := rec["id"].(string)
		if len(groups) == 0 {
			cands = append(cands, cand{rec, nil, naivePriority(rec, nil), id})
		}
		for i, g := range groups {
			gid := id
			if len(groups) > 1 {
				gid = schema.UUIDv5("7f145bf9-0dce-4f91-98eb-debbce4b9f6b", fmt.Sprintf("%s#%d", id, i+1))
			}
			cands = append(cands, cand{rec, g, naivePriority(rec, g), gid})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.prio, a.prio); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	for _, c := range cands {
		if naiveRouteMatches(t, c.rec, c.paths, req) {
			return c.rec["id"].(string), true
		}
	}
	return "", false
}

func naivePriority(rec map[string]any, paths []string) uint64 {
	methods, hosts, snis := stringsOf(rec["methods"]), stringsOf(rec["hosts"]), stringsOf(rec["snis"])
	headers, _ := rec["headers"].(map[string]any)
	var w, p uint64
	for _, n := range []int{len(methods), len(hosts), len(headers), len(snis), len(paths)} {
		if n > 0 {
			w++
		}
	}
	p = w<<61 | uint64(len(headers))<<52
	if len(hosts) > 0 && !strings.Contains(strings.Join(hosts, ""), "*") {
		p |= 1 << 60
	}
	if len(paths) > 0 && strings.HasPrefix(paths[0], "~") {
		rp, _ := rec["regex_priority"].(int64) // -1 to 2 here
		p |= 1<<51 | uint64(rp+1<<31)<<19      //nolint:gosec // G115: rp+2^31 is positive
	} else if len(paths) > 0 {
		p |= uint64(len(paths[0]))
	}
	return p
}

// naiveRouteMatches checks a route's fields against a request; paths nil
// means all of the route's paths.
func naiveRouteMatches(t *testing.T, rec map[string]any, paths []string, req *Request) bool {
	t.Helper()
	if paths == nil {
		paths = stringsOf(rec["paths"])
	}
	if ms := stringsOf(rec["methods"]); len(ms) > 0 && !slices.Contains(ms, req.Method) {
		return false
	}
	host, port := req.Host, req.Port
	if h, p, ok := strings.Cut(req.Host, ":"); ok {
		if n, ok := digits(p); ok {
			host, port = h, n
		}
	}
	host = strings.ToLower(host)
	if hs := stringsOf(rec["hosts"]); len(hs) > 0 && !slices.ContainsFunc(hs, func(h string) bool {
		want, wantPort := h, 0
		if a, b, ok := strings.Cut(h, ":"); ok {
			want, wantPort = a, must(digits(b))
		}
		return (wantPort == 0 || wantPort == port) && wildcardMatch(strings.ToLower(want), host)
	}) {
		return false
	}
	if sn := stringsOf(rec["snis"]); len(sn) > 0 && req.TLS && !slices.ContainsFunc(sn, func(s string) bool {
		if len(s) > 1 && !strings.HasSuffix(s, "*") {
			s = strings.TrimSuffix(s, ".")
		}
		return wildcardMatch(s, strings.ToLower(req.SNI))
	}) {
		return false
	}
	p := req.Path
	if i := strings.Index(p, "?"); i > 0 {
		p = p[:i]
	}
	if p == "" {
		p = "/"
	}
	if p = uri.Normalize(p, true); p == "" {
		p = "/"
	}
	if len(paths) > 0 && !slices.ContainsFunc(paths, func(rp string) bool {
		if strings.HasPrefix(rp, "~") {
			return naiveRegex(t, "^"+strings.ReplaceAll(rp[1:], "?<", "?P<")).MatchString(p)
		}
		return strings.HasPrefix(p, rp)
	}) {
		return false
	}
	headers, _ := rec["headers"].(map[string]any)
	for name, vals := range headers {
		canon := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(strings.ToLower(name), "_", "-"))
		var got []string
		if req.Headers != nil {
			got = req.Headers.Values(canon)
		}
		if !slices.ContainsFunc(got, func(v string) bool {
			return slices.ContainsFunc(stringsOf(vals), func(want string) bool {
				if strings.HasPrefix(want, "~*") {
					return naiveRegex(t, "(?i)"+strings.ToLower(want[2:])).MatchString(v)
				}
				return strings.EqualFold(v, want)
			})
		}) {
			return false
		}
	}
	return true
}

func wildcardMatch(pattern, host string) bool {
	switch {
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(host, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(host, pattern[:len(pattern)-1])
	}
	return host == pattern
}

func digits(s string) (int, bool) {
	n := 0
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func must(n int, _ bool) int { return n }

var naiveRegexes = map[string]*regexp.Regexp{}

func naiveRegex(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	if re, ok := naiveRegexes[pattern]; ok {
		return re
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	naiveRegexes[pattern] = re
	return re
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.(string))
	}
	return out
}
