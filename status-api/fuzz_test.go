package statusapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	statusapi "gatehouse.dev/status-api"
)

// FuzzHandler sends arbitrary methods, paths, queries and drain bodies:
// the handler must not panic, must answer one of its statuses, and every
// JSON answer must be valid JSON.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/status", "unit=k&scale=3", ""},
		{"GET", "/status/ready", "", ""},
		{"POST", "/status/ready", "", "status=draining"},
		{"GET", "/upstreams/service-a/health", "balancer_health=1", ""},
		{"GET", "/upstreams/many-upstream/targets/all/", "size=2&offset=2", ""},
		{"GET", "/upstreams/service-a/targets/%5B::1%5D:9000", "", ""},
		{"DELETE", "/upstreams/service-a/targets/10.0.0.1:80", "", ""},
		{"GET", "/metrics", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body)
	}
	src := newFakeSource()
	reg := prometheus.NewRegistry()
	reg.MustRegister(statusapi.NewCollector(src))
	h := statusapi.Handler(src, statusapi.Options{NodeID: fixtureNodeID, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)})
	allowed := map[int]bool{200: true, 204: true, 400: true, 403: true, 404: true, 405: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		u, err := url.Parse("http://status.test" + path)
		if err != nil || u.Host != "status.test" || !validMethod(method) {
			t.Skip()
		}
		u.RawQuery = query
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", strings.NewReader(body))
		req.Method, req.URL, req.RequestURI = method, u, u.RequestURI()
		req.RemoteAddr = "127.0.0.1:1"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %s?%s = %d %s", method, path, query, rec.Code, rec.Body)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s?%s: invalid JSON %q", method, path, query, rec.Body)
		}
	})
}

// validMethod reports whether m is an HTTP token, as a server would
// accept.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
