package responsetransformer_test

import (
	"net/http"
	"reflect"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/responsetransformer"
)

type plugin interface {
	pdk.HeaderFilterer
	pdk.BodyFilterer
}

func newInstance(tb testing.TB, config map[string]any) plugin {
	tb.Helper()
	in, err := responsetransformer.Factory{}.New(pdktest.NewConfig(tb, pdktest.NewEnv(), map[string]any{"name": "response-transformer", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(plugin)
}

type rules = map[string]any

func TestHeaders(t *testing.T) {
	t.Parallel()
	upstream := http.Header{
		"X-Remove": {"r"}, "X-Old": {"o1", "o2"}, "X-Rep": {"before"}, "X-Keep": {"k"}, "X-App": {"a1"},
	}
	tests := []struct {
		name   string
		config map[string]any
		want   http.Header // the headers of upstream that changed, and new ones; nil values: absent
	}{
		{"remove", rules{"remove": rules{"headers": []any{"X-Remove", "X-Absent"}}}, http.Header{"X-Remove": nil}},
		{"remove splits name:value", rules{"remove": rules{"headers": []any{"X-Remove:whatever"}}}, http.Header{"X-Remove": nil}},
		{"rename", rules{"rename": rules{"headers": []any{"X-Old:X-New"}}}, http.Header{"X-Old": nil, "X-New": {"o1", "o2"}}},
		{"rename absent", rules{"rename": rules{"headers": []any{"X-Absent:X-New"}}}, http.Header{"X-New": nil}},
		{"rename onto an existing header", rules{"rename": rules{"headers": []any{"X-Old:X-Keep"}}}, http.Header{"X-Old": nil, "X-Keep": {"o1", "o2"}}},
		{"rename to itself removes it (Kong)", rules{"rename": rules{"headers": []any{"X-Old:x-old"}}}, http.Header{"X-Old": nil}},
		{"replace", rules{"replace": rules{"headers": []any{"X-Rep:after", "X-Absent:no"}}}, http.Header{"X-Rep": {"after"}, "X-Absent": nil}},
		{"replace without value", rules{"replace": rules{"headers": []any{"X-Rep:"}}}, http.Header{"X-Rep": {"before"}}},
		{"add", rules{"add": rules{"headers": []any{"X-Added:v", "X-Keep:ignored"}}}, http.Header{"X-Added": {"v"}, "X-Keep": {"k"}}},
		{"add value with colons", rules{"add": rules{"headers": []any{"X-Url:http://x:1/y"}}}, http.Header{"X-Url": {"http://x:1/y"}}},
		{"append", rules{"append": rules{"headers": []any{"X-App:a2", "X-New:n"}}}, http.Header{"X-App": {"a1", "a2"}, "X-New": {"n"}}},
		{
			"remove then rename renames from the original headers",
			rules{
				"remove": rules{"headers": []any{"X-Old"}}, "rename": rules{"headers": []any{"X-Old:X-New"}},
			},
			http.Header{"X-Old": nil, "X-New": {"o1", "o2"}},
		},
		{
			"rename then add of the new name adds (headers read first)",
			rules{
				"rename": rules{"headers": []any{"X-Old:X-New"}}, "add": rules{"headers": []any{"X-New:added"}},
			},
			http.Header{"X-Old": nil, "X-New": {"added"}},
		},
		{
			"remove then replace sets it again",
			rules{
				"remove": rules{"headers": []any{"X-Rep"}}, "replace": rules{"headers": []any{"X-Rep:again"}},
			},
			http.Header{"X-Rep": {"again"}},
		},
		{
			"order: replace then add then append",
			rules{
				"replace": rules{"headers": []any{"X-Rep:r"}}, "add": rules{"headers": []any{"X-Rep:a"}}, "append": rules{"headers": []any{"X-Rep:p"}},
			},
			http.Header{"X-Rep": {"r", "p"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/").WithResponse(200, upstream, nil)
			in.HeaderFilter(ctx)
			got := ctx.ClientResponse().Headers()
			want := upstream.Clone()
			for k, v := range tt.want {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("headers = %v\nwant      %v", got, want)
			}
		})
	}
}

func TestContentLengthDroppedForJSONTransforms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		config      map[string]any
		contentType string
		dropped     bool
	}{
		{"json rule, json body", rules{"add": rules{"json": []any{"a:1"}}}, "application/json", true},
		{"json rule, other body", rules{"add": rules{"json": []any{"a:1"}}}, "text/plain", false},
		{"header rules only", rules{"add": rules{"headers": []any{"a:1"}}}, "application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/").WithResponse(200, http.Header{"Content-Type": {tt.contentType}, "Content-Length": {"2"}}, []byte("{}"))
			in.HeaderFilter(ctx)
			if dropped := ctx.ClientResponse().Header("Content-Length") == ""; dropped != tt.dropped {
				t.Errorf("Content-Length dropped = %v", dropped)
			}
			if wants := in.WantsBody(ctx); wants != tt.dropped {
				t.Errorf("WantsBody = %v", wants)
			}
		})
	}
}

func TestWantsBodyForJSONOnly(t *testing.T) {
	t.Parallel()
	in := newInstance(t, rules{"remove": rules{"json": []any{"x"}}})
	// Kong's is_json_body: application/json and application/*+json
	// (kong.tools.mime_type), compared case-sensitively, each media type
	// parsed whole.
	tests := map[string]bool{
		"application/json":                    true,
		"application/json; charset=utf-8":     true,
		"application/json ;charset=\"utf-8\"": true,
		"text/html, application/json":         true,
		"application/vnd.api+json":            true,
		"application/problem+json; q=1":       true,
		"application/+json":                   true,
		"APPLICATION/JSON":                    false,
		"application/jsonp":                   false,
		"application/json+xml":                false,
		"application/json;":                   false,
		"application/json; charset":           false,
		"application/json x":                  false,
		"text/plain; note=application/json":   false,
		"":                                    false,
	}
	for ct, want := range tests {
		ctx := pdktest.NewContext("GET", "/").WithResponse(200, http.Header{"Content-Type": {ct}}, nil)
		if got := in.WantsBody(ctx); got != want {
			t.Errorf("WantsBody(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	body := `{"keep": 12345678901234567890, "drop": 1, "old": {"x": [1, 2]}, "rep": "r", "f": false, "nul": null, "s": "one", "arr": [1], "num": 5}`
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{
			"remove",
			rules{"remove": rules{"json": []any{"drop", "absent"}}},
			`{"keep":12345678901234567890,"old":{"x": [1, 2]},"rep":"r","f":false,"nul":null,"s":"one","arr":[1],"num":5}`,
		},
		{
			"rename in place",
			rules{"rename": rules{"json": []any{"old:new", "absent:other"}}},
			`{"keep":12345678901234567890,"drop":1,"new":{"x": [1, 2]},"rep":"r","f":false,"nul":null,"s":"one","arr":[1],"num":5}`,
		},
		{
			"replace: truthy members only",
			rules{"replace": rules{"json": []any{"rep:R", "f:F", "nul:N", "absent:A"}}},
			`{"keep":12345678901234567890,"drop":1,"old":{"x": [1, 2]},"rep":"R","f":false,"nul":"N","s":"one","arr":[1],"num":5}`,
		},
		{
			"add: absent or false",
			rules{"add": rules{"json": []any{"new:v", "f:T", "nul:x", "rep:no"}}},
			`{"keep":12345678901234567890,"drop":1,"old":{"x": [1, 2]},"rep":"r","f":"T","nul":null,"s":"one","arr":[1],"num":5,"new":"v"}`,
		},
		{
			"append",
			rules{"append": rules{"json": []any{"s:two", "arr:2", "num:6", "new:n", "old:o"}}},
			`{"keep":12345678901234567890,"drop":1,"old":{"x":[1, 2],"1":"o"},"rep":"r","f":false,"nul":null,"s":["one","two"],"arr":[1,"2"],"num":["6"],"new":["n"]}`,
		},
		{
			"json types",
			rules{"add": rules{"json": []any{"n:12", "b:true", "c:yes", "s:12", "h:0x1A", "bad:abc"}, "json_types": []any{"number", "boolean", "boolean", "string", "number", "number"}}},
			`{"keep":12345678901234567890,"drop":1,"old":{"x": [1, 2]},"rep":"r","f":false,"nul":null,"s":"one","arr":[1],"num":5,"n":12,"b":true,"c":false,"h":26}`,
		},
		{
			"values as Kong's json_value makes them",
			rules{"add": rules{"json": []any{`q:say "hi"`, `p:a/b`, `bs:a\b`, "empty:"}}},
			`{"keep":12345678901234567890,"drop":1,"old":{"x": [1, 2]},"rep":"r","f":false,"nul":null,"s":"one","arr":[1],"num":5,"q":"say \"hi\"","p":"a/b","bs":"a\\\\b","empty":"null"}`,
		},
		{
			"rename to itself removes (Kong)",
			rules{"rename": rules{"json": []any{"drop:drop"}}},
			`{"keep":12345678901234567890,"old":{"x": [1, 2]},"rep":"r","f":false,"nul":null,"s":"one","arr":[1],"num":5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/").WithResponse(200, http.Header{"Content-Type": {"application/json"}}, []byte(body))
			if !in.WantsBody(ctx) {
				t.Fatal("body not wanted")
			}
			if got := string(in.BodyFilter(ctx, []byte(body))); got != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestBodiesLeftAlone(t *testing.T) {
	t.Parallel()
	in := newInstance(t, rules{"add": rules{"json": []any{"a:1"}}})
	for _, body := range []string{`[1,2]`, `"s"`, `12`, `{"a":`, `not json`, ``, `{"a":1} {"b":2}`} {
		ctx := pdktest.NewContext("GET", "/").WithResponse(200, http.Header{"Content-Type": {"application/json"}}, []byte(body))
		if got := string(in.BodyFilter(ctx, []byte(body))); got != body {
			t.Errorf("BodyFilter(%q) = %q", body, got)
		}
	}
}

func BenchmarkBodyFilter(b *testing.B) {
	in := newInstance(b, rules{"remove": rules{"json": []any{"secret"}}, "add": rules{"json": []any{"via:gatehouse"}}})
	body := []byte(`{"id":1,"name":"n","secret":"s","items":[1,2,3],"nested":{"a":{"b":"c"}}}`)
	ctx := pdktest.NewContext("GET", "/").WithResponse(200, http.Header{"Content-Type": {"application/json"}}, body)
	b.ReportAllocs()
	for b.Loop() {
		in.BodyFilter(ctx, body)
	}
}
