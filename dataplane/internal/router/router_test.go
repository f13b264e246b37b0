package router

import (
	"maps"
	"net/http"
	"sync"
	"testing"
)

func TestMatchFields(t *testing.T) {
	t.Parallel()
	get := func(host, path string) *Request {
		return &Request{Method: "GET", Host: host, Port: 8000, Path: path}
	}
	withHeaders := func(h http.Header) *Request {
		return &Request{Method: "GET", Host: "x", Port: 8000, Path: "/", Headers: h}
	}
	tls := func(sni string) *Request {
		return &Request{Method: "GET", Host: "x", Port: 8443, Path: "/", TLS: true, SNI: sni}
	}
	tests := []struct {
		name  string
		route rt
		req   *Request
		match bool
	}{
		// methods: exact, ORed
		{"method equal", rt{"methods": []any{"GET"}}, get("x", "/"), true},
		{"method other", rt{"methods": []any{"POST"}}, get("x", "/"), false},
		{"methods ORed", rt{"methods": []any{"POST", "GET"}}, get("x", "/"), true},
		{"method case-sensitive", rt{"methods": []any{"GET"}}, &Request{Method: "get", Path: "/"}, false},

		// hosts: exact
		{"host exact", rt{"hosts": []any{"example.com"}}, get("example.com", "/"), true},
		{"host exact any port", rt{"hosts": []any{"example.com"}}, get("example.com:8080", "/"), true},
		{"host exact case-insensitive", rt{"hosts": []any{"example.com"}}, get("Example.COM", "/"), true},
		{"host exact not subdomain", rt{"hosts": []any{"example.com"}}, get("www.example.com", "/"), false},
		{"host exact not other", rt{"hosts": []any{"example.com"}}, get("example.org", "/"), false},
		{"no host header", rt{"hosts": []any{"example.com"}}, get("", "/"), false},
		{"hosts ORed", rt{"hosts": []any{"a.com", "b.com"}}, get("b.com", "/"), true},
		// hosts: *.suffix
		{"suffix wildcard one label", rt{"hosts": []any{"*.example.com"}}, get("a.example.com", "/"), true},
		{"suffix wildcard two labels", rt{"hosts": []any{"*.example.com"}}, get("a.b.example.com", "/"), true},
		{"suffix wildcard with port", rt{"hosts": []any{"*.example.com"}}, get("a.example.com:9000", "/"), true},
		{"suffix wildcard not apex", rt{"hosts": []any{"*.example.com"}}, get("example.com", "/"), false},
		{"suffix wildcard not glued", rt{"hosts": []any{"*.example.com"}}, get("aexample.com", "/"), false},
		{"suffix wildcard case", rt{"hosts": []any{"*.example.com"}}, get("A.EXAMPLE.com", "/"), true},
		// hosts: prefix.*
		{"prefix wildcard", rt{"hosts": []any{"example.*"}}, get("example.org", "/"), true},
		{"prefix wildcard two labels", rt{"hosts": []any{"example.*"}}, get("example.co.uk", "/"), true},
		{"prefix wildcard not sub", rt{"hosts": []any{"example.*"}}, get("www.example.org", "/"), false},
		{"prefix wildcard not bare", rt{"hosts": []any{"example.*"}}, get("example", "/"), false},
		// hosts: with port
		{"host port from Host", rt{"hosts": []any{"example.com:8080"}}, get("example.com:8080", "/"), true},
		{"host port other", rt{"hosts": []any{"example.com:8080"}}, get("example.com:8081", "/"), false},
		{"host port from listener", rt{"hosts": []any{"example.com:8000"}}, get("example.com", "/"), true},
		{"host port listener other", rt{"hosts": []any{"example.com:8080"}}, get("example.com", "/"), false},
		{"wildcard host port", rt{"hosts": []any{"*.example.com:8443"}}, get("a.example.com:8443", "/"), true},
		{"wildcard host port other", rt{"hosts": []any{"*.example.com:8443"}}, get("a.example.com:443", "/"), false},

		// paths: prefix
		{"prefix equal", rt{"paths": []any{"/foo"}}, get("x", "/foo"), true},
		{"prefix below", rt{"paths": []any{"/foo"}}, get("x", "/foo/bar"), true},
		{"prefix is not segment-aware", rt{"paths": []any{"/foo"}}, get("x", "/foobar"), true},
		{"prefix shorter", rt{"paths": []any{"/foo"}}, get("x", "/fo"), false},
		{"prefix not inside", rt{"paths": []any{"/foo"}}, get("x", "/bar/foo"), false},
		{"prefix case-sensitive", rt{"paths": []any{"/foo"}}, get("x", "/FOO"), false},
		{"paths ORed", rt{"paths": []any{"/a", "/b"}}, get("x", "/b/c"), true},
		{"query ignored", rt{"paths": []any{"/foo$"}}, get("x", "/foo$?x=1"), true},
		// paths: normalization
		{"dot segments", rt{"paths": []any{"/bar"}}, get("x", "/foo/../bar"), true},
		{"dot segment escapes", rt{"paths": []any{"/bar"}}, get("x", "/foo/%2e%2E/bar"), true},
		{"unreserved escapes", rt{"paths": []any{"/foo"}}, get("x", "/%66%6F%6f"), true},
		{"merged slashes", rt{"paths": []any{"/foo/bar"}}, get("x", "//foo//bar"), true},
		{"reserved escape kept", rt{"paths": []any{"/a/b"}}, get("x", "/a%2Fb"), false},
		// paths: regex
		{"regex", rt{"paths": []any{`~/users/\d+$`}}, get("x", "/users/42"), true},
		{"regex end anchor", rt{"paths": []any{`~/users/\d+$`}}, get("x", "/users/42/x"), false},
		{"regex anchored at start", rt{"paths": []any{`~/users/\d+`}}, get("x", "/x/users/42"), false},
		{"regex unanchored at end", rt{"paths": []any{`~/users/\d+`}}, get("x", "/users/42/x"), true},
		{"regex on normalized path", rt{"paths": []any{`~/users/\d+$`}}, get("x", "/x/../users/%34%32"), true},
		{"regex no literal prefix", rt{"paths": []any{`~/(a|b)/c`}}, get("x", "/b/c"), true},
		{"regex and prefix ORed", rt{"paths": []any{`~/r/\d`, "/p"}}, get("x", "/p/1"), true},

		// headers
		{"header value", rt{"headers": map[string]any{"X-Version": []any{"v1"}}}, withHeaders(http.Header{"X-Version": {"v1"}}), true},
		{"header value case-insensitive", rt{"headers": map[string]any{"x-version": []any{"V1"}}}, withHeaders(http.Header{"X-Version": {"v1"}}), true},
		{"header values ORed", rt{"headers": map[string]any{"X-Version": []any{"v1", "v2"}}}, withHeaders(http.Header{"X-Version": {"v2"}}), true},
		{"header other value", rt{"headers": map[string]any{"X-Version": []any{"v1"}}}, withHeaders(http.Header{"X-Version": {"v3"}}), false},
		{"header absent", rt{"headers": map[string]any{"X-Version": []any{"v1"}}}, withHeaders(http.Header{}), false},
		{"header no headers", rt{"headers": map[string]any{"X-Version": []any{"v1"}}}, withHeaders(nil), false},
		{"header any line", rt{"headers": map[string]any{"X-Version": []any{"v1"}}}, withHeaders(http.Header{"X-Version": {"v0", "v1"}}), true},
		{"header underscore name", rt{"headers": map[string]any{"x_version": []any{"v1"}}}, withHeaders(http.Header{"X-Version": {"v1"}}), true},
		{"header regex", rt{"headers": map[string]any{"X-Version": []any{`~*^v\d+$`}}}, withHeaders(http.Header{"X-Version": {"V12"}}), true},
		{"header regex no match", rt{"headers": map[string]any{"X-Version": []any{`~*^v\d+$`}}}, withHeaders(http.Header{"X-Version": {"v1x"}}), false},
		{"header regex unanchored", rt{"headers": map[string]any{"X-Version": []any{`~*beta`}}}, withHeaders(http.Header{"X-Version": {"2-BETA-1"}}), true},
		{"header regex among values", rt{"headers": map[string]any{"X-Version": []any{"v1", `~*^b`}}}, withHeaders(http.Header{"X-Version": {"beta"}}), true},
		{"headers ANDed", rt{"headers": map[string]any{"X-A": []any{"1"}, "X-B": []any{"2"}}}, withHeaders(http.Header{"X-A": {"1"}, "X-B": {"2"}}), true},
		{"headers ANDed one missing", rt{"headers": map[string]any{"X-A": []any{"1"}, "X-B": []any{"2"}}}, withHeaders(http.Header{"X-A": {"1"}}), false},

		// snis: only over TLS
		{"sni", rt{"protocols": []any{"https"}, "snis": []any{"example.com"}}, tls("example.com"), true},
		{"sni other", rt{"protocols": []any{"https"}, "snis": []any{"example.com"}}, tls("example.org"), false},
		{"sni missing over TLS", rt{"protocols": []any{"https"}, "snis": []any{"example.com"}}, tls(""), false},
		{"sni ignored without TLS", rt{"protocols": []any{"https"}, "snis": []any{"example.com"}}, get("x", "/"), true},
		{"sni trailing dot", rt{"protocols": []any{"https"}, "snis": []any{"example.com."}}, tls("example.com"), true},
		{"sni suffix wildcard", rt{"protocols": []any{"https"}, "snis": []any{"*.example.com"}}, tls("a.b.example.com"), true},
		{"sni suffix wildcard apex", rt{"protocols": []any{"https"}, "snis": []any{"*.example.com"}}, tls("example.com"), false},
		{"sni prefix wildcard", rt{"protocols": []any{"https"}, "snis": []any{"example.*"}}, tls("example.net"), true},

		// fields ANDed
		{"all fields", rt{
			"methods": []any{"GET"}, "hosts": []any{"example.com"}, "paths": []any{"/foo"},
			"headers": map[string]any{"X-A": []any{"1"}},
		}, &Request{Method: "GET", Host: "example.com", Path: "/foo/x", Headers: http.Header{"X-A": {"1"}}}, true},
		{"all fields but method", rt{
			"methods": []any{"GET"}, "hosts": []any{"example.com"}, "paths": []any{"/foo"},
			"headers": map[string]any{"X-A": []any{"1"}},
		}, &Request{Method: "PUT", Host: "example.com", Path: "/foo/x", Headers: http.Header{"X-A": {"1"}}}, false},
		{"all fields but host", rt{
			"methods": []any{"GET"}, "hosts": []any{"example.com"}, "paths": []any{"/foo"},
		}, &Request{Method: "GET", Host: "example.org", Path: "/foo/x"}, false},
		{"all fields but path", rt{
			"methods": []any{"GET"}, "hosts": []any{"example.com"}, "paths": []any{"/foo"},
		}, &Request{Method: "GET", Host: "example.com", Path: "/bar"}, false},
		{"host and regex path", rt{"hosts": []any{"*.example.com"}, "paths": []any{`~/v\d/`}}, get("a.example.com", "/v2/x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			route := rt{"name": "r"}
			maps.Copy(route, tt.route)
			r := build(t, nil, route)
			if got := matchName(r, tt.req) == "r"; got != tt.match {
				t.Errorf("match = %v, want %v (request %+v)", got, tt.match, tt.req)
			}
		})
	}
}

func TestMatchReturnsRouteAndService(t *testing.T) {
	t.Parallel()
	svc := write(t, "services", map[string]any{"id": id(100), "name": "svc", "url": "https://upstream.test:8443/api"})
	off := write(t, "services", map[string]any{"id": id(101), "url": "http://off.test", "enabled": false})
	r := build(t, []map[string]any{svc, off},
		rt{"name": "secure", "paths": []any{"/secure"}, "protocols": []any{"https"}, "https_redirect_status_code": 301, "service": map[string]any{"id": id(100)}},
		rt{"name": "plain", "paths": []any{"/plain"}, "preserve_host": true, "service": map[string]any{"id": id(100)}},
		rt{"name": "serviceless", "paths": []any{"/none"}},
		rt{"name": "disabled", "paths": []any{"/off"}, "service": map[string]any{"id": id(101)}},
	)
	if got := r.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3 (the disabled service's route left out)", got)
	}

	m, ok := r.Match(&Request{Method: "GET", Host: "gw.test:8000", Path: "/secure"})
	if !ok {
		t.Fatal("https-only route not matched over plain HTTP: protocols are not part of the match")
	}
	if !m.Route.HTTPSOnly() || m.Route.HTTPSRedirectStatusCode != 301 {
		t.Errorf("route HTTPSOnly = %v, redirect = %d; want true, 301", m.Route.HTTPSOnly(), m.Route.HTTPSRedirectStatusCode)
	}
	if m.Service == nil || m.Service.Name != "svc" || m.Service.Host != "upstream.test" || m.Service.Port != 8443 || m.Service.Protocol != "https" || m.Service.Path != "/api" {
		t.Errorf("service = %+v", m.Service)
	}
	if _, ok := m.UpstreamHost(); ok {
		t.Error("UpstreamHost set without preserve_host")
	}

	m, _ = r.Match(&Request{Method: "GET", Host: "gw.test:8000", Path: "/plain"})
	if m.Route.HTTPSOnly() {
		t.Error("default protocols reported https-only")
	}
	if h, ok := m.UpstreamHost(); !ok || h != "gw.test:8000" {
		t.Errorf("UpstreamHost() = %q, %v; want the client's Host header", h, ok)
	}

	m, ok = r.Match(&Request{Method: "GET", Path: "/none"})
	if !ok || m.Service != nil || m.Route.Name != "serviceless" {
		t.Errorf("service-less route: ok = %v, route %v, service %v; want a match without service", ok, m.Route, m.Service)
	}
	if _, ok := r.Match(&Request{Method: "GET", Path: "/off"}); ok {
		t.Error("route of a disabled service matched")
	}
}

func TestCompileLeavesOut(t *testing.T) {
	t.Parallel()
	svc := write(t, "services", map[string]any{"id": id(100), "url": "http://a.test"})
	good := write(t, "routes", map[string]any{"id": id(1), "paths": []any{"/a"}})
	orphan := write(t, "routes", map[string]any{"id": id(2), "paths": []any{"/b"}, "service": map[string]any{"id": id(999)}})
	stream := map[string]any{"id": id(3), "protocols": []any{"tcp"}, "snis": []any{"a.test"}}
	badRegex := map[string]any{"id": id(4), "paths": []any{`~/(?=look)`}}
	badHeader := map[string]any{"id": id(5), "headers": map[string]any{"X": []any{`~*(`}}}
	badField := map[string]any{"id": id(6), "methods": "GET"}

	r, err := Compile([]map[string]any{good, orphan, stream, badRegex, badHeader, badField}, []map[string]any{svc})
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 {
		t.Errorf("Len() = %d, want 1", r.Len())
	}
	if s := r.Skipped(); len(s) != 3 {
		t.Errorf("Skipped() = %v, want the bad regex, the bad header and the bad methods", s)
	}
	if _, ok := r.Match(&Request{Path: "/b"}); ok {
		t.Error("route whose service is not given matched")
	}

	var none *Router
	if _, ok := none.Match(&Request{Path: "/a"}); ok || none.Len() != 0 {
		t.Error("nil Router matched or has routes")
	}
	empty, err := Compile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Match(&Request{Path: "/a"}); ok {
		t.Error("empty Router matched")
	}

	for name, routes := range map[string][]map[string]any{
		"duplicate id": {good, good},
		"no id":        {{"paths": []any{"/x"}}},
	} {
		if _, err := Compile(routes, nil); err == nil {
			t.Errorf("%s: Compile succeeded", name)
		}
	}
}

func TestCaptures(t *testing.T) {
	t.Parallel()
	r := build(t, nil,
		rt{"name": "groups", "paths": []any{`~/users/(?<id>\d+)(/(\w+))?`}},
		rt{"name": "plain", "paths": []any{`~/static/`}},
		rt{"name": "nostrip", "paths": []any{`~/keep/(\d+)`}, "strip_path": false},
	)

	m, _ := r.Match(&Request{Path: "/users/42/posts/x"})
	if m.Route.Name != "groups" || m.Captures.Len() != 4 {
		t.Fatalf("route %s, %d groups; want groups, 4", m.Route.Name, m.Captures.Len())
	}
	for i, want := range []string{"/users/42/posts", "42", "/posts", "posts"} {
		if got, ok := m.Captures.Group(i); !ok || got != want {
			t.Errorf("Group(%d) = %q, %v; want %q", i, got, ok, want)
		}
	}
	if got, ok := m.Captures.Named("id"); !ok || got != "42" {
		t.Errorf(`Named("id") = %q, %v`, got, ok)
	}
	if names := m.Captures.Names(); len(names) != 4 || names[1] != "id" {
		t.Errorf("Names() = %q", names)
	}
	if !m.Captures.Any() || m.Prefix != "/users/42/posts" {
		t.Errorf("Any() = %v, Prefix = %q", m.Captures.Any(), m.Prefix)
	}

	m, _ = r.Match(&Request{Path: "/users/7"})
	if _, ok := m.Captures.Group(2); ok {
		t.Error("optional group that did not take part reported present")
	}
	if _, ok := m.Captures.Named("nope"); ok {
		t.Error("unknown name reported present")
	}

	m, _ = r.Match(&Request{Path: "/static/app.js"})
	if m.Captures.Any() {
		t.Error("regex without groups reported captures (Kong sets none)")
	}
	if m.Prefix != "/static/" {
		t.Errorf("Prefix = %q, want the regex match /static/ (strip_path)", m.Prefix)
	}

	m, _ = r.Match(&Request{Path: "/keep/9/x"})
	if got, _ := m.Captures.Group(1); got != "9" || m.UpstreamPath() != "/keep/9/x" || m.StrippedPrefix() != "" {
		t.Errorf("no strip: group 1 %q, upstream %q, stripped prefix %q", got, m.UpstreamPath(), m.StrippedPrefix())
	}

	m, _ = r.Match(&Request{Path: "/users/3"})
	if m.StrippedPrefix() != "/users/3" {
		t.Errorf("StrippedPrefix() = %q, want /users/3", m.StrippedPrefix())
	}
}

// TestMatchConcurrent runs matches from several goroutines; with -race it
// checks that Match only reads the router.
func TestMatchConcurrent(t *testing.T) {
	t.Parallel()
	r, err := Compile(benchRoutes(200), benchServices())
	if err != nil {
		t.Fatal(err)
	}
	reqs := benchRequests(200)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				req := reqs[(i*7+g)%len(reqs)]
				if m, ok := r.Match(req); !ok || m.UpstreamPath() == "" {
					t.Errorf("no match for %+v", req)
					return
				}
			}
		})
	}
	wg.Wait()
}
