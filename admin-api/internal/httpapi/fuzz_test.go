package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzMethods and fuzzContentTypes are what the fuzz inputs index.
var (
	fuzzMethods      = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodHead}
	fuzzContentTypes = []string{
		"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZ",
		"application/yaml", "text/plain", "",
	}
)

// FuzzAPI sends arbitrary bodies and query strings to every route, with
// path parameters drawn from existing entities and junk: the API must
// never answer 500 (a panic would be one: the recover middleware turns it
// into a 500) and must always answer JSON or nothing.
func FuzzAPI(f *testing.F) {
	s := newServer(f)
	seedEntities(f, s)
	routes := fuzzRoutes(f, s)
	params := []string{
		"svc", "r1", "alice", "up", "gold", "k1", "a.example.com", "10.0.0.1:80", "admins", "rate-limiting",
		"00000000-0000-4000-8000-000000000001", "not-a-uuid", "bad%20name", "%FF", "..", "x%2Fy", strings.Repeat("a", 300),
	}

	f.Add(uint8(1), uint16(0), uint8(0), uint8(0), "", []byte(`{"name":"s2","host":"a.example"}`))
	f.Add(uint8(2), uint16(3), uint8(1), uint8(1), "size=2&tags=a,b", []byte(`name=x&host=h&port=80&tags[]=a&config.minute=5`))
	f.Add(uint8(3), uint16(7), uint8(2), uint8(0), "offset=abc", []byte(`{"config":{"minute":"x"},"protocols":["grpc"]}`))
	f.Add(uint8(0), uint16(11), uint8(0), uint8(5), "tags=a/b", []byte(nil))
	f.Add(uint8(1), uint16(20), uint8(3), uint8(3), "check_hash=1&flatten_errors=1", []byte("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n"))
	f.Add(uint8(1), uint16(5), uint8(4), uint8(2), "", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\nh\r\n--XyZ--\r\n"))
	f.Add(uint8(3), uint16(9), uint8(6), uint8(0), "ttl=5", []byte(`{"ttl":-1,"key":"k","service":{"name":"nope"},"snis":["a","a"]}`))
	f.Add(uint8(4), uint16(2), uint8(7), uint8(0), "size=1e3", []byte(`[`))
	f.Add(uint8(2), uint16(14), uint8(8), uint8(1), "a=1&a=2", []byte(`paths[1]=/a&paths[3]=/c&headers[x][]=1&..=2&a.=3&[]=4`))
	f.Add(uint8(1), uint16(30), uint8(13), uint8(1), "tags=%C3&custom_id=%FF", []byte("username=%FF&custom_id=a%C3&service.name=%FE"))
	f.Add(uint8(1), uint16(20), uint8(0), uint8(0), "", []byte("{\"_format_version\":\"3.0\",\"consumers\":[{\"username\":\"\xff\"}]}"))

	f.Fuzz(func(t *testing.T, method uint8, route uint16, param uint8, ctype uint8, query string, body []byte) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		tmpl := routes[int(route)%len(routes)]
		path := fillParams(tmpl, func(i int) string { return params[(int(param)+i)%len(params)] })
		target := path
		if query != "" {
			target += "?" + strings.NewReplacer("#", "%23", " ", "%20").Replace(query)
		}
		req, err := http.NewRequestWithContext(t.Context(), m, "http://admin"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request an HTTP client could send
		}
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		s.api.ServeHTTP(rec, req)
		if rec.Code >= http.StatusInternalServerError && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s (%s) %q: %d %s", m, target, req.Header.Get("Content-Type"), body, rec.Code, rec.Body.Bytes())
		}
		if b := rec.Body.Bytes(); len(b) > 0 && m != http.MethodHead && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(b) {
			t.Fatalf("%s %s: invalid JSON answer %q", m, target, b)
		}
	})
}

// seedEntities creates one entity of each kind, with well-known names.
func seedEntities(tb testing.TB, s *testServer) {
	tb.Helper()
	cert, key := certPEM(tb, false)
	for _, w := range []struct {
		path string
		body map[string]any
	}{
		{"/services", map[string]any{"id": "00000000-0000-4000-8000-000000000001", "name": "svc", "host": "a.example"}},
		{"/services/svc/routes", map[string]any{"name": "r1", "paths": []any{"/"}}},
		{"/consumers", map[string]any{"username": "alice", "custom_id": "c1"}},
		{"/consumers/alice/key-auth", map[string]any{"key": "k1"}},
		{"/consumers/alice/acls", map[string]any{"group": "admins"}},
		{"/consumer_groups", map[string]any{"name": "gold"}},
		{"/consumer_groups/gold/consumers", map[string]any{"consumer": "alice"}},
		{"/upstreams", map[string]any{"name": "up"}},
		{"/upstreams/up/targets", map[string]any{"target": "10.0.0.1:80"}},
		{"/certificates", map[string]any{"cert": cert, "key": key, "snis": []any{"a.example.com"}}},
		{"/plugins", map[string]any{"name": "rate-limiting", "instance_name": "rate-limiting", "config": map[string]any{"minute": 5}}},
	} {
		if r := s.post(w.path, w.body); r.status != http.StatusCreated {
			tb.Fatalf("seed %s: %d %s", w.path, r.status, r.raw)
		}
	}
}

// fuzzRoutes lists the API's route templates.
func fuzzRoutes(tb testing.TB, s *testServer) []string {
	tb.Helper()
	var out []string
	for _, e := range s.get("/endpoints").data() {
		out = append(out, e.(string))
	}
	if len(out) < 50 {
		tb.Fatalf("only %d routes", len(out))
	}
	return out
}

// fillParams replaces the {param} placeholders of a route template.
func fillParams(tmpl string, value func(i int) string) string {
	segs := strings.Split(tmpl, "/")
	n := 0
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") {
			segs[i] = value(n)
			n++
		}
	}
	return strings.Join(segs, "/")
}
