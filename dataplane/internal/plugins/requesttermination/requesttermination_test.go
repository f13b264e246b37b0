package requesttermination_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/requesttermination"
)

func newInstance(tb testing.TB, env *pdktest.Env, config map[string]any) pdk.Accesser {
	tb.Helper()
	if env == nil {
		env = pdktest.NewEnv()
	}
	in, err := requesttermination.Factory{}.New(pdktest.NewConfig(tb, env, map[string]any{"name": "request-termination", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(pdk.Accesser)
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		config      map[string]any
		status      int
		body        string
		contentType string
	}{
		{"defaults", nil, 503, `{"message":"Service unavailable"}`, "application/json; charset=utf-8"},
		{"Kong's default message for 404", map[string]any{"status_code": 404}, 404, `{"message":"Not found"}`, "application/json; charset=utf-8"},
		{"Kong's default message for 401", map[string]any{"status_code": 401}, 401, `{"message":"Unauthorized"}`, "application/json; charset=utf-8"},
		{"Kong's default message for 405", map[string]any{"status_code": 405}, 405, `{"message":"Method not allowed"}`, "application/json; charset=utf-8"},
		{"Kong's default message for 500", map[string]any{"status_code": 500}, 500, `{"message":"An unexpected error occurred"}`, "application/json; charset=utf-8"},
		{"Kong's default message for 502", map[string]any{"status_code": 502}, 502, `{"message":"Bad Gateway"}`, "application/json; charset=utf-8"},
		{"no default message", map[string]any{"status_code": 418}, 418, "", ""},
		{"message", map[string]any{"status_code": 403, "message": "Closed for maintenance"}, 403, `{"message":"Closed for maintenance"}`, "application/json; charset=utf-8"},
		{"body and content type", map[string]any{"status_code": 200, "body": "<h1>bye</h1>", "content_type": "text/html"}, 200, "<h1>bye</h1>", "text/html"},
		{"body alone", map[string]any{"status_code": 410, "body": "gone"}, 410, "gone", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, nil, tt.config)
			ctx := pdktest.NewContext("GET", "/x")
			if err := in.Access(ctx); err != nil {
				t.Fatal(err)
			}
			e := ctx.ExitCall()
			if e == nil || e.IsError || e.Status != tt.status || string(e.Body) != tt.body || e.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("exit = %+v (body %q), want %d %q %q", e, e.Body, tt.status, tt.body, tt.contentType)
			}
		})
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		trigger    string
		header     [2]string
		query      string
		terminated bool
	}{
		{"absent", "x-stop", [2]string{}, "", false},
		{"header", "x-stop", [2]string{"X-Stop", "1"}, "", true},
		{"header, empty value", "x-stop", [2]string{"X-Stop", ""}, "", true},
		{"query", "x-stop", [2]string{}, "x-stop=yes", true},
		{"bare query", "x-stop", [2]string{}, "x-stop", true},
		{"other query", "x-stop", [2]string{}, "stop=1", false},
		{"underscore reads dashes", "x_stop", [2]string{"X-Stop", "1"}, "", true},
		{"underscore header is not read", "x_stop", [2]string{"X_Stop", "1"}, "", false},
		{"underscore query", "x_stop", [2]string{}, "x_stop=1", true},
		{"dashed query is another argument", "x_stop", [2]string{}, "x-stop=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, nil, map[string]any{"trigger": tt.trigger, "status_code": 404})
			url := "/x"
			if tt.query != "" {
				url += "?" + tt.query
			}
			ctx := pdktest.NewContext("GET", url)
			if tt.header[0] != "" {
				ctx.WithHeader(tt.header[0], tt.header[1])
			}
			if err := in.Access(ctx); err != nil {
				t.Fatal(err)
			}
			if ctx.Exited() != tt.terminated {
				t.Errorf("terminated = %v, want %v", ctx.Exited(), tt.terminated)
			}
			if tt.terminated && ctx.ExitCall().Status != 404 {
				t.Errorf("status = %d", ctx.ExitCall().Status)
			}
		})
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	routeID, serviceID := "6f0a7e9e-4b0a-4d3e-9d4e-1b1f1c1d1e1f", "8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	route := map[string]any{"id": routeID, "name": "r1", "paths": []any{"/echo"}, "service": map[string]any{"id": serviceID}}
	service := map[string]any{"id": serviceID, "name": "s1", "host": "upstream.example", "port": json.Number("80"), "protocol": "http"}
	env := pdktest.NewEnv().Put("services", service).Put("routes", route)
	in := newInstance(t, env, map[string]any{"echo": true, "status_code": 404})
	ctx := pdktest.NewContext("POST", "https://gw.example:8443/echo/x?a=1&a=2&flag&e=").
		WithHeader("Content-Type", "application/json").WithHeader("X-Multi", "1").WithHeader("x-multi", "2").
		WithBody([]byte(`{"k":[1,2],"n":1.50}`)).WithRoute(routeID, "r1").WithService(serviceID, "s1").
		WithCapture("0", "/echo/x").WithCapture("1", "x").WithCapture("rest", "x")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	e := ctx.ExitCall()
	if e == nil || e.Status != 404 || e.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("exit = %+v", e)
	}
	var got map[string]any
	if err := json.Unmarshal(e.Body, &got); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := map[string]any{
		"message": "Not found",
		"kong":    map[string]any{"hostname": host, "worker_pid": float64(os.Getpid())},
		"request": map[string]any{
			"scheme": "https", "host": "gw.example", "port": float64(8443), "method": "POST", "path": "/echo/x",
			"headers":  map[string]any{"content-type": "application/json", "x-multi": []any{"1", "2"}},
			"query":    map[string]any{"a": []any{"1", "2"}, "flag": true, "e": ""},
			"body":     map[string]any{"k": []any{float64(1), float64(2)}, "n": 1.5},
			"raw_body": `{"k":[1,2],"n":1.50}`,
			"uri_captures": map[string]any{
				"unnamed": map[string]any{"0": "/echo/x", "1": "x"},
				"named":   map[string]any{"rest": "x"},
			},
		},
		"matched_route":   map[string]any{"id": routeID, "name": "r1", "paths": []any{"/echo"}, "service": map[string]any{"id": serviceID}},
		"matched_service": map[string]any{"id": serviceID, "name": "s1", "host": "upstream.example", "port": float64(80), "protocol": "http"},
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("echo =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestEchoBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		want                    any // nil: no "body" member
	}{
		{"form", "application/x-www-form-urlencoded", "a=1&b=x+y&a=2&c", map[string]any{"a": []any{"1", "2"}, "b": "x y", "c": true}},
		{"json array", "application/json; charset=utf-8", `[1,"a"]`, []any{float64(1), "a"}},
		{"json scalar", "application/json", `"str"`, nil},
		{"bad json", "application/json", `{`, nil},
		{
			"multipart", "multipart/form-data; boundary=XyZ",
			"--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"g\"\r\n\r\nv2\r\n--XyZ--\r\n",
			map[string]any{"f": "v1", "g": "v2"},
		},
		{"no content type", "", "raw", nil},
		{"text", "text/plain", "raw", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, nil, map[string]any{"echo": true})
			ctx := pdktest.NewContext("POST", "/").WithBody([]byte(tt.body))
			if tt.contentType != "" {
				ctx.WithHeader("Content-Type", tt.contentType)
			}
			if err := in.Access(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := ctx.ExitCall().JSON()
			if err != nil {
				t.Fatal(err)
			}
			req := got["request"].(map[string]any)
			body, has := req["body"]
			if (tt.want == nil) == has || (has && !reflect.DeepEqual(body, tt.want)) {
				t.Errorf("body = %#v (present %v), want %#v", body, has, tt.want)
			}
			if req["raw_body"] != tt.body {
				t.Errorf("raw_body = %q", req["raw_body"])
			}
			if got["message"] != "Service unavailable" {
				t.Errorf("message = %v", got["message"])
			}
			if _, ok := got["matched_route"]; ok {
				t.Error("matched_route without a route")
			}
		})
	}
}

func BenchmarkAccess(b *testing.B) {
	in := newInstance(b, nil, map[string]any{"status_code": 403, "message": "no"})
	b.ReportAllocs()
	for b.Loop() {
		ctx := pdktest.NewContext("GET", "/")
		if err := in.Access(ctx); err != nil || !ctx.Exited() {
			b.Fatal("not answered")
		}
	}
}
