package statusapi_test

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	statusapi "gatehouse.dev/status-api"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenMu serialises rewrites: parallel cases share golden files.
var goldenMu sync.Mutex

// do sends one request to h from a non-loopback peer.
func do(t *testing.T, h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, target, body)
	req.RemoteAddr = "192.0.2.10:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// dump is the part of a response the golden files pin: status, the
// headers that carry meaning, and the body.
func dump(rec *httptest.ResponseRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", rec.Code)
	for _, k := range []string{"Allow", "Content-Type", "WWW-Authenticate"} {
		if v := rec.Header().Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.WriteString(rec.Body.String())
	b.WriteString("\n")
	return b.String()
}

// checkGolden compares got with testdata/<name>.golden, or rewrites it
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := name + ".golden"
	path := filepath.Join("testdata", file)
	if *update {
		goldenMu.Lock()
		defer goldenMu.Unlock()
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := fs.ReadFile(os.DirFS("testdata"), file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("response differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGolden pins every response body. Several requests share a golden
// file when they must answer the same (an upstream by id or by name, a
// trailing slash).
func TestGolden(t *testing.T) {
	t.Parallel()
	ready := statusapi.Handler(newFakeSource(), statusapi.Options{NodeID: fixtureNodeID})
	standalone := statusapi.Handler(newStandaloneSource(), statusapi.Options{})
	empty := &fakeSource{ready: false, reason: statusapi.ReasonEmptyConfiguration, status: statusapi.Status{ConfigurationHash: "00000000000000000000000000000000"}}
	emptyConfig := statusapi.Handler(empty, statusapi.Options{})

	a, b := upstreamID(1), upstreamID(2)
	tests := []struct {
		golden string
		h      http.Handler
		target string
	}{
		{"status", ready, "/status"},
		{"status", ready, "/status/"},
		{"status_unit_b", ready, "/status?unit=b"},
		{"status_unit_k_scale_3", ready, "/status?unit=k&scale=3"},
		{"status_unit_G_scale_0", ready, "/status?unit=G&scale=0"},
		{"status_bad_unit", ready, "/status?unit=V"},
		{"status_negative_scale", ready, "/status?unit=k&scale=-1"},
		{"status_standalone", standalone, "/status"},

		{"ready", ready, "/status/ready"},
		{"ready", ready, "/status/ready/"},
		{"ready_no_configuration", standalone, "/status/ready"},
		{"ready_empty_configuration", emptyConfig, "/status/ready"},

		{"targets", ready, "/upstreams/service-a/targets"},
		{"targets", ready, "/upstreams/service-a/targets/"},
		{"targets", ready, "/upstreams/" + a + "/targets"},
		{"targets_all", ready, "/upstreams/service-a/targets/all"},
		{"targets_all", ready, "/upstreams/" + a + "/targets/all/"},
		{"health", ready, "/upstreams/service-a/health"},
		{"health", ready, "/upstreams/" + a + "/health/"},
		{"health", ready, "/upstreams/service-a/health?balancer_health=0"},
		{"health_checks_off", ready, "/upstreams/service-b/health"},
		{"balancer_health", ready, "/upstreams/service-a/health?balancer_health=1"},
		{"balancer_health", ready, "/upstreams/" + a + "/health/?balancer_health=1"},
		{"balancer_health_checks_off", ready, "/upstreams/service-b/health?balancer_health=1"},
		{"balancer_health_unhealthy", ready, "/upstreams/service-c/health?balancer_health=1"},
		{"balancer_health_empty", ready, "/upstreams/empty-upstream/health?balancer_health=1"},

		{"target_10.0.0.2", ready, "/upstreams/service-a/targets/10.0.0.2:80"},
		{"target_10.0.0.2", ready, "/upstreams/service-a/targets/10.0.0.2:80/"},
		{"target_10.0.0.2", ready, "/upstreams/" + a + "/targets/" + targetID(102)},
		{"target_10.0.0.2", ready, "/upstreams/service-a/targets/" + strings.ToUpper(targetID(102))},
		{"target_10.0.0.1", ready, "/upstreams/service-a/targets/10.0.0.1:80"},
		{"target_multi", ready, "/upstreams/service-a/targets/multi.internal"},
		{"target_ipv6", ready, "/upstreams/service-a/targets/%5B::1%5D:9000"},
		{"target_ipv6", ready, "/upstreams/service-a/targets/[0000:0000:0000:0000:0000:0000:0000:0001]:9000"},
		{"target_b", ready, "/upstreams/" + b + "/targets/b.internal:80"},

		{"empty_page", ready, "/upstreams/empty-upstream/targets"},
		{"empty_page", ready, "/upstreams/empty-upstream/targets/all"},
		{"empty_health", ready, "/upstreams/empty-upstream/health"},
		{"many_page_1", ready, "/upstreams/many-upstream/targets?size=2"},
		{"many_page_2", ready, "/upstreams/many-upstream/targets?size=2&offset=2"},
		{"many_page_3", ready, "/upstreams/many-upstream/targets?size=2&offset=4"},
		{"many_all_page_1", ready, "/upstreams/many-upstream/targets/all?size=3"},
		{"many_health_page_1", ready, "/upstreams/" + upstreamID(5) + "/health?size=4"},
		{"empty_page", ready, "/upstreams/many-upstream/targets?offset=5"},
		{"empty_page", ready, "/upstreams/many-upstream/targets?offset=500"},
		{"invalid_size_number", ready, "/upstreams/many-upstream/targets?size=ten"},
		{"invalid_size_number", ready, "/upstreams/many-upstream/health?size="},
		{"invalid_size_range", ready, "/upstreams/many-upstream/targets?size=0"},
		{"invalid_size_range", ready, "/upstreams/many-upstream/targets/all?size=1001"},
		{"invalid_size_range", ready, "/upstreams/many-upstream/targets?size=1.5"},
		{"invalid_offset", ready, "/upstreams/many-upstream/targets?offset=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.golden+" "+tt.target, func(t *testing.T) {
			t.Parallel()
			rec := do(t, tt.h, http.MethodGet, tt.target, nil)
			checkGolden(t, tt.golden, dump(rec))
		})
	}
}

// TestNotFound checks every path that is not an endpoint, or names an
// upstream or target that does not exist (or is inactive, or belongs to
// another upstream), answers Kong's 404.
func TestNotFound(t *testing.T) {
	t.Parallel()
	h := statusapi.Handler(newFakeSource(), statusapi.Options{NodeID: fixtureNodeID})
	paths := []string{
		"/",
		"/foo",
		"/status/dns",
		"/status/ready/now",
		"/status//",
		"//status",
		"/metrics",
		"/upstreams",
		"/upstreams/",
		"/upstreams/service-a",
		"/upstreams/service-a/",
		"/upstreams/service-a/healthy",
		"/upstreams/service-a/targets/10.0.0.1:80/healthy",
		"/upstreams/service-a/targets/10.0.0.1:80/unhealthy",
		"/upstreams/service-a/targets/10.0.0.1:80/10.0.0.1:80/healthy",
		"/upstreams/service-a/targets/10.0.0.1:80/10.0.0.1:80/unhealthy",
		"/upstreams/service-a/targets/all/more",
		"/upstreams/unknown/targets",
		"/upstreams/unknown/targets/all",
		"/upstreams/unknown/health",
		"/upstreams/unknown/health?balancer_health=1",
		"/upstreams/unknown/targets/10.0.0.1:80",
		"/upstreams/" + upstreamID(9) + "/targets",
		"/upstreams/service-a/targets/10.0.0.3:80",      // newest entry has weight 0
		"/upstreams/service-a/targets/" + targetID(104), // weight 0, by id
		"/upstreams/service-a/targets/unknown.internal:80",
		"/upstreams/service-a/targets/" + targetID(999),
		"/upstreams/service-a/targets/" + targetID(201), // belongs to service-b
		"/upstreams/service-b/targets/10.0.0.1:80",
		"/upstreams/%2F/targets",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			checkGolden(t, "not_found", dump(do(t, h, http.MethodGet, p, nil)))
		})
	}
}

// TestMethodNotAllowed checks every method but GET and HEAD (and POST on
// /status/ready) answers 405 on every endpoint, before the upstream is
// looked up.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	h := statusapi.Handler(newFakeSource(), statusapi.Options{NodeID: fixtureNodeID})
	paths := []string{
		"/status",
		"/metrics",
		"/upstreams/service-a/targets",
		"/upstreams/service-a/targets/",
		"/upstreams/service-a/targets/all",
		"/upstreams/service-a/health",
		"/upstreams/service-a/health?balancer_health=1",
		"/upstreams/service-a/targets/10.0.0.1:80",
		"/upstreams/unknown/targets",
		"/upstreams/service-a/targets/unknown:80",
	}
	methods := []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "PURGE"}
	for _, p := range paths {
		for _, m := range methods {
			t.Run(m+" "+p, func(t *testing.T) {
				t.Parallel()
				checkGolden(t, "method_not_allowed", dump(do(t, h, m, p, strings.NewReader(`{"weight":0}`))))
			})
		}
	}
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		t.Run(m+" /status/ready", func(t *testing.T) {
			t.Parallel()
			checkGolden(t, "method_not_allowed_ready", dump(do(t, h, m, "/status/ready", strings.NewReader("status=draining"))))
		})
	}
}

// TestHead checks HEAD answers as GET without a body.
func TestHead(t *testing.T) {
	t.Parallel()
	h := statusapi.Handler(newFakeSource(), statusapi.Options{NodeID: fixtureNodeID})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, p := range []string{"/status/ready", "/upstreams/service-a/health", "/upstreams/unknown/targets"} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+p, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			body, _ := io.ReadAll(res.Body)
			get := do(t, h, http.MethodGet, p, nil)
			if res.StatusCode != get.Code || len(body) != 0 || res.Header.Get("Content-Type") != get.Header().Get("Content-Type") {
				t.Errorf("HEAD %s = %d %q %q, want %d, no body, %q", p, res.StatusCode, res.Header.Get("Content-Type"), body,
					get.Code, get.Header().Get("Content-Type"))
			}
		})
	}
}
