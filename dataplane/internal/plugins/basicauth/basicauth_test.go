package basicauth_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/basicauth"
	"gatehouse.dev/shared/entity"
)

const (
	bobID   = "0f6e1f3c-1b4b-4c3e-9a5b-3f9b1e2d4c5a"
	anonID  = "7c2b9e4d-5a61-4f0e-8d3c-2b1a0f9e8d7c"
	bobCred = "2e4c6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c" //nolint:gosec // an entity id
	colonID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
)

func newEnv() *pdktest.Env {
	env := pdktest.NewEnv().AddConsumer(bobID, "bob", "B-1").AddConsumer(anonID, "no-body", "")
	cred := func(id, username, password string) map[string]any {
		return map[string]any{
			"id": id, "username": username, "password": entity.HashBasicAuthPassword(bobID, password),
			"consumer": map[string]any{"id": bobID},
		}
	}
	env.Put(entity.BasicAuthCredentials, cred(bobCred, "bob", "kong"))
	env.Put(entity.BasicAuthCredentials, cred(colonID, "user321", "password:123"))
	return env
}

func newPlugin(t *testing.T, env pdk.Env, config map[string]any) pdk.Accesser {
	t.Helper()
	inst, err := basicauth.Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": "basic-auth", "config": config}))
	if err != nil {
		t.Fatal(err)
	}
	return inst.(pdk.Accesser)
}

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	env := newEnv()
	// username is the X-Credential-Identifier upstream: Kong's basic-auth
	// sends the credential's username there, not its id.
	tests := []struct {
		name, header, value string
		ok                  bool
		username            string
	}{
		{"authorization", "Authorization", "Basic Ym9iOmtvbmc=", true, "bob"},
		{"proxy-authorization", "Proxy-Authorization", "Basic Ym9iOmtvbmc=", true, "bob"},
		{"lower-case scheme", "Authorization", "basic Ym9iOmtvbmc=", true, "bob"},
		{"no space", "Authorization", "BasicYm9iOmtvbmc=", true, "bob"},
		{"unpadded", "Authorization", "Basic Ym9iOmtvbmc", true, "bob"},
		{"password with a colon", "Authorization", basic("user321:password:123"), true, "user321"},
		{"missing", "", "", false, ""},
		{"empty header", "Authorization", "", false, ""},
		{"not basic", "Authorization", "foobar", false, ""},
		{"password only", "Authorization", "Basic a29uZw==", false, ""},
		{"username only", "Authorization", "Basic Ym9i", false, ""},
		{"invalid base64", "Authorization", "Basic adXNlcjEyMzpwYXNzd29yZDEyMw==", false, ""},
		{"wrong password", "Authorization", basic("bob:nope"), false, ""},
		{"unknown user", "Authorization", basic("eve:kong"), false, ""},
		{"upper-case scheme", "Authorization", "BASIC Ym9iOmtvbmc=", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			if tt.header != "" {
				ctx.WithHeader(tt.header, tt.value)
			}
			if err := newPlugin(t, env, nil).Access(ctx); err != nil {
				t.Fatal(err)
			}
			up := ctx.UpstreamRequest()
			if tt.ok {
				if ctx.Exited() || ctx.Consumer() == nil || ctx.Consumer().ID != bobID || up.Header("X-Consumer-Username") != "bob" ||
					up.Header("X-Consumer-ID") != bobID || up.Header("X-Consumer-Custom-ID") != "B-1" || up.Header("X-Credential-Identifier") != tt.username ||
					up.HasHeader("X-Anonymous-Consumer") {
					t.Errorf("not authenticated: exit %v, upstream %v", ctx.ExitCall(), up.Headers())
				}
				return
			}
			e := ctx.ExitCall()
			if e == nil || e.Status != 401 || e.Message != "Unauthorized" || e.Header.Get("WWW-Authenticate") != `Basic realm="service"` {
				t.Fatalf("answer = %+v", e)
			}
			if m, err := e.JSON(); err != nil || m["message"] != "Unauthorized" {
				t.Errorf("body %s", e.Body)
			}
		})
	}
}

func TestProxyAuthorizationComesFirst(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("GET", "/").WithHeader("Proxy-Authorization", basic("bob:kong")).
		WithHeader("Authorization", basic("eve:nope"))
	if err := newPlugin(t, newEnv(), nil).Access(ctx); err != nil || ctx.Exited() {
		t.Fatalf("exit %v err %v", ctx.ExitCall(), err)
	}
	// An unknown Proxy-Authorization user falls back to Authorization.
	ctx = pdktest.NewContext("GET", "/").WithHeader("Proxy-Authorization", basic("eve:kong")).
		WithHeader("Authorization", basic("bob:kong"))
	if err := newPlugin(t, newEnv(), nil).Access(ctx); err != nil || ctx.Exited() {
		t.Fatalf("fallback: exit %v err %v", ctx.ExitCall(), err)
	}
}

func TestRealm(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("GET", "/")
	if err := newPlugin(t, newEnv(), map[string]any{"realm": "kong"}).Access(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ctx.ExitCall().Header.Get("WWW-Authenticate"); got != `Basic realm="kong"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
}

func TestHideCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		hide          bool
		headers       [][2]string
		authorization bool // Authorization still goes upstream
		proxyAuth     bool
	}{
		{"shown", false, [][2]string{{"Authorization", basic("bob:kong")}}, true, false},
		{"hidden", true, [][2]string{{"Authorization", basic("bob:kong")}}, false, false},
		// Kong removes each header it reads: Authorization stays when
		// Proxy-Authorization authenticated.
		{"proxy", true, [][2]string{{"Proxy-Authorization", basic("bob:kong")}, {"Authorization", "Bearer x"}}, true, false},
		{"both read", true, [][2]string{{"Proxy-Authorization", basic("eve:x")}, {"Authorization", basic("bob:kong")}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			for _, h := range tt.headers {
				ctx.WithHeader(h[0], h[1])
			}
			if err := newPlugin(t, newEnv(), map[string]any{"hide_credentials": tt.hide}).Access(ctx); err != nil || ctx.Exited() {
				t.Fatalf("exit %v err %v", ctx.ExitCall(), err)
			}
			up := ctx.UpstreamRequest()
			if up.HasHeader("Authorization") != tt.authorization || up.HasHeader("Proxy-Authorization") != tt.proxyAuth {
				t.Errorf("upstream headers %v", up.Headers())
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, anonymous, authorization string
		status                         int
		message, consumer              string
	}{
		{"by id", anonID, "", 0, "", "no-body"},
		{"by username", "no-body", basic("bob:wrong"), 0, "", "no-body"},
		{"right credentials", anonID, basic("bob:kong"), 0, "", "bob"},
		{"missing", "ghost", "", 500, "anonymous consumer ghost is configured but doesn't exist", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			if tt.authorization != "" {
				ctx.WithHeader("Authorization", tt.authorization)
			}
			if err := newPlugin(t, newEnv(), map[string]any{"anonymous": tt.anonymous}).Access(ctx); err != nil {
				t.Fatal(err)
			}
			var status int
			var message, consumer string
			if e := ctx.ExitCall(); e != nil {
				status, message = e.Status, e.Message
			}
			if c := ctx.Consumer(); c != nil {
				consumer = c.Username
			}
			if status != tt.status || message != tt.message || consumer != tt.consumer {
				t.Errorf("got %d %q as %q", status, message, consumer)
			}
			anonymous := ctx.UpstreamRequest().Header("X-Anonymous-Consumer")
			if (consumer == "no-body") != (anonymous == "true") || consumer == "no-body" && ctx.Credential() != nil {
				t.Errorf("X-Anonymous-Consumer %q, credential %v", anonymous, ctx.Credential())
			}
		})
	}
	// Logical OR: an earlier credential suffices.
	ctx := pdktest.NewContext("GET", "/").WithConsumer(&pdk.Consumer{ID: "earlier"}, &pdk.Credential{ID: "c"})
	if err := newPlugin(t, newEnv(), map[string]any{"anonymous": anonID}).Access(ctx); err != nil || ctx.Exited() ||
		ctx.Consumer().ID != "earlier" {
		t.Errorf("logical OR: exit %v, consumer %v", ctx.ExitCall(), ctx.Consumer())
	}
}

// reference is Kong's parsing written with regular expressions, as
// access.lua has it.
var (
	refHeader = regexp.MustCompile(`[ \t\n\v\f\r]*[Bb]asic[ \t\n\v\f\r]*(.+)`)
	refParts  = regexp.MustCompile(`([^:]+):(.*)`)
)

func reference(h string) (string, string, bool) {
	m := refHeader.FindStringSubmatch(h)
	if m == nil {
		return "", "", false
	}
	s := m[1]
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	if len(s)%4 == 1 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != "" {
		return "", "", false
	}
	d, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return "", "", false
	}
	p := refParts.FindStringSubmatch(string(d))
	if p == nil {
		return "", "", false
	}
	return p[1], p[2], true
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Basic Ym9iOmtvbmc=", "basic  Og==", "xBasic Ym9i", "Basic ", "Basic \t", "Basic OjphOmI=", "Basic Ym9iOgprb25n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		u, p, ok := basicauth.Parse(h)
		ru, rp, rok := reference(h)
		if u != ru || p != rp || ok != rok {
			t.Errorf("Parse(%q) = %q %q %v, reference %q %q %v", h, u, p, ok, ru, rp, rok)
		}
	})
}

// BenchmarkAccess authenticates a username and password.
func BenchmarkAccess(b *testing.B) {
	env := newEnv()
	inst, err := basicauth.Factory{}.New(pdktest.NewConfig(b, env, map[string]any{"name": "basic-auth"}))
	if err != nil {
		b.Fatal(err)
	}
	p := inst.(pdk.Accesser)
	ctx := pdktest.NewContext("GET", "/").WithHeader("Authorization", basic("bob:kong"))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Access(ctx); err != nil || ctx.Exited() {
			b.Fatal("not authenticated")
		}
	}
}
