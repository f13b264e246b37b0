package balancer_test

import (
	"regexp"
	"testing"

	"gatehouse.dev/dataplane/internal/balancer"
)

// fakeRequest is a request view for HashValue.
type fakeRequest struct {
	consumer, credential, ip, path string
	headers, cookies, captures     map[string]string
	query                          map[string][]string
	calls                          int
}

func (r *fakeRequest) ConsumerID() string   { r.calls++; return r.consumer }
func (r *fakeRequest) CredentialID() string { r.calls++; return r.credential }
func (r *fakeRequest) ClientIP() string     { r.calls++; return r.ip }
func (r *fakeRequest) Path() string         { r.calls++; return r.path }

func (r *fakeRequest) Header(name string) (string, bool) {
	r.calls++
	v, ok := r.headers[name]
	return v, ok
}

func (r *fakeRequest) Cookie(name string) (string, bool) {
	r.calls++
	v, ok := r.cookies[name]
	return v, ok
}

func (r *fakeRequest) QueryArg(name string) ([]string, bool) {
	r.calls++
	v, ok := r.query[name]
	return v, ok
}

func (r *fakeRequest) URICapture(name string) (string, bool) {
	r.calls++
	v, ok := r.captures[name]
	return v, ok
}

func TestHashValue(t *testing.T) {
	t.Parallel()
	full := &fakeRequest{
		consumer: "c-1", credential: "cred-1", ip: "192.0.2.1", path: "/users/7",
		headers:  map[string]string{"x-user": "alice", "x-empty": ""},
		cookies:  map[string]string{"session": "s-1"},
		captures: map[string]string{"id": "7", "1": "seven"},
		query:    map[string][]string{"tenant": {"b", "a", "c"}, "one": {"x"}, "flag": {"true"}},
	}
	tests := []struct {
		name   string
		fields map[string]any
		req    *fakeRequest
		want   string
	}{
		{"none", map[string]any{}, full, ""},
		{"consumer", map[string]any{"hash_on": "consumer"}, full, "c-1"},
		{"credential when no consumer", map[string]any{"hash_on": "consumer"}, &fakeRequest{credential: "cred-9"}, "cred-9"},
		{"ip", map[string]any{"hash_on": "ip"}, full, "192.0.2.1"},
		{"header", map[string]any{"hash_on": "header", "hash_on_header": "X-User"}, full, "alice"},
		{"empty header is a value", map[string]any{"hash_on": "header", "hash_on_header": "x-empty", "hash_fallback": "ip"}, full, ""},
		{"cookie", map[string]any{"hash_on": "cookie", "hash_on_cookie": "session"}, full, "s-1"},
		{"path", map[string]any{"hash_on": "path"}, full, "/users/7"},
		{"query arg values sorted", map[string]any{"hash_on": "query_arg", "hash_on_query_arg": "tenant"}, full, "a,b,c"},
		{"query arg single", map[string]any{"hash_on": "query_arg", "hash_on_query_arg": "one"}, full, "x"},
		{"named capture", map[string]any{"hash_on": "uri_capture", "hash_on_uri_capture": "id"}, full, "7"},
		{"numbered capture", map[string]any{"hash_on": "uri_capture", "hash_on_uri_capture": "1"}, full, "seven"},
		{"fallback header", map[string]any{
			"hash_on": "consumer", "hash_fallback": "header", "hash_fallback_header": "x-user",
		}, &fakeRequest{headers: map[string]string{"x-user": "bob"}}, "bob"},
		{"fallback to ip", map[string]any{
			"hash_on": "header", "hash_on_header": "x-missing", "hash_fallback": "ip",
		}, full, "192.0.2.1"},
		{"fallback query arg", map[string]any{
			"hash_on": "query_arg", "hash_on_query_arg": "nope", "hash_fallback": "query_arg", "hash_fallback_query_arg": "one",
		}, full, "x"},
		{"fallback capture", map[string]any{
			"hash_on": "uri_capture", "hash_on_uri_capture": "nope", "hash_fallback": "uri_capture", "hash_fallback_uri_capture": "id",
		}, full, "7"},
		{"neither yields", map[string]any{
			"hash_on": "header", "hash_on_header": "x-a", "hash_fallback": "header", "hash_fallback_header": "x-b",
		}, &fakeRequest{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, balancer.Options{})
			u := upstream(t, tt.fields)
			b := update(t, m, []map[string]any{u}).Balancer("backend.test")
			req := *tt.req
			got, cookie := b.HashValue(&req)
			if got != tt.want || cookie != "" {
				t.Fatalf("HashValue = %q (cookie %q), want %q", got, cookie, tt.want)
			}
		})
	}

	t.Run("no hashing reads nothing", func(t *testing.T) {
		t.Parallel()
		m := newManager(t, balancer.Options{})
		b := update(t, m, []map[string]any{upstream(t, nil)}).Balancer("backend.test")
		req := *full
		b.HashValue(&req)
		if req.calls != 0 {
			t.Fatalf("HashValue called %d accessors for hash_on none", req.calls)
		}
	})
}

func TestHashValueSetsCookie(t *testing.T) {
	t.Parallel()
	m := newManager(t, balancer.Options{})
	u := upstream(t, map[string]any{"hash_on": "cookie", "hash_on_cookie": "lb", "hash_on_cookie_path": "/app"})
	b := update(t, m, []map[string]any{u}).Balancer("backend.test")
	value, cookie := b.HashValue(&fakeRequest{})
	re := regexp.MustCompile(`^lb=([0-9a-f-]{36}); Path=/app; Same-Site=Lax; HttpOnly$`)
	match := re.FindStringSubmatch(cookie)
	if match == nil || match[1] != value {
		t.Fatalf("value %q, Set-Cookie %q", value, cookie)
	}
	if other, _ := b.HashValue(&fakeRequest{}); other == value {
		t.Fatal("two requests without the cookie got the same value")
	}
}
