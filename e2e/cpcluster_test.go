package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/04-cp_cluster_sync_spec.lua,
// adapted, and the seed's "load balance manually by using multiple
// control planes": several admin-api and sync-hub processes on one
// database, each pushing every change to its own data planes, and a data
// plane given several sync-hubs moving to another when one dies.

import (
	"fmt"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// TestTwoControlPlanesOneDatabase is Kong's "syncs across other nodes in
// the cluster": a service created through the second admin-api reaches
// data planes on both sync-hubs.
func TestTwoControlPlanesOneDatabase(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{AdminAPIs: 2, Hubs: 2})
	up := e2etest.NewUpstream(t, "cp2")
	dp1 := c.StartDataPlane(t, e2etest.DataPlaneOptions{ControlPlanes: []string{c.Hubs[0].ClusterAddr}})
	dp2 := c.StartDataPlane(t, e2etest.DataPlaneOptions{ControlPlanes: []string{c.Hubs[1].ClusterAddr}})
	c.WaitSynced(t, connectTimeout, dp1, dp2)

	second := c.Admins[1].Client
	addService(t, second, "cp2-service", up.URL)
	addRoute(t, second, "cp2-service", "cp2-route", "/cp2")
	rev := c.Revision(t)
	c.WaitSynced(t, syncTimeout, dp1, dp2)
	for i, hub := range c.Hubs {
		st, err := hub.Status(ctxT(t))
		if err != nil || st.Revision != rev {
			t.Errorf("%s holds revision %d (%v), want %d", hub.Name(), st.Revision, err, rev)
		}
		dp := []*e2etest.DataPlane{dp1, dp2}[i]
		row := rowOf(t, c, dp, connectedNormal)
		if row.HubID == nil || *row.HubID != hub.ID {
			t.Errorf("%s is served by %s, want %s", dp.Name(), deref(row.HubID), hub.ID)
		}
	}
	// Both admin-apis read the same data planes.
	rows, err := c.Admins[0].Client.DataPlanes(ctxT(t))
	if err != nil || len(rows) != 2 {
		t.Errorf("the first admin-api lists %d data planes (%v), want 2", len(rows), err)
	}
	dp1.RequireProxy(t)
	dp1.WaitResponse(t, "/cp2", syncTimeout, wantUpstream("cp2"))
	dp2.WaitResponse(t, "/cp2", syncTimeout, wantUpstream("cp2"))
}

// TestSecondHubTakesOver: a data plane configured with two sync-hubs moves
// to the second when the first is killed, keeps serving under load, and
// gets the changes made afterwards through it; when the second shuts down
// gracefully it moves back at once.
func TestSecondHubTakesOver(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{Hubs: 2})
	up := e2etest.NewUpstream(t, "failover")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{ControlPlanes: c.ControlPlanes()})
	dp.RequireProxy(t)
	addService(t, c.Admin, "failover", up.URL)
	addRoute(t, c.Admin, "failover", "before", "/before")
	c.WaitSynced(t, connectTimeout, dp)
	servedBy := func(hub *e2etest.SyncHub) func(e2etest.DataPlaneRow) error {
		return func(r e2etest.DataPlaneRow) error {
			if r.HubID == nil || *r.HubID != hub.ID || !r.Connected {
				return fmt.Errorf("served by %s (connected %v), want %s", deref(r.HubID), r.Connected, hub.ID)
			}
			return nil
		}
	}
	rowOf(t, c, dp, servedBy(c.Hubs[0]))
	load := e2etest.StartLoad([]e2etest.Target{{DP: dp, Path: "/before", Check: wantUpstream("failover")}}, loadInterval)

	// The first sync-hub dies (no goodbye): the data plane finds the second.
	c.Hubs[0].Kill(t)
	killed := time.Now()
	rowOf(t, c, dp, servedBy(c.Hubs[1]))
	failover := time.Since(killed)
	addRoute(t, c.Admin, "failover", "after", "/after")
	c.WaitSynced(t, syncTimeout, dp)
	dp.WaitResponse(t, "/after", syncTimeout, wantUpstream("failover"))

	// The second shuts down gracefully ("going away"): the data plane
	// moves back to the first, restarted, without waiting.
	c.Hubs[0].Start(t)
	c.Hubs[0].WaitReady(t)
	mark := dp.Log().Mark()
	c.Hubs[1].Stop(t)
	stopped := time.Now()
	rowOf(t, c, dp, servedBy(c.Hubs[0]))
	back := time.Since(stopped)
	dp.Log().WaitFor(t, mark, "is going away; connecting to the next one at once", time.Second)
	addRoute(t, c.Admin, "failover", "back", "/back")
	c.WaitSynced(t, syncTimeout, dp)
	dp.WaitResponse(t, "/back", syncTimeout, wantUpstream("failover"))

	stats := load.Stop()
	summary := fmt.Sprintf("sync-hub failover: killed → on the second in %s, graceful stop → back in %s; %s",
		failover.Round(time.Millisecond), back.Round(time.Millisecond), stats)
	t.Log(summary)
	e2etest.Report("%s", summary)
	if stats.Failures != 0 {
		t.Errorf("%d of %d requests failed during the failover: %v", stats.Failures, stats.Requests, stats.Samples)
	}
}
