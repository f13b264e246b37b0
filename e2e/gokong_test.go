package e2e_test

// The whole flow through go-kong, Kong's own Go client (what decK and the
// Terraform provider are built on): a Kong user's tooling configures the
// control plane, and the data plane serves each step.

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/kong/go-kong/kong"

	"gatehouse.dev/e2e/e2etest"
)

// TestGoKongFlow: a service and route, then an upstream balancing two
// targets, key-auth with a consumer and its key, a moved route, and
// everything deleted again, each step served by the data plane.
func TestGoKongFlow(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	upA, upB := e2etest.NewUpstream(t, "gk-a"), e2etest.NewUpstream(t, "gk-b")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp.RequireProxy(t)
	kc := c.Admin.Kong(t)
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("go-kong %s: %v", what, err)
		}
	}

	info, err := kc.Info.Get(ctx)
	must("info", err)
	if info.Version != "3.10.0" {
		t.Errorf("GET / version = %q, want Kong's level 3.10.0", info.Version)
	}

	svc, err := kc.Services.Create(ctx, &kong.Service{Name: new("gk"), URL: new(upA.URL)})
	must("create service", err)
	route, err := kc.Routes.Create(ctx, &kong.Route{Name: new("gk-route"), Paths: []*string{new("/gk")}, Service: svc})
	must("create route", err)
	dp.WaitResponse(t, "/gk", syncTimeout, wantUpstream("gk-a"))

	// An upstream with two targets: the service balances across both.
	upstream, err := kc.Upstreams.Create(ctx, &kong.Upstream{Name: new("gk-upstream")})
	must("create upstream", err)
	for _, u := range []*e2etest.Upstream{upA, upB} {
		_, err := kc.Targets.Create(ctx, upstream.Name, &kong.Target{Target: new(u.HostPort()), Weight: new(100)})
		must("create target", err)
	}
	svc.Host, svc.Port, svc.URL = upstream.Name, new(80), nil
	svc, err = kc.Services.Update(ctx, svc)
	must("update service", err)
	seen := map[string]bool{}
	dp.WaitResponse(t, "/gk", syncTimeout, func(r *e2etest.Response) error {
		reply, err := e2etest.DecodeReply(r)
		if r.Status != http.StatusOK || err != nil {
			return fmt.Errorf("status %d: %.200s", r.Status, r.Body)
		}
		seen[reply.Upstream] = true
		if len(seen) < 2 {
			return fmt.Errorf("only %v answered so far", seen)
		}
		return nil
	})

	// key-auth on the route, a consumer and its key.
	consumer, err := kc.Consumers.Create(ctx, &kong.Consumer{Username: new("alice")})
	must("create consumer", err)
	_, err = kc.KeyAuths.Create(ctx, consumer.Username, &kong.KeyAuth{Key: new("alice-secret")})
	must("create key", err)
	plugin, err := kc.Plugins.Create(ctx, &kong.Plugin{Name: new("key-auth"), Route: route})
	must("create plugin", err)
	dp.WaitServes(t, "/gk", http.StatusUnauthorized, syncTimeout)
	dp.WaitServes(t, "/gk", http.StatusOK, syncTimeout, "apikey", "alice-secret")
	dp.WaitServes(t, "/gk", http.StatusUnauthorized, syncTimeout, "apikey", "wrong")

	// Move the route.
	route.Paths = []*string{new("/gk-moved")}
	_, err = kc.Routes.Update(ctx, route)
	must("update route", err)
	dp.WaitServes(t, "/gk-moved", http.StatusOK, syncTimeout, "apikey", "alice-secret")
	dp.WaitResponse(t, "/gk", syncTimeout, wantNoRoute)

	// Delete the key: the consumer can no longer get in.
	must("delete key", kc.KeyAuths.Delete(ctx, consumer.Username, new("alice-secret")))
	dp.WaitServes(t, "/gk-moved", http.StatusUnauthorized, syncTimeout, "apikey", "alice-secret")

	// Delete everything.
	must("delete plugin", kc.Plugins.Delete(ctx, plugin.ID))
	must("delete route", kc.Routes.Delete(ctx, route.ID))
	must("delete consumer", kc.Consumers.Delete(ctx, consumer.Username))
	must("delete service", kc.Services.Delete(ctx, svc.ID))
	for _, u := range []*e2etest.Upstream{upA, upB} {
		must("delete target", kc.Targets.Delete(ctx, upstream.Name, new(u.HostPort())))
	}
	must("delete upstream", kc.Upstreams.Delete(ctx, upstream.ID))
	dp.WaitResponse(t, "/gk-moved", syncTimeout, wantNoRoute)
	c.WaitSynced(t, syncTimeout, dp)
	if row := rowOf(t, c, dp, connectedNormal); row.ConfigHash != "00000000000000000000000000000000" {
		t.Errorf("config_hash = %s after deleting everything, want the empty configuration's", row.ConfigHash)
	}
}
