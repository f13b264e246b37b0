package statusapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	statusapi "gatehouse.dev/status-api"
)

const testToken = "s3cret-status-token"

// drainRequest is a POST /status/ready.
type drainRequest struct {
	remote      string
	query       string
	contentType string
	body        string
	header      map[string]string
}

func (d drainRequest) send(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/status/ready"+d.query, strings.NewReader(d.body))
	req.RemoteAddr = d.remote
	if d.contentType != "" {
		req.Header.Set("Content-Type", d.contentType)
	}
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const (
	formType   = "application/x-www-form-urlencoded"
	jsonType   = "application/json"
	loopback4  = "127.0.0.1:51000"
	loopback6  = "[::1]:51000"
	remotePeer = "198.51.100.7:51000"
)

func multipartBody(t *testing.T, status string) (contentType, body string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("status", status); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.String()
}

// TestDrain checks who may set draining and with which bodies, and that a
// refused or bad request leaves the node ready.
func TestDrain(t *testing.T) {
	t.Parallel()
	mpType, mpBody := multipartBody(t, "draining")
	tests := []struct {
		name  string
		token string
		req   drainRequest
		want  int
		// golden pins the refusal's body.
		golden string
	}{
		{name: "loopback form", req: drainRequest{remote: loopback4, contentType: formType, body: "status=draining"}, want: 204},
		{name: "loopback 127.0.0.0/8", req: drainRequest{remote: "127.8.9.10:1", contentType: formType, body: "status=draining"}, want: 204},
		{name: "loopback ipv6 json", req: drainRequest{remote: loopback6, contentType: jsonType, body: `{"status":"draining"}`}, want: 204},
		{name: "loopback mapped ipv4", req: drainRequest{remote: "[::ffff:127.0.0.1]:1", contentType: formType, body: "status=draining"}, want: 204},
		{name: "loopback json with charset", req: drainRequest{remote: loopback4, contentType: "application/json; charset=utf-8", body: `{"status":"draining"}`}, want: 204},
		{name: "loopback multipart", req: drainRequest{remote: loopback4, contentType: mpType, body: mpBody}, want: 204},
		{name: "loopback query", req: drainRequest{remote: loopback4, query: "?status=draining"}, want: 204},
		{name: "loopback json without status, query", req: drainRequest{remote: loopback4, query: "?status=draining", contentType: jsonType, body: `{}`}, want: 204},
		{name: "loopback with a wrong token", token: testToken, req: drainRequest{remote: loopback4, contentType: formType, body: "status=draining", header: map[string]string{"Kong-Admin-Token": "nope"}}, want: 204},
		{name: "token in Kong-Admin-Token", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Kong-Admin-Token": testToken}}, want: 204},
		{name: "token as bearer", token: testToken, req: drainRequest{remote: remotePeer, contentType: jsonType, body: `{"status":"draining"}`, header: map[string]string{"Authorization": "Bearer " + testToken}}, want: 204},
		{name: "token as lower-case bearer", token: testToken, req: drainRequest{remote: remotePeer, query: "?status=draining", header: map[string]string{"Authorization": "bearer " + testToken}}, want: 204},

		{name: "remote without a configured token", req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining"}, want: 403, golden: "drain_forbidden"},
		{name: "remote with a token none is configured", req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Kong-Admin-Token": testToken}}, want: 403, golden: "drain_forbidden"},
		{name: "forwarded for loopback", req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}}, want: 403, golden: "drain_forbidden"},
		{name: "unparsable peer", req: drainRequest{remote: "@", contentType: formType, body: "status=draining"}, want: 403, golden: "drain_forbidden"},
		{name: "remote without a token", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining"}, want: 401, golden: "drain_unauthorized"},
		{name: "remote with a wrong token", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Kong-Admin-Token": testToken + "x"}}, want: 401, golden: "drain_unauthorized"},
		{name: "remote with a token prefix", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Authorization": "Bearer s3cret"}}, want: 401, golden: "drain_unauthorized"},
		{name: "remote with basic auth", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Authorization": "Basic " + testToken}}, want: 401, golden: "drain_unauthorized"},

		{name: "other status", req: drainRequest{remote: loopback4, contentType: formType, body: "status=ready"}, want: 400, golden: "drain_bad_request"},
		{name: "upper-case value", req: drainRequest{remote: loopback4, contentType: formType, body: "status=DRAINING"}, want: 400, golden: "drain_bad_request"},
		{name: "no body", req: drainRequest{remote: loopback4}, want: 400, golden: "drain_bad_request"},
		{name: "json number", req: drainRequest{remote: loopback4, contentType: jsonType, body: `{"status":1}`}, want: 400, golden: "drain_bad_request"},
		{name: "json not an object", req: drainRequest{remote: loopback4, contentType: jsonType, body: `["draining"]`}, want: 400, golden: "drain_bad_request"},
		{name: "invalid json", req: drainRequest{remote: loopback4, contentType: jsonType, body: `{"status":`}, want: 400, golden: "drain_bad_request"},
		{name: "json body ignores the query", req: drainRequest{remote: loopback4, query: "?status=draining", contentType: jsonType, body: `{"status":"ready"}`}, want: 400, golden: "drain_bad_request"},
		{name: "oversized form", req: drainRequest{remote: loopback4, contentType: formType, body: "status=draining&pad=" + strings.Repeat("x", 70<<10)}, want: 400, golden: "drain_bad_request"},
		{name: "token with a bad body", token: testToken, req: drainRequest{remote: remotePeer, contentType: formType, body: "status=", header: map[string]string{"Kong-Admin-Token": testToken}}, want: 400, golden: "drain_bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var drained atomic.Int32
			h := statusapi.Handler(newFakeSource(), statusapi.Options{Token: tt.token, Logger: discard, OnDrain: func() { drained.Add(1) }})
			if rec := do(t, h, http.MethodGet, "/status/ready", nil); rec.Code != http.StatusOK {
				t.Fatalf("before: GET /status/ready = %d, want 200", rec.Code)
			}
			rec := tt.req.send(t, h)
			if rec.Code != tt.want {
				t.Fatalf("POST = %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, dump(rec))
			}
			wantDrained := tt.want == http.StatusNoContent
			if rec.Code == http.StatusNoContent && rec.Body.Len() != 0 {
				t.Errorf("204 with a body %q", rec.Body)
			}
			wantCalls := int32(0)
			if wantDrained {
				wantCalls = 1
			}
			if got := drained.Load(); got != wantCalls {
				t.Errorf("OnDrain called %d times, want %d", got, wantCalls)
			}
			ready := do(t, h, http.MethodGet, "/status/ready", nil)
			if wantDrained {
				checkGolden(t, "ready_draining", dump(ready))
			} else if ready.Code != http.StatusOK {
				t.Errorf("after a refused POST: GET /status/ready = %d %s, want 200", ready.Code, ready.Body)
			}
			if got := draining(t, h); got != wantDrained {
				t.Errorf("/status gatehouse.draining = %v, want %v", got, wantDrained)
			}
		})
	}
}

// draining reads gatehouse.draining from /status.
func draining(t *testing.T, h http.Handler) bool {
	t.Helper()
	var body struct {
		Gatehouse struct {
			Draining bool `json:"draining"`
		} `json:"gatehouse"`
	}
	rec := do(t, h, http.MethodGet, "/status", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("/status: %v: %s", err, rec.Body)
	}
	return body.Gatehouse.Draining
}

// TestDrainIsFinal checks draining outlasts readiness changes and further
// posts, and OnDrain runs only once.
func TestDrainIsFinal(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	var drained atomic.Int32
	h := statusapi.Handler(src, statusapi.Options{Logger: discard, OnDrain: func() { drained.Add(1) }})
	post := drainRequest{remote: loopback4, contentType: formType, body: "status=draining"}
	for range 3 {
		if rec := post.send(t, h); rec.Code != http.StatusNoContent {
			t.Fatalf("POST = %d", rec.Code)
		}
	}
	src.update(func(f *fakeSource) { f.ready, f.reason = false, statusapi.ReasonNoConfiguration })
	checkGolden(t, "ready_draining", dump(do(t, h, http.MethodGet, "/status/ready", nil)))
	if got := drained.Load(); got != 1 {
		t.Errorf("OnDrain called %d times, want 1", got)
	}
}

// TestDrainOverLoopbackConnection sets draining through a real server, so
// the peer address comes from the connection.
func TestDrainOverLoopbackConnection(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(statusapi.Handler(newFakeSource(), statusapi.Options{Logger: discard}))
	t.Cleanup(srv.Close)
	send := func(method, body string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/status/ready", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", jsonType)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := send(http.MethodPost, `{"status":"draining"}`); code != http.StatusNoContent {
		t.Fatalf("POST = %d %s, want 204", code, body)
	}
	if code, body := send(http.MethodGet, ""); code != http.StatusServiceUnavailable || body != `{"message":"draining"}` {
		t.Errorf("GET = %d %s, want 503 draining", code, body)
	}
}

// TestDrainConcurrentSafe races readers of the flag with writers of it.
func TestDrainConcurrentSafe(t *testing.T) {
	t.Parallel()
	var drained atomic.Int32
	h := statusapi.Handler(newFakeSource(), statusapi.Options{Token: testToken, Logger: discard, OnDrain: func() { drained.Add(1) }})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if i%2 == 0 {
				drainRequest{remote: remotePeer, contentType: formType, body: "status=draining", header: map[string]string{"Kong-Admin-Token": testToken}}.send(t, h)
				return
			}
			for _, p := range []string{"/status/ready", "/status"} {
				if rec := do(t, h, http.MethodGet, p, nil); rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
					t.Errorf("GET %s = %d", p, rec.Code)
				}
			}
		})
	}
	wg.Wait()
	if got := drained.Load(); got != 1 {
		t.Errorf("OnDrain called %d times, want 1", got)
	}
	if rec := do(t, h, http.MethodGet, "/status/ready", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /status/ready = %d, want 503", rec.Code)
	}
}
