package pdktest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
)

func TestRequestReadsLikeKong(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("get", "https://api.example.com/a%20b?k=1&k=2&bare&empty=&sp=a+b").
		WithHeader("X-One", "1").WithHeader("x-one", "2").WithHeader("B", "b")
	r := ctx.Request()
	if r.Method() != "GET" || r.Scheme() != "https" || r.Host() != "api.example.com" || r.Port() != 443 || r.Path() != "/a b" {
		t.Errorf("request = %s %s %s %d %s", r.Method(), r.Scheme(), r.Host(), r.Port(), r.Path())
	}
	tests := []struct {
		name string
		want []string
	}{
		{"k", []string{"1", "2"}},
		{"bare", []string{"true"}},
		{"empty", []string{""}},
		{"sp", []string{"a b"}},
		{"none", nil},
	}
	for _, tt := range tests {
		if got := r.QueryValues(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("QueryValues(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if v, ok := r.Query("k"); v != "1" || !ok {
		t.Errorf("Query(k) = %q %v", v, ok)
	}
	if got := r.HeaderValues("X-ONE"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("HeaderValues = %q", got)
	}
	var order []string
	r.Headers(func(name, _ string) bool { order = append(order, name); return true })
	if !slices.Equal(order, []string{"X-One", "x-one", "B"}) {
		t.Errorf("Headers order = %q", order)
	}
}

func TestUpstreamRecordsChanges(t *testing.T) {
	t.Parallel()
	ctx := pdktest.NewContext("POST", "/p?q=1").WithHeader("A", "1").WithBody([]byte("x"))
	up := ctx.Upstream()
	up.SetHeader("B", "2")
	up.DelHeader("A")
	up.SetRawQuery("")
	up.SetBody([]byte("y"))
	u := ctx.UpstreamRequest()
	if u.HasHeader("A") || u.Header("B") != "2" || u.RawQuery() != "" || string(u.Body()) != "y" || !u.BodySet() {
		t.Errorf("upstream = %v %q %q %v", u.Headers(), u.RawQuery(), u.Body(), u.BodySet())
	}
	if ctx.Request().Header("A") != "1" || ctx.Request().RawQuery() != "q=1" {
		t.Error("the client request changed with the upstream one")
	}
}

func TestExitAndErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, accept, message, wantType, wantBody string
		status                                    int
	}{
		{
			"json default", "", "Unauthorized", "application/json; charset=utf-8",
			"{\n  \"message\":\"Unauthorized\",\n  \"request_id\":\"" + pdktest.DefaultRequestID + "\"\n}", 401,
		},
		{
			"default message", "", "", "application/json; charset=utf-8",
			"{\n  \"message\":\"Forbidden\",\n  \"request_id\":\"" + pdktest.DefaultRequestID + "\"\n}", 403,
		},
		{"plain", "text/plain", "No", "text/plain; charset=utf-8", "No\nrequest_id: " + pdktest.DefaultRequestID + "\n", 401},
		{
			"quality", "text/html;q=0.5, application/xml", "No", "application/xml; charset=utf-8",
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>No</message>\n  <requestid>" + pdktest.DefaultRequestID + "</requestid>\n</error>\n", 401,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			if tt.accept != "" {
				ctx.WithHeader("Accept", tt.accept)
			}
			ctx.Error(tt.status, tt.message, map[string]string{"WWW-Authenticate": "Key"})
			e := ctx.ExitCall()
			if !ctx.Exited() || e.Status != tt.status || string(e.Body) != tt.wantBody || e.Header.Get("Content-Type") != tt.wantType ||
				e.Header.Get("WWW-Authenticate") != "Key" {
				t.Errorf("exit = %d %q %v", e.Status, e.Body, e.Header)
			}
			if r := ctx.ClientResponse(); r.Status() != tt.status || r.FromUpstream() || r.Header("WWW-Authenticate") != "Key" {
				t.Errorf("response = %d %v", r.Status(), r.Headers())
			}
		})
	}
	ctx := pdktest.NewContext("GET", "/")
	ctx.Exit(429, map[string]any{"message": "API rate limit exceeded"}, nil)
	if m, err := ctx.ExitCall().JSON(); err != nil || m["message"] != "API rate limit exceeded" ||
		ctx.ExitCall().Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("exit JSON = %v %v", m, err)
	}
}

func TestEnvConsumersAndIndex(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv().AddConsumer("c1", "alice", "A").AddToGroup("c1", "zeta").AddToGroup("c1", "alpha")
	for _, key := range []string{"c1", "alice"} {
		c, ok := env.Consumer(key)
		if !ok || c.ID != "c1" || c.Username != "alice" || c.CustomID != "A" || !slices.Equal(c.Groups, []string{"alpha", "zeta"}) {
			t.Errorf("Consumer(%s) = %+v %v", key, c, ok)
		}
	}
	if _, ok := env.Consumer("bob"); ok {
		t.Error("found a missing consumer")
	}
	for range 3 {
		if env.Index("k", func() any { return 7 }) != 7 {
			t.Error("index value")
		}
	}
	if env.IndexBuilds("k") != 1 {
		t.Errorf("built %d times", env.IndexBuilds("k"))
	}
}

func TestNewConfigFillsDefaults(t *testing.T) {
	t.Parallel()
	env := pdktest.NewEnv()
	cfg := pdktest.NewConfig(t, env, map[string]any{
		"name": "rate-limiting", "config": map[string]any{"minute": 5},
		"route": map[string]any{"id": "6ba7b811-9dad-11d1-80b4-00c04fd430c8"},
	})
	if cfg.Name != "rate-limiting" || cfg.RouteID != "6ba7b811-9dad-11d1-80b4-00c04fd430c8" || cfg.Env != pdk.Env(env) {
		t.Errorf("config = %+v", cfg)
	}
	if n, ok := cfg.Config["minute"].(json.Number); !ok || n != "5" {
		t.Errorf("minute = %#v", cfg.Config["minute"])
	}
	if cfg.Config["policy"] != "local" {
		t.Errorf("policy default = %v", cfg.Config["policy"])
	}
}
