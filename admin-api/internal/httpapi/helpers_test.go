package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/admin-api/internal/httpapi"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/store/storetest"
)

// testServer is the Admin API on a private, migrated database.
type testServer struct {
	t     testing.TB
	srv   *httptest.Server
	store *store.Store
	svc   *admin.Service
	api   *httpapi.API
	token string
}

type serverOptions struct {
	token   string
	maxBody int64
	pgURL   string // default: a new migrated database
	now     func() time.Time
}

func newServer(tb testing.TB) *testServer {
	tb.Helper()
	return newServerWith(tb, serverOptions{})
}

func newServerWith(tb testing.TB, o serverOptions) *testServer {
	tb.Helper()
	url := o.pgURL
	if url == "" {
		url = storetest.NewMigrated(tb)
	}
	plugins, err := plugin.Load("bundled")
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), url, cat, store.Options{ConnectTimeout: 10 * time.Second, Now: o.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	logger := slog.New(slog.NewTextHandler(testLogWriter(), nil))
	svc := admin.New(st, plugins, admin.Options{Logger: logger, Now: o.now})
	api := httpapi.New(httpapi.Options{
		Service: svc, Settings: map[string]string{"admin_listen": "127.0.0.1:8001", "admin_token": "******"},
		NodeID: "7a4a3e9c-3c1e-4c8c-9d5b-1f1f2f3f4f5f", Hostname: "test-host", Token: o.token,
		MaxBodySize: o.maxBody, Metrics: httpapi.NewMetrics(), Logger: logger,
	})
	srv := httptest.NewUnstartedServer(api)
	srv.Config.ConnState = api.ConnState
	srv.Start()
	tb.Cleanup(srv.Close)
	return &testServer{t: tb, srv: srv, store: st, svc: svc, api: api, token: o.token}
}

// response is an answer with its body decoded.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   any
}

// obj returns the body as an object.
func (r response) obj() map[string]any {
	m, _ := r.body.(map[string]any)
	return m
}

// data returns a page's data.
func (r response) data() []any {
	d, _ := r.obj()["data"].([]any)
	return d
}

// str returns a string field of the body.
func (r response) str(key string) string {
	s, _ := r.obj()[key].(string)
	return s
}

// request sends a request. body is JSON-encoded unless it is a string or
// []byte (sent as is, with contentType).
func (s *testServer) request(method, path string, body any, contentType string, header ...string) response {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(j)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.srv.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.token != "" {
		req.Header.Set("Kong-Admin-Token", s.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&out.body); err != nil {
			s.t.Fatalf("%s %s: invalid JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

func (s *testServer) get(path string) response {
	s.t.Helper()
	return s.request(http.MethodGet, path, nil, "")
}

func (s *testServer) post(path string, body any) response {
	s.t.Helper()
	return s.request(http.MethodPost, path, body, "")
}

func (s *testServer) put(path string, body any) response {
	s.t.Helper()
	return s.request(http.MethodPut, path, body, "")
}

func (s *testServer) patch(path string, body any) response {
	s.t.Helper()
	return s.request(http.MethodPatch, path, body, "")
}

func (s *testServer) delete(path string) response {
	s.t.Helper()
	return s.request(http.MethodDelete, path, nil, "")
}

// form sends a form-urlencoded body.
func (s *testServer) form(method, path string, values url.Values) response {
	s.t.Helper()
	return s.request(method, path, values.Encode(), "application/x-www-form-urlencoded")
}

// must checks the status of a response and returns it.
func must(tb testing.TB, r response, status int) response {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// id returns the id of a created entity.
func (r response) id() string { return r.str("id") }

// latest returns the newest revision.
func (s *testServer) latest() int64 {
	s.t.Helper()
	rev, err := s.store.Latest(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return rev
}

// changes returns the change-log rows after a revision.
func (s *testServer) changes(after int64) ([]store.Revision, []store.Change) {
	s.t.Helper()
	revs, changes, err := s.store.Changes(context.Background(), after, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	return revs, changes
}

// jsonEqual compares two JSON values after a round trip through encoding.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return jsonString(va) == jsonString(vb)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// setGlobalTracing installs a tracer provider and propagator, and returns
// a function that restores the previous ones.
func setGlobalTracing(tp trace.TracerProvider, p propagation.TextMapPropagator) func() {
	oldTP, oldP := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(p)
	return func() {
		otel.SetTracerProvider(oldTP)
		otel.SetTextMapPropagator(oldP)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func errUnavailable() error { return admin.ErrUnavailable }

func testLogWriter() io.Writer {
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
