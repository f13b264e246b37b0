package iprestriction_test

import (
	"strconv"
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/iprestriction"
)

func newInstance(tb testing.TB, config map[string]any) pdk.Accesser {
	tb.Helper()
	env := pdktest.NewEnv()
	in, err := iprestriction.Factory{}.New(pdktest.NewConfig(tb, env, map[string]any{"name": "ip-restriction", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(pdk.Accesser)
}

func TestAllowAndDeny(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]any
		client  string
		allowed bool
	}{
		{"allow single v4", map[string]any{"allow": []any{"10.0.0.1"}}, "10.0.0.1", true},
		{"allow single v4 other", map[string]any{"allow": []any{"10.0.0.1"}}, "10.0.0.2", false},
		{"allow cidr v4", map[string]any{"allow": []any{"10.1.0.0/16"}}, "10.1.200.3", true},
		{"allow cidr v4 outside", map[string]any{"allow": []any{"10.1.0.0/16"}}, "10.2.0.1", false},
		{"allow cidr host bits ignored", map[string]any{"allow": []any{"10.1.2.3/8"}}, "10.200.0.1", true},
		{"allow /0", map[string]any{"allow": []any{"0.0.0.0/0"}}, "203.0.113.9", true},
		{"allow v6", map[string]any{"allow": []any{"2001:db8::/32"}}, "2001:db8:1::5", true},
		{"allow v6 outside", map[string]any{"allow": []any{"2001:db8::/32"}}, "2001:db9::5", false},
		{"allow v6 single", map[string]any{"allow": []any{"::1"}}, "::1", true},
		{"v4 client against v6 list", map[string]any{"allow": []any{"::/0"}}, "10.0.0.1", false},
		{"v4-mapped client matches v4", map[string]any{"allow": []any{"10.0.0.0/8"}}, "::ffff:10.0.0.1", true},
		{"deny single", map[string]any{"deny": []any{"10.0.0.1"}}, "10.0.0.1", false},
		{"deny other passes", map[string]any{"deny": []any{"10.0.0.1"}}, "10.0.0.2", true},
		{"deny wins over allow", map[string]any{"allow": []any{"10.0.0.0/8"}, "deny": []any{"10.0.0.0/24"}}, "10.0.0.7", false},
		{"allow after deny miss", map[string]any{"allow": []any{"10.0.0.0/8"}, "deny": []any{"10.0.0.0/24"}}, "10.9.0.7", true},
		{"mixed lengths", map[string]any{"allow": []any{"192.168.1.1", "172.16.0.0/12", "10.0.0.0/8", "2001:db8::1"}}, "172.31.255.255", true},
		{"mixed lengths miss", map[string]any{"allow": []any{"192.168.1.1", "172.16.0.0/12", "10.0.0.0/8", "2001:db8::1"}}, "172.32.0.0", false},
		{"empty deny with allow", map[string]any{"allow": []any{"10.0.0.1"}, "deny": []any{}}, "10.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/").WithClientIP(tt.client)
			if err := in.Access(ctx); err != nil {
				t.Fatal(err)
			}
			if ctx.Exited() == tt.allowed {
				t.Errorf("client %s: exited = %v, want allowed %v", tt.client, ctx.Exited(), tt.allowed)
			}
		})
	}
}

func TestRefusalIsKongs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]any
		accept  string
		status  int
		message string
	}{
		{"default", map[string]any{"deny": []any{"10.0.0.1"}}, "", 403, "IP address not allowed: 10.0.0.1"},
		{"custom status and message", map[string]any{"deny": []any{"10.0.0.1"}, "status": 401, "message": "go away"}, "", 401, "go away"},
		{"custom status", map[string]any{"allow": []any{"10.9.9.9"}, "status": 451}, "", 451, "IP address not allowed: 10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, tt.config)
			ctx := pdktest.NewContext("GET", "/").WithClientIP("10.0.0.1")
			if err := in.Access(ctx); err != nil {
				t.Fatal(err)
			}
			e := ctx.ExitCall()
			if e == nil || !e.IsError || e.Status != tt.status || e.Message != tt.message {
				t.Fatalf("exit = %+v, want Error(%d, %q)", e, tt.status, tt.message)
			}
			body, err := e.JSON()
			if err != nil || body["message"] != tt.message || body["request_id"] != pdktest.DefaultRequestID {
				t.Errorf("body = %s (%v)", e.Body, err)
			}
			if ctx.ExitCount() != 1 {
				t.Errorf("exits = %d, want 1", ctx.ExitCount())
			}
		})
	}
}

func TestClientAddressIsTheRealIP(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"allow": []any{"198.51.100.7"}})
	// The TCP peer is a trusted proxy; the client address the proxy
	// worked out is what counts.
	ctx := pdktest.NewContext("GET", "/").WithClientIP("198.51.100.7").WithRemoteIP("10.0.0.2")
	if err := in.Access(ctx); err != nil || ctx.Exited() {
		t.Fatalf("real client refused: %v %+v", err, ctx.ExitCall())
	}
	ctx = pdktest.NewContext("GET", "/").WithClientIP("10.0.0.2").WithRemoteIP("198.51.100.7")
	if err := in.Access(ctx); err != nil || !ctx.Exited() {
		t.Fatalf("peer address used instead of the client's: %v", err)
	}
}

func TestUnixSocketClient(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"allow": []any{"10.0.0.1"}})
	ctx := pdktest.NewContext("GET", "/").WithClientIP("unix:")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	e := ctx.ExitCall()
	if e == nil || e.Status != 403 || e.Message != "Cannot identify the client IP address, unix domain sockets are not supported." {
		t.Errorf("exit = %+v", e)
	}
}

func BenchmarkAccess(b *testing.B) {
	lists := map[string][]any{
		"small": {"10.0.0.0/8", "192.168.0.1"},
		"large": func() []any {
			var l []any
			for i := range 250 {
				l = append(l, "10."+strconv.Itoa(i)+".0.0/16", "172.16."+strconv.Itoa(i)+".1")
			}
			return append(l, "2001:db8::/32")
		}(),
	}
	for name, list := range lists {
		b.Run(name, func(b *testing.B) {
			in := newInstance(b, map[string]any{"allow": list})
			ctx := pdktest.NewContext("GET", "/").WithClientIP("10.200.3.4")
			b.ReportAllocs()
			for b.Loop() {
				if err := in.Access(ctx); err != nil || ctx.Exited() {
					b.Fatal("refused")
				}
			}
		})
	}
}
