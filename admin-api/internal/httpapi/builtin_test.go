package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/version"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/plugins", map[string]any{"name": "cors"}), http.StatusCreated)
	r := must(t, s.get("/"), http.StatusOK)
	o := r.obj()
	if o["version"] != version.KongLevel || o["gatehouse_version"] != version.Version || o["tagline"] != "Welcome to kong" ||
		o["node_id"] != "7a4a3e9c-3c1e-4c8c-9d5b-1f1f2f3f4f5f" || o["hostname"] != "test-host" || o["edition"] != "community" {
		t.Errorf("GET /: %s", r.raw)
	}
	plugins := o["plugins"].(map[string]any)
	avail := plugins["available_on_server"].(map[string]any)
	if ka, ok := avail["key-auth"].(map[string]any); !ok || ka["priority"] != json.Number("1250") || ka["version"] != version.Version {
		t.Errorf("available_on_server: %v", avail)
	}
	if !jsonEqual(plugins["enabled_in_cluster"], []any{"cors"}) {
		t.Errorf("enabled_in_cluster: %v", plugins["enabled_in_cluster"])
	}
	conf := o["configuration"].(map[string]any)
	if conf["database"] != "postgres" || conf["role"] != "control_plane" || conf["admin_token"] != "******" {
		t.Errorf("configuration: %v", conf)
	}
	// decK parses the version with a semver regexp.
	if !regexp.MustCompile(`^\d+\.\d+(\.\d+)?`).MatchString(o["version"].(string)) {
		t.Errorf("version %v", o["version"])
	}
}

func TestStatusAndEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := must(t, s.get("/status"), http.StatusOK)
	db := r.obj()["database"].(map[string]any)
	if db["reachable"] != true {
		t.Errorf("/status: %s", r.raw)
	}
	srv := r.obj()["server"].(map[string]any)
	for _, k := range []string{
		"connections_accepted", "connections_active", "connections_handled", "connections_reading",
		"connections_writing", "connections_waiting", "total_requests",
	} {
		if _, ok := srv[k]; !ok {
			t.Errorf("/status server lacks %s", k)
		}
	}
	if r := must(t, s.get("/status?unit=k&scale=1"), http.StatusOK); !strings.HasSuffix(
		r.obj()["memory"].(map[string]any)["workers_lua_vms"].([]any)[0].(map[string]any)["http_allocated_gc"].(string), " KiB") {
		t.Errorf("/status unit: %s", r.raw)
	}
	must(t, s.get("/status?unit=x"), http.StatusBadRequest)

	r = must(t, s.get("/endpoints"), http.StatusOK)
	var eps []string
	for _, e := range r.data() {
		eps = append(eps, e.(string))
	}
	for _, want := range []string{
		"/", "/services", "/services/{services}", "/services/{services}/routes", "/services/{services}/routes/{routes}",
		"/routes/{routes}/service", "/consumers/{consumers}/key-auth/{keyauth_credentials}", "/key-auths/{keyauth_credentials}/consumer",
		"/upstreams/{upstreams}/targets/{targets}", "/upstreams/{upstreams}/targets/all", "/certificates/{certificates}/snis",
		"/consumer_groups/{consumer_groups}/consumers", "/consumer_groups/{consumer_groups}/plugins",
		"/plugins/{plugins}/consumer_group", "/schemas/plugins/{name}", "/tags/{tags}", "/config",
		"/clustering/data-planes", "/clustering/status", "/plugins/enabled", "/metrics",
	} {
		if !slices.Contains(eps, want) {
			t.Errorf("/endpoints lacks %s", want)
		}
	}
	for _, absent := range []string{"/targets", "/targets/{targets}", "/snis/{snis}/certificate", "/targets/{targets}/upstream"} {
		if slices.Contains(eps, absent) {
			t.Errorf("/endpoints lists disabled %s", absent)
		}
	}
	sorted := slices.IsSortedFunc(eps, func(a, b string) int {
		return strings.Compare(strings.ReplaceAll(a, "/", "\x00"), strings.ReplaceAll(b, "/", "\x00"))
	})
	if !sorted || eps[0] != "/" {
		t.Errorf("endpoints not sorted segment-wise: %v", eps[:5])
	}
}

func TestSchemaEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := must(t, s.get("/schemas/services"), http.StatusOK)
	fields, _ := r.obj()["fields"].([]any)
	found := false
	for _, f := range fields {
		if retries, ok := f.(map[string]any)["retries"].(map[string]any); ok {
			found = retries["default"] == json.Number("5")
		}
	}
	if !found {
		t.Errorf("/schemas/services lacks retries' default: %s", r.raw)
	}
	if r := must(t, s.get("/schemas/nope"), http.StatusNotFound); r.str("message") != "No entity named 'nope'" {
		t.Errorf("/schemas/nope: %s", r.raw)
	}
	r = must(t, s.get("/schemas/plugins/rate-limiting"), http.StatusOK)
	if !strings.Contains(string(r.raw), `"config"`) || !strings.Contains(string(r.raw), `"protocols"`) {
		t.Errorf("/schemas/plugins/rate-limiting: %s", r.raw)
	}
	if r := must(t, s.get("/schemas/plugins/nope"), http.StatusNotFound); r.str("message") != "No plugin named 'nope'" {
		t.Errorf("/schemas/plugins/nope: %s", r.raw)
	}
	r = must(t, s.get("/plugins/schema/rate-limiting"), http.StatusOK)
	if !strings.Contains(string(r.raw), `"minute"`) {
		t.Errorf("/plugins/schema/rate-limiting: %s", r.raw)
	}
	must(t, s.get("/plugins/schema/nope"), http.StatusNotFound)
	// Validation endpoints.
	if r := must(t, s.post("/schemas/services/validate", map[string]any{"host": "a.example"}), http.StatusOK); r.str("message") != "schema validation successful" {
		t.Errorf("validate: %s", r.raw)
	}
	if r := must(t, s.post("/schemas/services/validate", map[string]any{"port": 1}), http.StatusBadRequest); r.obj()["code"] != json.Number("2") {
		t.Errorf("validate bad: %s", r.raw)
	}
	must(t, s.post("/schemas/plugins/validate", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 1}}), http.StatusOK)
	must(t, s.post("/schemas/plugins/validate", map[string]any{"name": "rate-limiting", "config": map[string]any{"policy": "cluster", "minute": 1}}), http.StatusBadRequest)
	must(t, s.post("/schemas/nope/validate", map[string]any{}), http.StatusNotFound)
	// Validation stores nothing.
	if s.latest() != 0 {
		t.Error("validation wrote a revision")
	}
	r = must(t, s.get("/plugins/enabled"), http.StatusOK)
	if list, _ := r.obj()["enabled_plugins"].([]any); !slices.Contains(list, any("key-auth")) {
		t.Errorf("/plugins/enabled: %s", r.raw)
	}
	// Consumers by custom_id.
	must(t, s.post("/consumers", map[string]any{"username": "bob", "custom_id": "b-1"}), http.StatusCreated)
	if r := must(t, s.get("/consumers?custom_id=b-1"), http.StatusOK); len(r.data()) != 1 || r.obj()["next"] != nil {
		t.Errorf("custom_id: %s", r.raw)
	}
	if r := must(t, s.get("/consumers?custom_id=none"), http.StatusOK); string(r.raw) != `{"data":[],"next":null}` {
		t.Errorf("custom_id none: %s", r.raw)
	}
	must(t, s.get("/consumers?custom_id="), http.StatusBadRequest)
}

func TestHTTPConventions(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	tests := []struct {
		name   string
		do     func() response
		status int
		body   string // exact, when set
		header map[string]string
	}{
		{name: "trailing slash", do: func() response { return s.get("/services/") }, status: http.StatusOK},
		{name: "trailing slash entity", do: func() response { return s.get("/services/svc/") }, status: http.StatusOK},
		{name: "unknown path", do: func() response { return s.get("/nope") }, status: http.StatusNotFound, body: `{"message":"Not found"}`},
		{name: "extra segments", do: func() response { return s.get("/services/svc/routes/r/extra") }, status: http.StatusNotFound},
		{name: "wrong method", do: func() response { return s.request(http.MethodPut, "/services", nil, "") }, status: http.StatusMethodNotAllowed, body: `{"message":"Method not allowed"}`},
		{
			name: "options", do: func() response { return s.request(http.MethodOptions, "/services/svc", nil, "") }, status: http.StatusNoContent,
			header: map[string]string{"Allow": "DELETE, GET, HEAD, OPTIONS, PATCH, PUT", "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, PUT", "Access-Control-Allow-Headers": "Content-Type"},
		},
		{
			name: "preflight", do: func() response {
				return s.request(http.MethodOptions, "/services", nil, "", "Origin", "https://ui.example", "Access-Control-Request-Headers", "Kong-Admin-Token")
			}, status: http.StatusNoContent,
			header: map[string]string{"Access-Control-Allow-Origin": "https://ui.example", "Access-Control-Allow-Headers": "Kong-Admin-Token", "Access-Control-Allow-Credentials": "true"},
		},
		{name: "head", do: func() response { return s.request(http.MethodHead, "/services/svc", nil, "") }, status: http.StatusOK, body: ""},
		{
			name: "headers", do: func() response { return s.get("/services") }, status: http.StatusOK,
			header: map[string]string{"Server": "kong/3.10.0", "Content-Type": "application/json; charset=utf-8", "Access-Control-Allow-Origin": "*", "X-Gatehouse-Version": version.Version},
		},
		{
			name: "unsupported media type", do: func() response { return s.request(http.MethodPost, "/services", "host=x", "text/plain") },
			status: http.StatusUnsupportedMediaType, body: "",
		},
		{
			name: "body without content type", do: func() response { return s.request(http.MethodPost, "/services", "host=x", "") },
			status: http.StatusUnsupportedMediaType,
		},
		{
			name: "bad json", do: func() response { return s.request(http.MethodPost, "/services", "{", "application/json") },
			status: http.StatusBadRequest, body: `{"message":"Cannot parse JSON body"}`,
		},
		{
			name: "json not an object", do: func() response { return s.request(http.MethodPost, "/services", "[1]", "application/json") },
			status: http.StatusBadRequest, body: `{"message":"Cannot parse JSON body"}`,
		},
		{
			name: "two content types", do: func() response {
				return s.request(http.MethodPost, "/services", "{}", "application/json", "Content-Type", "application/json")
			},
			status: http.StatusBadRequest, body: `{"message":"Multiple Content-Type headers not allowed"}`,
		},
		{
			name: "too many query arguments", do: func() response { return s.get("/services?" + strings.Repeat("a=1&", 1001)) },
			status: http.StatusBadRequest, body: `{"message":"Too many arguments"}`,
		},
		{
			name: "too many form arguments", do: func() response {
				return s.request(http.MethodPost, "/services", strings.Repeat("a=1&", 1001), "application/x-www-form-urlencoded")
			},
			status: http.StatusBadRequest, body: `{"message":"Too many arguments"}`,
		},
		{name: "empty body", do: func() response { return s.request(http.MethodPatch, "/services/svc", nil, "") }, status: http.StatusOK},
		{name: "unknown query ignored", do: func() response { return s.get("/services?foo=bar") }, status: http.StatusOK},
		{name: "escaped name", do: func() response { return s.get("/services/%73vc") }, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.do()
			if r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, r.raw)
			}
			if tt.body != "" || tt.status == http.StatusUnsupportedMediaType {
				if string(r.raw) != tt.body {
					t.Errorf("body %q, want %q", r.raw, tt.body)
				}
			}
			for k, v := range tt.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if r.header.Get("X-Kong-Admin-Latency") == "" {
				t.Error("no X-Kong-Admin-Latency")
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, serverOptions{maxBody: 1024})
	big := fmt.Sprintf(`{"host":"a.example","tags":[%q]}`, strings.Repeat("x", 2000))
	r := must(t, s.request(http.MethodPost, "/services", big, "application/json"), http.StatusRequestEntityTooLarge)
	if r.str("message") != "Request body too large: the limit is 1024 bytes" {
		t.Errorf("413: %s", r.raw)
	}
	// A chunked body without a length is cut at the limit too.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.srv.URL+"/services", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d", res.StatusCode)
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, serverOptions{token: "s3cret"})
	must(t, s.get("/services"), http.StatusOK)
	s.token = ""
	for _, h := range [][]string{nil, {"Kong-Admin-Token", "wrong"}, {"Kong-Admin-Token", "s3cret2"}, {"Authorization", "Bearer nope"}} {
		r := must(t, s.request(http.MethodGet, "/services", nil, "", h...), http.StatusUnauthorized)
		if string(r.raw) != `{"message":"Invalid authentication credentials"}` {
			t.Errorf("401 body: %s", r.raw)
		}
	}
	must(t, s.request(http.MethodGet, "/metrics", nil, "", "Authorization", "Bearer s3cret"), http.StatusOK)
	must(t, s.request(http.MethodOptions, "/services", nil, ""), http.StatusNoContent)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	must(t, s.get("/services/nope"), http.StatusNotFound)
	r := must(t, s.get("/metrics"), http.StatusOK)
	for _, want := range []string{
		`gatehouse_admin_http_requests_total{method="POST",route="/services",status="201"} 1`,
		`gatehouse_admin_http_requests_total{method="GET",route="/services/:services",status="404"} 1`,
		`gatehouse_admin_http_request_duration_seconds_bucket{method="POST",route="/services"`,
		"go_goroutines",
	} {
		if !strings.Contains(string(r.raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
