package keyauth_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/keyauth"
)

// The ids of the test entities (the credential ids are not secrets).
const (
	aliceID   = "0f6e1f3c-1b4b-4c3e-9a5b-3f9b1e2d4c5a"
	anonID    = "7c2b9e4d-5a61-4f0e-8d3c-2b1a0f9e8d7c"
	aliceCred = "2e4c6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c" //nolint:gosec // an entity id
	oldCred   = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a" //nolint:gosec // an entity id
	soonCred  = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" //nolint:gosec // an entity id
)

// now is the test clock: 2023-11-14T22:13:20Z.
var now = time.Unix(1700000000, 0)

func newEnv() *pdktest.Env {
	env := pdktest.NewEnv().AddConsumer(aliceID, "alice", "A-1").AddToGroup(aliceID, "gold").
		AddConsumer(anonID, "anonymous", "")
	cred := func(id, key string, expires any) map[string]any {
		c := map[string]any{"id": id, "key": key, "consumer": map[string]any{"id": aliceID}}
		if expires != nil {
			c["expires_at"] = expires
		}
		return c
	}
	env.Put("keyauth_credentials", cred(aliceCred, "secret", nil))
	env.Put("keyauth_credentials", cred(oldCred, "expired", json.Number("1699999999")))
	env.Put("keyauth_credentials", cred(soonCred, "valid-until", json.Number("1700000001")))
	env.SetNow(now)
	return env
}

func newPlugin(t *testing.T, env pdk.Env, config map[string]any) pdk.Accesser {
	t.Helper()
	inst, err := keyauth.Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": "key-auth", "config": config}))
	if err != nil {
		t.Fatal(err)
	}
	return inst.(pdk.Accesser)
}

// result is what a request came to.
type result struct {
	status          int    // 0 when it went on to the service
	message         string // the error body's message
	challenge       string // WWW-Authenticate
	consumer        string // the authenticated consumer's username
	credential      string // its credential's id
	upstreamHeaders map[string]string
}

func access(t *testing.T, p pdk.Accesser, ctx *pdktest.Context) result {
	t.Helper()
	if err := p.Access(ctx); err != nil {
		t.Fatalf("Access: %v", err)
	}
	var r result
	if e := ctx.ExitCall(); e != nil {
		r.status, r.message, r.challenge = e.Status, e.Message, e.Header.Get("WWW-Authenticate")
		if m, err := e.JSON(); err != nil || m["message"] != e.Message || m["request_id"] != ctx.RequestID() {
			t.Errorf("error body %s (%v)", e.Body, err)
		}
	}
	if c := ctx.Consumer(); c != nil {
		r.consumer = c.Username
	}
	if c := ctx.Credential(); c != nil {
		r.credential = c.ID
	}
	up := ctx.UpstreamRequest()
	r.upstreamHeaders = map[string]string{}
	for _, h := range []string{"X-Consumer-ID", "X-Consumer-Custom-ID", "X-Consumer-Username", "X-Credential-Identifier", "X-Anonymous-Consumer"} {
		if up.HasHeader(h) {
			r.upstreamHeaders[h] = up.Header(h)
		}
	}
	return r
}

var aliceHeaders = map[string]string{
	"X-Consumer-ID": aliceID, "X-Consumer-Custom-ID": "A-1", "X-Consumer-Username": "alice", "X-Credential-Identifier": aliceCred,
}

func TestKeyLookup(t *testing.T) {
	t.Parallel()
	env := newEnv()
	tests := []struct {
		name    string
		config  map[string]any
		ctx     *pdktest.Context
		status  int
		message string
	}{
		{"header", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", "secret"), 0, ""},
		{"query", nil, pdktest.NewContext("GET", "/?apikey=secret"), 0, ""},
		{"header name is case-insensitive", nil, pdktest.NewContext("GET", "/").WithHeader("APIKEY", "secret"), 0, ""},
		{
			"underscore name matches a hyphen header",
			map[string]any{"key_names": []any{"api_key"}},
			pdktest.NewContext("GET", "/").WithHeader("api-key", "secret"), 0, "",
		},
		{
			// Kong's headers["api_key"] reads Api-Key only; nginx drops
			// a header whose name has an underscore.
			"underscore name does not read an underscore header",
			map[string]any{"key_names": []any{"api_key"}},
			pdktest.NewContext("GET", "/").WithHeader("api_key", "secret"), 401, "No API key found in request",
		},
		{"no key", nil, pdktest.NewContext("GET", "/"), 401, "No API key found in request"},
		{"empty header", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", ""), 401, "No API key found in request"},
		{"empty query value", nil, pdktest.NewContext("GET", "/?apikey="), 401, "No API key found in request"},
		{"bare query name is not a key", nil, pdktest.NewContext("GET", "/?apikey"), 401, "No API key found in request"},
		{"unknown key", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", "nope"), 401, "Unauthorized"},
		{"expired key", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", "expired"), 401, "Unauthorized"},
		{"key before its expiry", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", "valid-until"), 0, ""},
		{
			"duplicate header", nil, pdktest.NewContext("GET", "/").WithHeader("apikey", "secret").WithHeader("apikey", "secret"),
			401, "Duplicate API key found",
		},
		{"duplicate query", nil, pdktest.NewContext("GET", "/?apikey=secret&apikey=secret"), 401, "Duplicate API key found"},
		{"header wins over query", nil, pdktest.NewContext("GET", "/?apikey=nope").WithHeader("apikey", "secret"), 0, ""},
		{
			"header only",
			map[string]any{"key_in_query": false},
			pdktest.NewContext("GET", "/?apikey=secret"),
			401, "No API key found in request",
		},
		{
			"query only",
			map[string]any{"key_in_header": false},
			pdktest.NewContext("GET", "/").WithHeader("apikey", "secret"),
			401, "No API key found in request",
		},
		{
			"key names in order",
			map[string]any{"key_names": []any{"first", "second"}},
			pdktest.NewContext("GET", "/?second=secret"), 0, "",
		},
		{
			"first key name decides",
			map[string]any{"key_names": []any{"first", "second"}},
			pdktest.NewContext("GET", "/?first=nope&second=secret"), 401, "Unauthorized",
		},
		{
			"body is not read unless configured", nil,
			form("apikey=secret"), 401, "No API key found in request",
		},
		{"form body", map[string]any{"key_in_body": true}, form("a=1&apikey=secret"), 0, ""},
		{"duplicate in form body", map[string]any{"key_in_body": true}, form("apikey=secret&apikey=x"), 401, "Duplicate API key found"},
		{"json body", map[string]any{"key_in_body": true}, jsonBody(`{"apikey":"secret"}`), 0, ""},
		{"json array is a duplicate", map[string]any{"key_in_body": true}, jsonBody(`{"apikey":["secret"]}`), 401, "Duplicate API key found"},
		{"json number is no key", map[string]any{"key_in_body": true}, jsonBody(`{"apikey":12}`), 401, "No API key found in request"},
		{"invalid json", map[string]any{"key_in_body": true}, jsonBody(`{"apikey":`), 401, "No API key found in request"},
		{"multipart body", map[string]any{"key_in_body": true}, multipart("apikey", "secret"), 0, ""},
		{
			"unreadable body",
			map[string]any{"key_in_body": true},
			form("apikey=secret").WithBodyError(http.ErrBodyReadAfterClose), 401, "No API key found in request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := access(t, newPlugin(t, env, tt.config), tt.ctx)
			if r.status != tt.status || r.message != tt.message {
				t.Fatalf("answer = %d %q, want %d %q", r.status, r.message, tt.status, tt.message)
			}
			if tt.status == 0 {
				if r.consumer != "alice" || len(r.upstreamHeaders) != 4 || r.upstreamHeaders["X-Consumer-ID"] != aliceID ||
					r.upstreamHeaders["X-Consumer-Custom-ID"] != "A-1" || r.upstreamHeaders["X-Consumer-Username"] != "alice" {
					t.Errorf("authenticated as %q with upstream headers %v", r.consumer, r.upstreamHeaders)
				}
				if !slices.Equal(tt.ctx.Consumer().Groups, []string{"gold"}) {
					t.Errorf("groups = %v", tt.ctx.Consumer().Groups)
				}
				return
			}
			if r.challenge != "Key" || r.consumer != "" || len(r.upstreamHeaders) != 0 {
				t.Errorf("challenge %q, consumer %q, upstream headers %v", r.challenge, r.consumer, r.upstreamHeaders)
			}
		})
	}
}

func form(body string) *pdktest.Context {
	return pdktest.NewContext("POST", "/").WithHeader("Content-Type", "application/x-www-form-urlencoded").WithBody([]byte(body))
}

func jsonBody(body string) *pdktest.Context {
	return pdktest.NewContext("POST", "/").WithHeader("Content-Type", "application/json; charset=utf-8").WithBody([]byte(body))
}

const boundary = "XyZ"

func multipart(name, value string) *pdktest.Context {
	body := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nkeep\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n" +
		"--" + boundary + "--\r\n"
	return pdktest.NewContext("POST", "/").WithHeader("Content-Type", "multipart/form-data; boundary="+boundary).WithBody([]byte(body))
}

func TestRealm(t *testing.T) {
	t.Parallel()
	env := newEnv()
	for _, ctx := range []*pdktest.Context{
		pdktest.NewContext("GET", "/"),
		pdktest.NewContext("GET", "/").WithHeader("apikey", "nope"),
		pdktest.NewContext("GET", "/?apikey=a&apikey=b"),
	} {
		r := access(t, newPlugin(t, env, map[string]any{"realm": "kong"}), ctx)
		if r.status != 401 || r.challenge != `Key realm="kong"` {
			t.Errorf("%s: %d with WWW-Authenticate %q", r.message, r.status, r.challenge)
		}
	}
}

// TestRealmIsNotEscaped: Kong formats 'Key realm="%s"' with the realm as
// configured.
func TestRealmIsNotEscaped(t *testing.T) {
	t.Parallel()
	r := access(t, newPlugin(t, newEnv(), map[string]any{"realm": `my "api" \ é`}), pdktest.NewContext("GET", "/"))
	if want := `Key realm="my "api" \ é"`; r.challenge != want {
		t.Errorf("WWW-Authenticate %q, want %q", r.challenge, want)
	}
}

// TestHideCredentialsUnderscoreName: with key name api_key the key is read
// from Api-Key, and that header does not go upstream.
func TestHideCredentialsUnderscoreName(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("GET", "/").WithHeader("api-key", "secret")
	r := access(t, newPlugin(t, newEnv(), map[string]any{"key_names": []any{"api_key"}, "hide_credentials": true}), ctx)
	if up := ctx.UpstreamRequest(); r.status != 0 || up.HasHeader("api-key") {
		t.Errorf("status %d, upstream headers %v", r.status, up.Headers())
	}
}

func TestSpoofedHeadersAreReplaced(t *testing.T) {
	t.Parallel()
	env := newEnv().AddConsumer("5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "", "C-only")
	env.Put("keyauth_credentials", map[string]any{
		"id": "6c5b4a3d-2e1f-4b0a-9d8c-7f6e5d4c3b2a", "key": "custom",
		"consumer": map[string]any{"id": "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"},
	})
	ctx := pdktest.NewContext("GET", "/").WithHeader("apikey", "custom").
		WithHeader("X-Consumer-Username", "admin").WithHeader("X-Anonymous-Consumer", "true")
	r := access(t, newPlugin(t, env, nil), ctx)
	if r.status != 0 || r.upstreamHeaders["X-Consumer-Custom-ID"] != "C-only" || len(r.upstreamHeaders) != 3 {
		t.Errorf("upstream headers %v", r.upstreamHeaders)
	}
}

func TestHideCredentials(t *testing.T) {
	t.Parallel()
	env := newEnv()
	tests := []struct {
		name                string
		config              map[string]any
		ctx                 *pdktest.Context
		query, body, header string
	}{
		{"header", nil, pdktest.NewContext("GET", "/?a=1").WithHeader("apikey", "secret"), "a=1", "", ""},
		{
			"query keeps the other arguments as written", nil,
			pdktest.NewContext("GET", "/?b=x%20y&apikey=secret&a"), "b=x%20y&a", "", "",
		},
		{"form body", map[string]any{"key_in_body": true}, form("z=1&apikey=secret&a=x+y"), "", "a=x%20y&z=1", ""},
		{
			"json body",
			map[string]any{"key_in_body": true},
			jsonBody(`{"n":1.50,"apikey":"secret","s":"<&>"}`),
			"", `{"n":1.50,"s":"<&>"}`, "",
		},
		{
			"multipart body",
			map[string]any{"key_in_body": true},
			multipart("apikey", "secret"), "",
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nkeep\r\n--" + boundary + "--\r\n", "",
		},
		{
			"body hidden when the key came in a header",
			map[string]any{"key_in_body": true},
			form("apikey=other&b=2").WithHeader("apikey", "secret"), "", "b=2", "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{"hide_credentials": true}
			maps.Copy(cfg, tt.config)
			r := access(t, newPlugin(t, env, cfg), tt.ctx)
			up := tt.ctx.UpstreamRequest()
			if r.status != 0 || up.HasHeader("apikey") || up.RawQuery() != tt.query || string(up.Body()) != tt.body {
				t.Errorf("status %d, upstream apikey %q, query %q, body %q", r.status, up.Header("apikey"), up.RawQuery(), up.Body())
			}
		})
	}
	ctx := pdktest.NewContext("GET", "/?apikey=secret").WithHeader("apikey", "secret")
	access(t, newPlugin(t, env, nil), ctx)
	if up := ctx.UpstreamRequest(); up.Header("apikey") != "secret" || up.RawQuery() != "apikey=secret" {
		t.Errorf("credentials hidden without hide_credentials: %v %q", up.Headers(), up.RawQuery())
	}
}

func TestAnonymous(t *testing.T) {
	t.Parallel()
	env := newEnv()
	anonHeaders := map[string]string{"X-Consumer-ID": anonID, "X-Consumer-Username": "anonymous", "X-Anonymous-Consumer": "true"}
	tests := []struct {
		name, anonymous string
		ctx             *pdktest.Context
		status          int
		message         string
		consumer        string
		headers         map[string]string
	}{
		{"by id", anonID, pdktest.NewContext("GET", "/"), 0, "", "anonymous", anonHeaders},
		{"by username", "anonymous", pdktest.NewContext("GET", "/").WithHeader("apikey", "nope"), 0, "", "anonymous", anonHeaders},
		{"valid key", anonID, pdktest.NewContext("GET", "/").WithHeader("apikey", "secret"), 0, "", "alice", aliceHeaders},
		{
			"missing", "ghost", pdktest.NewContext("GET", "/"), 500,
			"anonymous consumer ghost is configured but doesn't exist", "",
			map[string]string{},
		},
		{"already authenticated", anonID, pdktest.NewContext("GET", "/").
			WithConsumer(&pdk.Consumer{ID: "earlier", Username: "bob"}, &pdk.Credential{ID: "c"}), 0, "", "bob", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := access(t, newPlugin(t, env, map[string]any{"anonymous": tt.anonymous}), tt.ctx)
			if r.status != tt.status || r.message != tt.message || r.consumer != tt.consumer || !equal(r.upstreamHeaders, tt.headers) {
				t.Errorf("got %d %q as %q with %v", r.status, r.message, r.consumer, r.upstreamHeaders)
			}
			if tt.consumer == "anonymous" && r.credential != "" {
				t.Errorf("anonymous consumer has credential %q", r.credential)
			}
		})
	}
	// Without anonymous, an earlier credential does not suffice (logical
	// AND).
	ctx := pdktest.NewContext("GET", "/").WithConsumer(&pdk.Consumer{ID: "earlier"}, &pdk.Credential{ID: "c"})
	if r := access(t, newPlugin(t, env, nil), ctx); r.status != 401 {
		t.Errorf("logical AND: status %d", r.status)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	env := newEnv()
	if r := access(t, newPlugin(t, env, map[string]any{"run_on_preflight": false}), pdktest.NewContext("OPTIONS", "/")); r.status != 0 {
		t.Errorf("preflight skipped: status %d", r.status)
	}
	if r := access(t, newPlugin(t, env, nil), pdktest.NewContext("OPTIONS", "/")); r.status != 401 {
		t.Errorf("preflight authenticated by default: status %d", r.status)
	}
}

func TestCredentialTableIsBuiltOnce(t *testing.T) {
	t.Parallel()
	env := newEnv()
	for range 3 {
		newPlugin(t, env, nil)
	}
	if n := env.IndexBuilds("key-auth:credentials"); n != 1 {
		t.Errorf("credential table built %d times", n)
	}
}

func TestExpiryFollowsTheClock(t *testing.T) {
	t.Parallel()
	env := newEnv()
	p := newPlugin(t, env, nil)
	if r := access(t, p, pdktest.NewContext("GET", "/").WithHeader("apikey", "valid-until")); r.status != 0 {
		t.Fatalf("status %d before expiry", r.status)
	}
	env.SetNow(now.Add(time.Second))
	if r := access(t, p, pdktest.NewContext("GET", "/").WithHeader("apikey", "valid-until")); r.status != 401 || r.message != "Unauthorized" {
		t.Errorf("at expiry: %d %q", r.status, r.message)
	}
}

// BenchmarkAccess authenticates a key in a header.
func BenchmarkAccess(b *testing.B) {
	env := newEnv()
	for i := range 10000 {
		env.Put("keyauth_credentials", map[string]any{
			"id":  strings.Repeat("0", 8) + "-0000-4000-8000-" + strings.Repeat("0", 12-len(strconv.Itoa(i))) + strconv.Itoa(i),
			"key": "key-" + strconv.Itoa(i), "consumer": map[string]any{"id": aliceID},
		})
	}
	inst, err := keyauth.Factory{}.New(pdktest.NewConfig(b, env, map[string]any{"name": "key-auth"}))
	if err != nil {
		b.Fatal(err)
	}
	p := inst.(pdk.Accesser)
	ctx := pdktest.NewContext("GET", "/").WithHeader("apikey", "key-4242")
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Access(ctx); err != nil || ctx.Exited() {
			b.Fatal("not authenticated")
		}
	}
}
