package cors_test

import (
	"net/http"
	"slices"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/cors"
)

type plugin interface {
	pdk.Accesser
	pdk.HeaderFilterer
}

func newInstance(tb testing.TB, config map[string]any) plugin {
	tb.Helper()
	in, err := cors.Factory{}.New(pdktest.NewConfig(tb, pdktest.NewEnv(), map[string]any{"name": "cors", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(plugin)
}

// run sends a request through both phases with an upstream response
// (unless the plugin answered) and returns the client's headers.
func run(t *testing.T, in plugin, ctx *pdktest.Context, upstream http.Header) (http.Header, *pdktest.Exit) {
	t.Helper()
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	exit := ctx.ExitCall()
	if exit == nil {
		ctx.WithResponse(200, upstream, nil)
	}
	in.HeaderFilter(ctx)
	return ctx.ClientResponse().Headers(), exit
}

// corsHeaders keeps the headers the plugin manages.
func corsHeaders(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		switch k {
		case "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
			"Access-Control-Allow-Methods", "Access-Control-Max-Age", "Access-Control-Allow-Private-Network",
			"Access-Control-Expose-Headers", "Vary":
			out[k] = v
		}
	}
	return out
}

func equalHeaders(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

type h = map[string][]string

func TestActualRequests(t *testing.T) {
	t.Parallel()
	list := []any{"http://a.example", "https://b.example:8443", `http://.*\.regex\.example`, `(.*\.)?byhost\.example`}
	tests := []struct {
		name     string
		config   map[string]any
		origin   string
		upstream http.Header
		want     h
	}{
		{"no origins: any", nil, "http://x.example", nil, h{"Access-Control-Allow-Origin": {"*"}}},
		{"no origins, no Origin header", nil, "", nil, h{"Access-Control-Allow-Origin": {"*"}}},
		{"star only", map[string]any{"origins": []any{"*"}}, "http://x.example", nil, h{"Access-Control-Allow-Origin": {"*"}}},
		{"origin absent refused", map[string]any{"allow_origin_absent": false}, "", nil, h{}},
		{
			"single plain origin is sent whatever the request",
			map[string]any{"origins": []any{"http://a.example"}},
			"http://other.example", nil,
			h{"Access-Control-Allow-Origin": {"http://a.example"}, "Vary": {"Origin"}},
		},
		{
			"single plain origin without Origin",
			map[string]any{"origins": []any{"http://a.example"}},
			"", nil,
			h{"Access-Control-Allow-Origin": {"http://a.example"}, "Vary": {"Origin"}},
		},
		{"list: plain match", map[string]any{"origins": list}, "http://a.example", nil, h{"Access-Control-Allow-Origin": {"http://a.example"}, "Vary": {"Origin"}}},
		{
			"list: default port normalised away",
			map[string]any{"origins": list},
			"http://a.example:80", nil,
			h{"Access-Control-Allow-Origin": {"http://a.example"}, "Vary": {"Origin"}},
		},
		{
			"list: explicit port kept",
			map[string]any{"origins": list},
			"https://b.example:8443", nil,
			h{"Access-Control-Allow-Origin": {"https://b.example:8443"}, "Vary": {"Origin"}},
		},
		{"list: wrong port", map[string]any{"origins": list}, "https://b.example", nil, h{"Vary": {"Origin"}}},
		{"list: wrong scheme", map[string]any{"origins": list}, "https://a.example", nil, h{"Vary": {"Origin"}}},
		{
			"list: regex on the whole origin",
			map[string]any{"origins": list},
			"http://api.regex.example", nil,
			h{"Access-Control-Allow-Origin": {"http://api.regex.example"}, "Vary": {"Origin"}},
		},
		{"list: regex anchored at the end", map[string]any{"origins": list}, "http://api.regex.example.evil", nil, h{"Vary": {"Origin"}}},
		{"list: regex anchored at the start", map[string]any{"origins": list}, "xhttp://api.regex.example", nil, h{"Vary": {"Origin"}}},
		{
			"list: regex without ':' matches the host",
			map[string]any{"origins": list},
			"https://api.byhost.example:9443", nil,
			h{"Access-Control-Allow-Origin": {"https://api.byhost.example:9443"}, "Vary": {"Origin"}},
		},
		{"list: no Origin", map[string]any{"origins": list}, "", nil, h{"Vary": {"Origin"}}},
		{
			"star among others allows any",
			map[string]any{"origins": []any{"http://a.example", "*"}},
			"http://z.example", nil,
			h{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Origin"}},
		},
		{
			"user-anchored regex",
			map[string]any{"origins": []any{`^https://(www\.)?anchored\.example$`, "http://a.example"}},
			"https://www.anchored.example", nil,
			h{"Access-Control-Allow-Origin": {"https://www.anchored.example"}, "Vary": {"Origin"}},
		},
		{
			"Vary appended to the upstream's",
			map[string]any{"origins": list},
			"http://a.example",
			http.Header{"Vary": {"Accept-Encoding"}},
			h{"Access-Control-Allow-Origin": {"http://a.example"}, "Vary": {"Accept-Encoding", "Origin"}},
		},
		{
			"upstream's ACAO cleared when not allowed",
			map[string]any{"origins": list},
			"http://nope.example",
			http.Header{"Access-Control-Allow-Origin": {"*"}},
			h{"Vary": {"Origin"}},
		},
		{
			"credentials with any origin echo the origin",
			map[string]any{"credentials": true},
			"http://x.example", nil,
			h{"Access-Control-Allow-Origin": {"http://x.example"}, "Access-Control-Allow-Credentials": {"true"}, "Vary": {"Origin"}},
		},
		{
			"credentials with any origin and no Origin",
			map[string]any{"credentials": true},
			"", nil,
			h{"Access-Control-Allow-Origin": {"*"}},
		},
		{
			"credentials with a list",
			map[string]any{"credentials": true, "origins": list},
			"http://a.example", nil,
			h{"Access-Control-Allow-Origin": {"http://a.example"}, "Access-Control-Allow-Credentials": {"true"}, "Vary": {"Origin"}},
		},
		{
			"credentials sent even for a refused origin (Kong)",
			map[string]any{"credentials": true, "origins": list},
			"http://nope.example", nil,
			h{"Access-Control-Allow-Credentials": {"true"}, "Vary": {"Origin"}},
		},
		{
			"exposed headers",
			map[string]any{"exposed_headers": []any{"X-One", "X-Two"}},
			"http://x.example", nil,
			h{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Expose-Headers": {"X-One,X-Two"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/")
			if tt.origin != "" {
				ctx.WithHeader("Origin", tt.origin)
			}
			got, exit := run(t, in, ctx, tt.upstream)
			if exit != nil {
				t.Fatalf("answered a simple request: %+v", exit)
			}
			if c := corsHeaders(got); !equalHeaders(c, tt.want) {
				t.Errorf("headers = %v\nwant      %v", c, tt.want)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	allMethods := "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
	tests := []struct {
		name    string
		config  map[string]any
		headers map[string]string
		want    h
	}{
		{
			"defaults", nil,
			map[string]string{"Access-Control-Request-Headers": "X-Custom, Content-Type"},
			h{
				"Access-Control-Allow-Origin":  {"*"},
				"Access-Control-Allow-Headers": {"X-Custom, Content-Type"},
				"Access-Control-Allow-Methods": {allMethods},
			},
		},
		{"no request headers", nil, nil, h{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {allMethods}}},
		{
			"configured",
			map[string]any{
				"origins": []any{"http://o.example", "http://p.example"}, "headers": []any{"X-A", "X-B"}, "methods": []any{"GET", "POST"},
				"max_age": 3600, "credentials": true, "exposed_headers": []any{"X-Exposed"},
			},
			map[string]string{"Access-Control-Request-Headers": "X-Ignored"},
			h{
				"Access-Control-Allow-Origin":      {"http://o.example"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Headers":     {"X-A,X-B"},
				"Access-Control-Allow-Methods":     {"GET,POST"},
				"Access-Control-Max-Age":           {"3600"},
				"Vary":                             {"Origin"},
			},
		},
		{
			"credentials with any origin",
			map[string]any{"credentials": true},
			nil,
			h{
				"Access-Control-Allow-Origin":      {"http://o.example"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods":     {allMethods},
				"Vary":                             {"Origin"},
			},
		},
		{
			"private network asked and allowed",
			map[string]any{"private_network": true},
			map[string]string{"Access-Control-Request-Private-Network": "true"},
			h{
				"Access-Control-Allow-Origin":          {"*"},
				"Access-Control-Allow-Methods":         {allMethods},
				"Access-Control-Allow-Private-Network": {"true"},
			},
		},
		{
			"private network asked, not allowed", nil,
			map[string]string{"Access-Control-Request-Private-Network": "true"},
			h{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {allMethods}},
		},
		{
			"fractional max age",
			map[string]any{"max_age": 1.5},
			nil,
			h{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {allMethods}, "Access-Control-Max-Age": {"1.5"}},
		},
		{
			"refused origin",
			map[string]any{"origins": []any{"http://a.example", "http://b.example"}},
			nil,
			h{"Access-Control-Allow-Methods": {allMethods}, "Vary": {"Origin"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("OPTIONS", "/").WithHeader("Origin", "http://o.example").
				WithHeader("Access-Control-Request-Method", "POST")
			for k, v := range tt.headers {
				ctx.WithHeader(k, v)
			}
			got, exit := run(t, in, ctx, nil)
			if exit == nil || exit.Status != 200 || len(exit.Body) != 0 || exit.IsError {
				t.Fatalf("exit = %+v, want 200 without a body", exit)
			}
			if c := corsHeaders(got); !equalHeaders(c, tt.want) {
				t.Errorf("headers = %v\nwant      %v", c, tt.want)
			}
		})
	}
}

func TestPreflightContinue(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"preflight_continue": true, "origins": []any{"http://a.example"}})
	ctx := pdktest.NewContext("OPTIONS", "/").WithHeader("Origin", "http://a.example").
		WithHeader("Access-Control-Request-Method", "GET")
	got, exit := run(t, in, ctx, http.Header{"Access-Control-Allow-Origin": {"http://from-upstream.example"}})
	if exit != nil {
		t.Fatalf("answered a preflight with preflight_continue: %+v", exit)
	}
	// The service's answer is left as it is.
	want := h{"Access-Control-Allow-Origin": {"http://from-upstream.example"}}
	if c := corsHeaders(got); !equalHeaders(c, want) {
		t.Errorf("headers = %v, want %v", c, want)
	}
}

func TestOptionsWithoutRequestMethodIsNotAPreflight(t *testing.T) {
	t.Parallel()
	in := newInstance(t, nil)
	ctx := pdktest.NewContext("OPTIONS", "/").WithHeader("Origin", "http://a.example")
	got, exit := run(t, in, ctx, nil)
	if exit != nil {
		t.Fatalf("answered: %+v", exit)
	}
	if got.Get("Access-Control-Allow-Origin") != "*" || got.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("headers = %v", got)
	}
}

func TestRegexOriginsAreCompiled(t *testing.T) {
	t.Parallel()
	_, err := cors.Factory{}.New(pdk.Config{Config: map[string]any{"origins": []any{"a", "(unclosed"}}})
	if err == nil {
		t.Error("an invalid regex was accepted")
	}
}

func BenchmarkHeaderFilter(b *testing.B) {
	cases := map[string]map[string]any{
		"any origin": nil,
		"list":       {"origins": []any{"http://a.example", "https://b.example:8443", `http://.*\.regex\.example`}},
	}
	for name, config := range cases {
		b.Run(name, func(b *testing.B) {
			in := newInstance(b, config)
			ctx := pdktest.NewContext("GET", "/").WithHeader("Origin", "http://api.regex.example").WithResponse(200, nil, nil)
			b.ReportAllocs()
			resp := ctx.ClientResponse()
			for b.Loop() {
				in.HeaderFilter(ctx)
				resp.DelHeader("Vary")
			}
		})
	}
}

func BenchmarkPreflight(b *testing.B) {
	in := newInstance(b, map[string]any{"origins": []any{"http://a.example", "http://b.example"}, "max_age": 600})
	b.ReportAllocs()
	for b.Loop() {
		ctx := pdktest.NewContext("OPTIONS", "/").WithHeader("Origin", "http://b.example").
			WithHeader("Access-Control-Request-Method", "PUT")
		if err := in.Access(ctx); err != nil || !ctx.Exited() {
			b.Fatal("not answered")
		}
	}
}
