package router

import (
	"maps"
	"testing"

	"gatehouse.dev/shared/uri"
)

// TestUpstreamPath covers kong-admin-api.md section 3.5 (utils.lua
// get_upstream_uri_v0): every branch, for service paths with and without a
// trailing slash, prefix and regex routes, stripped or not.
func TestUpstreamPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		servicePath any // nil: the service has no path
		route       rt
		reqPath     string
		want        string
	}{
		// strip_path, S = "/" (ends with /)
		{"S=/ strip exact", "/", rt{"paths": []any{"/foo"}}, "/foo", "/"},
		{"S=/ strip trailing slash", "/", rt{"paths": []any{"/foo"}}, "/foo/", "/"},
		{"S=/ strip subpath", "/", rt{"paths": []any{"/foo"}}, "/foo/bar", "/bar"},
		{"S=/ strip glued", "/", rt{"paths": []any{"/foo"}}, "/foobar", "/bar"},
		{"S=null strip is S=/", nil, rt{"paths": []any{"/foo"}}, "/foo/bar", "/bar"},
		// strip_path, S ends with / (not "/")
		{"S=/api/ strip exact", "/api/", rt{"paths": []any{"/foo"}}, "/foo", "/api"},
		{"S=/api/ strip trailing slash", "/api/", rt{"paths": []any{"/foo"}}, "/foo/", "/api/"},
		{"S=/api/ strip subpath", "/api/", rt{"paths": []any{"/foo"}}, "/foo/bar", "/api/bar"},
		{"S=/api/ strip glued", "/api/", rt{"paths": []any{"/foo"}}, "/foobar", "/api/bar"},
		{"S=/api/ strip route with slash", "/api/", rt{"paths": []any{"/foo/"}}, "/foo/bar", "/api/bar"},
		// strip_path, S without trailing /
		{"S=/api strip exact", "/api", rt{"paths": []any{"/foo"}}, "/foo", "/api"},
		{"S=/api strip trailing slash", "/api", rt{"paths": []any{"/foo"}}, "/foo/", "/api/"},
		{"S=/api strip subpath", "/api", rt{"paths": []any{"/foo"}}, "/foo/bar", "/api/bar"},
		{"S=/api strip glued", "/api", rt{"paths": []any{"/foo"}}, "/foobar", "/api/bar"},
		{"S=/api strip route /", "/api", rt{"paths": []any{"/"}}, "/", "/api"},
		{"S=/api strip route with slash", "/api", rt{"paths": []any{"/foo/"}}, "/foo/bar", "/api/bar"},
		// postfix sanitizing: a leading ./ or ../ is dropped
		{"postfix ./", "/api", rt{"paths": []any{"/foo"}}, "/foo./bar", "/api/bar"},
		{"postfix ../", "/", rt{"paths": []any{"/foo"}}, "/foo../bar", "/bar"},
		{"postfix lone ..", "/api", rt{"paths": []any{"/foo"}}, "/foo..", "/api"},
		// no strip_path
		{"S=/ no strip", "/", rt{"paths": []any{"/foo"}, "strip_path": false}, "/foo/bar", "/foo/bar"},
		{"S=/api/ no strip", "/api/", rt{"paths": []any{"/foo"}, "strip_path": false}, "/foo/bar", "/api/foo/bar"},
		{"S=/api/ no strip root", "/api/", rt{"paths": []any{"/"}, "strip_path": false}, "/", "/api/"},
		{"S=/api no strip", "/api", rt{"paths": []any{"/foo"}, "strip_path": false}, "/foo/bar", "/api/foo/bar"},
		{"S=/api no strip root", "/api", rt{"paths": []any{"/"}, "strip_path": false}, "/", "/api"},
		// regex paths: the whole match is the prefix
		{"regex strip", "/api", rt{"paths": []any{`~/foo/\d+`}}, "/foo/123/bar", "/api/bar"},
		{"regex strip all", "/api", rt{"paths": []any{`~/foo/\d+`}}, "/foo/123", "/api"},
		{"regex strip S=/", "/", rt{"paths": []any{`~/foo/(?<n>\d+)`}}, "/foo/123/bar", "/bar"},
		{"regex no strip", "/api", rt{"paths": []any{`~/foo/\d+`}, "strip_path": false}, "/foo/123/bar", "/api/foo/123/bar"},
		// routes without paths: Kong strips "/"
		{"no paths strip S=/api", "/api", rt{"hosts": []any{"x"}}, "/a/b", "/api/a/b"},
		{"no paths strip S=/", "/", rt{"hosts": []any{"x"}}, "/a/b", "/a/b"},
		{"no paths strip root", "/api/", rt{"hosts": []any{"x"}}, "/", "/api/"},
		// the normalized path is what is forwarded
		{"normalized", "/api", rt{"paths": []any{"/foo"}}, "/foo/./x/../%62ar", "/api/bar"},
		// path_handling v1 is v0 under traditional_compatible
		{"v1 is v0", "/api", rt{"paths": []any{"/foo"}, "path_handling": "v1"}, "/foobar", "/api/bar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := write(t, "services", map[string]any{"id": id(100), "host": "up.test", "path": tt.servicePath})
			route := rt{"service": map[string]any{"id": id(100)}}
			maps.Copy(route, tt.route)
			r := build(t, []map[string]any{svc}, route)
			m, ok := r.Match(&Request{Method: "GET", Host: "x", Path: tt.reqPath})
			if !ok {
				t.Fatalf("no match for %s", tt.reqPath)
			}
			if got := m.UpstreamPath(); got != tt.want {
				t.Errorf("UpstreamPath() = %q, want %q", got, tt.want)
			}
			buf := []byte("GET ")
			if got := string(m.AppendUpstreamPath(buf)); got != "GET "+tt.want {
				t.Errorf("AppendUpstreamPath = %q, want %q", got, "GET "+tt.want)
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                 "/",
		"/":                "/",
		"/foo/bar":         "/foo/bar",
		"/file.json":       "/file.json",
		"/a/.well-known":   "/a/.well-known",
		"/a/..b/c":         "/a/..b/c",
		"/foo/../bar":      "/bar",
		"/foo/./bar":       "/foo/bar",
		"/foo/.":           "/foo/",
		"/foo/..":          "/",
		"/%2e%2E/x":        "/x",
		"/%41b":            "/Ab",
		"/a%2fb":           "/a%2Fb",
		"/a%2Fb":           "/a%2Fb",
		"/a%20b":           "/a b",
		"/%zz":             "/%zz",
		"//foo//bar/":      "/foo/bar/",
		"/foo?x=/../y":     "/foo",
		"/foo/..?x":        "/",
		"/a%3F?b":          "/a%3F",
		"?/x":              "?/x",
		"/a/b/c/./../../g": "/a/g",
	}
	for in, want := range tests {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzNormalizePath checks the fast path: NormalizePath gives what
// uri.Normalize gives, and returns its input unchanged only when
// normalizing would not change it.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e/x", "//a//b", "/a/./b/../../c", "/a%2fb", "/a.b/c.", "/%7e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := NormalizePath(p)
		in := p
		if in == "" {
			in = "/"
		}
		for i := 1; i < len(in); i++ {
			if in[i] == '?' {
				in = in[:i]
				break
			}
		}
		want := uri.Normalize(in, true)
		if want == "" {
			want = "/"
		}
		if got != want {
			t.Fatalf("NormalizePath(%q) = %q, uri.Normalize gives %q", p, got, want)
		}
	})
}
