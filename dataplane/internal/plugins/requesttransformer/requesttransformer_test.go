package requesttransformer_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/requesttransformer"
)

type rules = map[string]any

func newInstance(tb testing.TB, config map[string]any) pdk.Accesser {
	tb.Helper()
	in, err := requesttransformer.Factory{}.New(pdktest.NewConfig(tb, pdktest.NewEnv(), map[string]any{"name": "request-transformer", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(pdk.Accesser)
}

func access(t *testing.T, config map[string]any, ctx *pdktest.Context) *pdktest.Upstream {
	t.Helper()
	if err := newInstance(t, config).Access(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Exited() {
		t.Fatalf("request answered: %+v", ctx.ExitCall())
	}
	return ctx.UpstreamRequest()
}

func TestURIAndMethod(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("POST", "/users/alice/orders?x=1").WithCapture("user", "alice").WithCapture("1", "alice").
		WithHeader("X-Version", "v2")
	up := access(t, rules{
		"http_method": "PUT",
		"replace":     rules{"uri": "/$(headers['x-version'])/u/$(uri_captures.user)/$(uri_captures[1])/$(query_params.x)"},
	}, ctx)
	if up.Path() != "/v2/u/alice/alice/1" || up.Method() != "PUT" || up.RawQuery() != "x=1" {
		t.Errorf("upstream = %s %s ? %s", up.Method(), up.Path(), up.RawQuery())
	}
}

func TestURIMustBeAPath(t *testing.T) {
	t.Parallel()
	in := newInstance(t, rules{"replace": rules{"uri": "$(headers.missing)x"}})
	if err := in.Access(pdktest.NewContext("GET", "/")); err == nil {
		t.Error("a path without / was set")
	}
}

func TestUnsupportedTemplateAnswers500(t *testing.T) {
	t.Parallel()
	in := newInstance(t, rules{"add": rules{"headers": []any{"X-A:$(os.getenv('HOME'))"}}})
	err := in.Access(pdktest.NewContext("GET", "/"))
	if err == nil || !strings.Contains(err.Error(), "[request-transformer] failed to render the template $(os.getenv('HOME'))") {
		t.Errorf("err = %v", err)
	}
}

func TestMethodChangeMovesAFormIntoTheQuery(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("POST", "/?a=0&z=9").WithHeader("Content-Type", "application/x-www-form-urlencoded").
		WithBody([]byte("a=1&b=x+y&c"))
	up := access(t, rules{"http_method": "GET"}, ctx)
	if up.Method() != "GET" || up.RawQuery() != "a=0&a=1&b=x%20y&c&z=9" {
		t.Errorf("upstream = %s ? %s", up.Method(), up.RawQuery())
	}
	if string(up.Body()) != "a=1&b=x+y&c" {
		t.Errorf("body = %q (Kong keeps it)", up.Body())
	}
	// Other methods, or other bodies, leave the query alone.
	ctx = pdktest.NewContext("POST", "/?a=0").WithHeader("Content-Type", "application/x-www-form-urlencoded").WithBody([]byte("a=1"))
	if up := access(t, rules{"http_method": "PATCH"}, ctx); up.RawQuery() != "a=0" || up.Method() != "PATCH" {
		t.Errorf("PATCH: %s ? %s", up.Method(), up.RawQuery())
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	client := [][2]string{{"X-Remove", "r"}, {"X-Old", "o1"}, {"X-Old", "o2"}, {"X-Rep", "before"}, {"X-App", "a1"}, {"X-Src", "src"}}
	tests := []struct {
		name   string
		config map[string]any
		want   http.Header // changed headers; nil: absent
	}{
		{"remove", rules{"remove": rules{"headers": []any{"x-remove", "X-Absent"}}}, http.Header{"X-Remove": nil}},
		{"remove cannot remove Host", rules{"remove": rules{"headers": []any{"Host"}}}, http.Header{}},
		{"rename keeps every value", rules{"rename": rules{"headers": []any{"X-Old:X-New"}}}, http.Header{"X-Old": nil, "X-New": {"o1", "o2"}}},
		{"rename absent", rules{"rename": rules{"headers": []any{"X-Absent:X-New"}}}, http.Header{}},
		{"replace", rules{"replace": rules{"headers": []any{"X-Rep:after", "X-Absent:v"}}}, http.Header{"X-Rep": {"after"}}},
		{"replace sets Host even when absent", rules{"replace": rules{"headers": []any{"host:upstream.example"}}}, http.Header{"Host": {"upstream.example"}}},
		{"add", rules{"add": rules{"headers": []any{"X-Added:v", "X-Rep:ignored", "Host:ignored"}}}, http.Header{"X-Added": {"v"}}},
		{"append", rules{"append": rules{"headers": []any{"X-App:a2", "X-New:n", "Host:no"}}}, http.Header{"X-App": {"a1", "a2"}, "X-New": {"n"}}},
		{"template from another header", rules{"add": rules{"headers": []any{"X-Copy:$(headers['x-src'])-$(headers.x_src)"}}}, http.Header{"X-Copy": {"src-src"}}},
		{"template rendering empty drops the header", rules{"replace": rules{"headers": []any{"X-Rep:$(headers.missing)"}}}, http.Header{"X-Rep": nil}},
		{
			"remove then add",
			rules{"remove": rules{"headers": []any{"X-Rep"}}, "add": rules{"headers": []any{"X-Rep:added"}}},
			http.Header{"X-Rep": {"added"}},
		},
		{
			"rename then replace the new name",
			rules{"rename": rules{"headers": []any{"X-Old:X-New"}}, "replace": rules{"headers": []any{"X-New:r"}}},
			http.Header{"X-Old": nil, "X-New": {"r"}},
		},
		// Since Kong 3.8 (#13358) a rename to the same name keeps the header.
		{"rename to itself keeps it", rules{"rename": rules{"headers": []any{"X-Rep:x-rep", "X-App:X-App"}}}, http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			for _, h := range client {
				ctx.WithHeader(h[0], h[1])
			}
			up := access(t, tt.config, ctx)
			expected := http.Header{}
			for _, h := range client {
				expected.Add(h[0], h[1])
			}
			for k, v := range tt.want {
				if v == nil {
					delete(expected, k)
				} else {
					expected[k] = v
				}
			}
			if got := up.Headers(); !reflect.DeepEqual(got, expected) {
				t.Errorf("upstream headers = %v\nwant                %v", got, expected)
			}
			if ctx.Request().(*pdktest.Request).BodyRead() {
				t.Error("the body was read for header rules")
			}
		})
	}
}

func TestQueryString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		query  string
		config map[string]any
		want   string
	}{
		{"remove", "a=1&b=2&a=3", rules{"remove": rules{"querystring": []any{"a"}}}, "b=2"},
		{"rename", "old=1&old=2&x=0", rules{"rename": rules{"querystring": []any{"old:new"}}}, "new=1&new=2&x=0"},
		// Kong 3.8+ (#13358): an absent name renames nothing, and a rename
		// to the same name keeps the argument.
		{"rename absent keeps the new name", "new=1&x=0", rules{"rename": rules{"querystring": []any{"old:new"}}}, "new=1&x=0"},
		{"rename to itself keeps it", "a=1&x=0", rules{"rename": rules{"querystring": []any{"a:a"}}}, "a=1&x=0"},
		{"replace", "a=1&b=2", rules{"replace": rules{"querystring": []any{"a:9", "c:7"}}}, "a=9&b=2"},
		{"replace without value removes (Kong)", "a=1&b=2", rules{"replace": rules{"querystring": []any{"a:"}}}, "b=2"},
		{"add", "a=1", rules{"add": rules{"querystring": []any{"a:x", "b:hello world"}}}, "a=1&b=hello%20world"},
		{"append", "a=1&f", rules{"append": rules{"querystring": []any{"a:2", "b:3", "f:v"}}}, "a=1&a=2&b=3&f=v"},
		{"templates", "q=term", rules{"add": rules{"querystring": []any{"copy:$(query_params.q)", "hdr:$(headers['x-h'] or 'none')"}}}, "copy=term&hdr=none&q=term"},
		{"names sorted, bare kept", "z=1&a&m=", rules{"add": rules{"querystring": []any{"n:1"}}}, "a&m=&n=1&z=1"},
		{"no rules leave the query alone", "z=1&a=%41", rules{"add": rules{"headers": []any{"x:1"}}}, "z=1&a=%41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := access(t, tt.config, pdktest.NewContext("GET", "/p?"+tt.query))
			if up.RawQuery() != tt.want {
				t.Errorf("query = %q, want %q", up.RawQuery(), tt.want)
			}
		})
	}
}

func TestFormBody(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name, body string
		config     map[string]any
		want       string // "" with changed false: body untouched
		changed    bool
	}{
		{"remove", "a=1&b=2", rules{"remove": rules{"body": []any{"a"}}}, "b=2", true},
		{"rename", "a=1&b=2", rules{"rename": rules{"body": []any{"a:c"}}}, "b=2&c=1", true},
		// Kong 3.8+ (#13358): no rename happened, the body is not rewritten.
		{"rename absent leaves the body", "c=1&b=2", rules{"rename": rules{"body": []any{"a:c"}}}, "", false},
		{"rename to itself leaves the body", "a=1&b=2", rules{"rename": rules{"body": []any{"a:a"}}}, "", false},
		{"replace", "a=1&b=2", rules{"replace": rules{"body": []any{"a:x y", "z:1"}}}, "a=x%20y&b=2", true},
		{"add", "a=1", rules{"add": rules{"body": []any{"a:no", "n:new"}}}, "a=1&n=new", true},
		{"append", "a=1", rules{"append": rules{"body": []any{"a:2", "n:3"}}}, "a=1&a=2&n=3", true},
		{"add to an empty body", "", rules{"add": rules{"body": []any{"n:1"}}}, "n=1", true},
		{"remove on an empty body does nothing", "", rules{"remove": rules{"body": []any{"n"}}}, "", false},
		{"template", "a=1", rules{"add": rules{"body": []any{"who:$(headers['x-user'])"}}}, "a=1&who=bob", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("POST", "/").WithHeader("Content-Type", form+"; charset=utf-8").
				WithHeader("X-User", "bob").WithBody([]byte(tt.body))
			up := access(t, tt.config, ctx)
			if up.BodySet() != tt.changed || (tt.changed && string(up.Body()) != tt.want) {
				t.Errorf("body = %q (set %v), want %q (set %v)", up.Body(), up.BodySet(), tt.want, tt.changed)
			}
		})
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	body := `{"a":1,"s":"x","f":false,"n":null,"arr":[1],"big":12345678901234567890}`
	tests := []struct {
		name    string
		body    string
		config  map[string]any
		want    string
		changed bool
	}{
		{"remove", body, rules{"remove": rules{"body": []any{"a", "absent"}}}, `{"s":"x","f":false,"n":null,"arr":[1],"big":12345678901234567890}`, true},
		{"rename", body, rules{"rename": rules{"body": []any{"a:b"}}}, `{"b":1,"s":"x","f":false,"n":null,"arr":[1],"big":12345678901234567890}`, true},
		// Kong 3.8+ (#13358): only a member Lua holds true moves (not
		// false), never onto itself; the body is rewritten only then.
		{"rename to itself or absent leaves the body", body, rules{"rename": rules{"body": []any{"a:a", "zz:s"}}}, "", false},
		{"rename false leaves it", body, rules{"rename": rules{"body": []any{"f:g", "n:m"}}}, `{"a":1,"s":"x","f":false,"m":null,"arr":[1],"big":12345678901234567890}`, true},
		{"replace truthy only", body, rules{"replace": rules{"body": []any{"a:r", "f:r", "n:r", "zz:r"}}}, `{"a":"r","s":"x","f":false,"n":"r","arr":[1],"big":12345678901234567890}`, true},
		{"add", body, rules{"add": rules{"body": []any{"a:no", "f:yes", "new:v"}}}, `{"a":1,"s":"x","f":"yes","n":null,"arr":[1],"big":12345678901234567890,"new":"v"}`, true},
		{"append", body, rules{"append": rules{"body": []any{"s:y", "arr:2", "a:3", "new:4"}}}, `{"a":["3"],"s":["x","y"],"f":false,"n":null,"arr":[1,"2"],"big":12345678901234567890,"new":["4"]}`, true},
		{"empty body is an object", "", rules{"add": rules{"body": []any{"k:v"}}}, `{"k":"v"}`, true},
		{"invalid json untouched", `{"a":`, rules{"add": rules{"body": []any{"k:v"}}}, "", false},
		{"array untouched", `[1]`, rules{"add": rules{"body": []any{"k:v"}}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("POST", "/").WithHeader("Content-Type", "application/json").WithBody([]byte(tt.body))
			up := access(t, tt.config, ctx)
			if up.BodySet() != tt.changed || (tt.changed && string(up.Body()) != tt.want) {
				t.Errorf("body = %s (set %v), want %s (set %v)", up.Body(), up.BodySet(), tt.want, tt.changed)
			}
		})
	}
}

func TestMultipartBody(t *testing.T) {
	t.Parallel()
	const ct = "multipart/form-data; boundary=B0undary"
	part := func(name, value string) string {
		return "--B0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
	}
	end := "--B0undary--\r\n"
	body := part("a", "1") + part("b", "2") + "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n" + end
	filePart := "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n"
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"remove", rules{"remove": rules{"body": []any{"a"}}}, part("b", "2") + filePart + end},
		{"rename", rules{"rename": rules{"body": []any{"a:c"}}}, part("b", "2") + filePart + part("c", "1") + end},
		// Kong: "if para and old_name ~= new_name"; the add makes the
		// body rewritten.
		{"rename to itself keeps the part", rules{"rename": rules{"body": []any{"a:a"}}, "add": rules{"body": []any{"n:1"}}}, part("a", "1") + part("b", "2") + filePart + part("n", "1") + end},
		{"replace moves the part last", rules{"replace": rules{"body": []any{"a:x"}}}, part("b", "2") + filePart + part("a", "x") + end},
		{"add", rules{"add": rules{"body": []any{"a:no", "n:new"}}}, part("a", "1") + part("b", "2") + filePart + part("n", "new") + end},
		{"remove everything", rules{"remove": rules{"body": []any{"a", "b", "file"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("POST", "/").WithHeader("Content-Type", ct).WithBody([]byte(body))
			up := access(t, tt.config, ctx)
			if !up.BodySet() || string(up.Body()) != tt.want {
				t.Errorf("body =\n%q\nwant\n%q", up.Body(), tt.want)
			}
		})
	}
	// Append does not apply to multipart bodies, as in Kong.
	ctx := pdktest.NewContext("POST", "/").WithHeader("Content-Type", ct).WithBody([]byte(body))
	if up := access(t, rules{"append": rules{"body": []any{"a:2"}}}, ctx); up.BodySet() {
		t.Errorf("append changed a multipart body: %q", up.Body())
	}
}

func TestBodyLeftAloneWithoutRulesOrKnownType(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("POST", "/").WithHeader("Content-Type", "text/plain").WithBody([]byte("a=1"))
	if up := access(t, rules{"add": rules{"body": []any{"k:v"}}}, ctx); up.BodySet() {
		t.Error("a text body was transformed")
	}
	ctx = pdktest.NewContext("POST", "/").WithHeader("Content-Type", "application/json").WithBody([]byte("{}"))
	access(t, rules{"add": rules{"headers": []any{"k:v"}}}, ctx)
	if ctx.Request().(*pdktest.Request).BodyRead() {
		t.Error("the body was read without body rules")
	}
}

func TestSharedTemplate(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("GET", "/")
	ctx.Set("tenant", "acme")
	up := access(t, rules{"add": rules{"headers": []any{"X-Tenant:$(shared.tenant)"}}}, ctx)
	if up.Header("X-Tenant") != "acme" {
		t.Errorf("X-Tenant = %q", up.Header("X-Tenant"))
	}
}

func BenchmarkAccess(b *testing.B) {
	in := newInstance(b, rules{
		"remove": rules{"headers": []any{"X-Internal"}},
		"add":    rules{"headers": []any{"X-Gateway:gatehouse", "X-User:$(headers['x-consumer'] or 'anonymous')"}},
	})
	b.ReportAllocs()
	for b.Loop() {
		ctx := pdktest.NewContext("GET", "/").WithHeader("X-Internal", "1")
		if err := in.Access(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
