package acl_test

import (
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/acl"
	"gatehouse.dev/shared/entity"
)

const (
	aliceID = "0f6e1f3c-1b4b-4c3e-9a5b-3f9b1e2d4c5a"
	bobID   = "7c2b9e4d-5a61-4f0e-8d3c-2b1a0f9e8d7c"
	carolID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
)

// newEnv: alice has the acls "admin" and "dev" and is in the consumer
// group "gold"; bob has no acl and is in "silver"; carol has "dev".
func newEnv() *pdktest.Env {
	env := pdktest.NewEnv().AddConsumer(aliceID, "alice", "").AddConsumer(bobID, "bob", "").AddConsumer(carolID, "carol", "").
		AddToGroup(aliceID, "gold").AddToGroup(bobID, "silver")
	for id, a := range map[string][2]string{
		"a0000000-0000-4000-8000-000000000002": {aliceID, "dev"},
		"a0000000-0000-4000-8000-000000000001": {aliceID, "admin"},
		"a0000000-0000-4000-8000-000000000003": {carolID, "dev"},
	} {
		env.Put(entity.ACLs, map[string]any{"id": id, "consumer": map[string]any{"id": a[0]}, "group": a[1]})
	}
	return env
}

func newPlugin(t *testing.T, env pdk.Env, config map[string]any) pdk.Accesser {
	t.Helper()
	inst, err := acl.Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": "acl", "config": config}))
	if err != nil {
		t.Fatal(err)
	}
	return inst.(pdk.Accesser)
}

func as(consumerID string, credential bool) *pdktest.Context {
	ctx := pdktest.NewContext("GET", "/")
	if consumerID == "" {
		return ctx
	}
	c := &pdk.Consumer{ID: consumerID}
	var cred *pdk.Credential
	if credential {
		cred = &pdk.Credential{ID: "cred-" + consumerID, ConsumerID: consumerID}
	}
	return ctx.WithConsumer(c, cred)
}

func TestAllowAndDeny(t *testing.T) {
	t.Parallel()
	env := newEnv()
	allow := func(groups ...any) map[string]any { return map[string]any{"allow": groups} }
	deny := func(groups ...any) map[string]any { return map[string]any{"deny": groups} }
	withCG := func(m map[string]any) map[string]any { m["include_consumer_groups"] = true; return m }
	tests := []struct {
		name    string
		config  map[string]any
		ctx     *pdktest.Context
		status  int
		message string
		header  string // X-Consumer-Groups when allowed
	}{
		{"allowed", allow("admin"), as(aliceID, true), 0, "", "admin, dev"},
		{"allowed by another group", allow("ops", "dev"), as(carolID, true), 0, "", "dev"},
		{"not allowed", allow("admin"), as(carolID, true), 403, "You cannot consume this service", ""},
		{"no acl", allow("admin"), as(bobID, true), 403, "You cannot consume this service", ""},
		{"denied", deny("dev"), as(carolID, true), 403, "You cannot consume this service", ""},
		{"not denied", deny("admin"), as(carolID, true), 0, "", "dev"},
		{"no acl is not denied", deny("admin"), as(bobID, true), 0, "", ""},
		{"no acl removes the client's groups header", deny("admin"), as(bobID, true).WithHeader("X-Consumer-Groups", "admin"), 0, "", ""},
		{"consumer groups ignored by default", allow("gold"), as(aliceID, true), 403, "You cannot consume this service", ""},
		{"consumer groups included", withCG(allow("gold")), as(aliceID, true), 0, "", "admin, dev, gold"},
		{"consumer group alone", withCG(allow("silver")), as(bobID, true), 0, "", "silver"},
		{"consumer group denied", withCG(deny("silver")), as(bobID, true), 403, "You cannot consume this service", ""},
		{"anonymous consumer has its groups", allow("dev"), as(carolID, false), 0, "", "dev"},
		{"no consumer", allow("admin"), as("", false), 401, "Unauthorized", ""},
		{
			"credential without consumer", allow("admin"),
			pdktest.NewContext("GET", "/").WithConsumer(nil, &pdk.Credential{ID: "x"}), 403, "You cannot consume this service", "",
		},
		{
			"credential names the consumer", allow("admin"),
			pdktest.NewContext("GET", "/").WithConsumer(nil, &pdk.Credential{ID: "x", ConsumerID: aliceID}), 0, "", "admin, dev",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := newPlugin(t, env, tt.config).Access(tt.ctx); err != nil {
				t.Fatal(err)
			}
			up := tt.ctx.UpstreamRequest()
			if e := tt.ctx.ExitCall(); e != nil {
				if e.Status != tt.status || e.Message != tt.message {
					t.Errorf("answer %d %q, want %d %q", e.Status, e.Message, tt.status, tt.message)
				}
				if m, err := e.JSON(); err != nil || m["message"] != tt.message {
					t.Errorf("body %s", e.Body)
				}
				return
			}
			if tt.status != 0 {
				t.Fatalf("allowed, want %d", tt.status)
			}
			// No group sends no header: Kong's set_header with "" removes it.
			if up.HasHeader("X-Consumer-Groups") != (tt.header != "") || up.Header("X-Consumer-Groups") != tt.header ||
				up.HasHeader("X-Authenticated-Groups") {
				t.Errorf("upstream headers %v, want X-Consumer-Groups %q", up.Headers(), tt.header)
			}
		})
	}
}

func TestHideGroupsHeader(t *testing.T) {
	t.Parallel()
	ctx := as(aliceID, true)
	if err := newPlugin(t, newEnv(), map[string]any{"allow": []any{"admin"}, "hide_groups_header": true}).Access(ctx); err != nil || ctx.Exited() {
		t.Fatalf("exit %v err %v", ctx.ExitCall(), err)
	}
	if ctx.UpstreamRequest().HasHeader("X-Consumer-Groups") {
		t.Error("groups header sent")
	}
}

func TestAuthenticatedGroups(t *testing.T) {
	t.Parallel()
	env := newEnv()
	withGroups := func(ctx *pdktest.Context, groups ...string) *pdktest.Context {
		ctx.Set(acl.AuthenticatedGroupsKey, groups)
		return ctx
	}
	tests := []struct {
		name              string
		always            bool
		ctx               *pdktest.Context
		status            int
		consumer, authHdr string
	}{
		{"without a consumer", false, withGroups(as("", false), "ldap-admins"), 0, "", "ldap-admins"},
		{"not allowed", false, withGroups(as("", false), "users"), 403, "", ""},
		{"override an anonymous consumer's groups", false, withGroups(as(carolID, false), "ldap-admins"), 0, "", "ldap-admins"},
		{"a credential's consumer wins", false, withGroups(as(carolID, true), "ldap-admins"), 403, "", ""},
		{"unless always used", true, withGroups(as(carolID, true), "ldap-admins"), 0, "", "ldap-admins"},
	}
	// Denied groups: none of them is denied, and the empty list sends no
	// header (Kong's set_header with "" removes it).
	deny := newPlugin(t, env, map[string]any{"deny": []any{"users"}})
	ctx := withGroups(as("", false).WithHeader("X-Authenticated-Groups", "spoofed"))
	if err := deny.Access(ctx); err != nil || ctx.Exited() || ctx.UpstreamRequest().HasHeader("X-Authenticated-Groups") {
		t.Errorf("empty authenticated groups: exit %v, upstream headers %v", ctx.ExitCall(), ctx.UpstreamRequest().Headers())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlugin(t, env, map[string]any{"allow": []any{"ldap-admins"}, "always_use_authenticated_groups": tt.always})
			if err := p.Access(tt.ctx); err != nil {
				t.Fatal(err)
			}
			status := 0
			if e := tt.ctx.ExitCall(); e != nil {
				status = e.Status
			}
			up := tt.ctx.UpstreamRequest()
			if status != tt.status || up.Header("X-Authenticated-Groups") != tt.authHdr || up.HasHeader("X-Consumer-Groups") {
				t.Errorf("status %d, upstream headers %v", status, up.Headers())
			}
		})
	}
}

func BenchmarkAccess(b *testing.B) {
	env := newEnv()
	inst, err := acl.Factory{}.New(pdktest.NewConfig(b, env, map[string]any{"name": "acl", "config": map[string]any{"allow": []any{"dev"}}}))
	if err != nil {
		b.Fatal(err)
	}
	p := inst.(pdk.Accesser)
	ctx := as(aliceID, true)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Access(ctx); err != nil || ctx.Exited() {
			b.Fatal("refused")
		}
	}
}
