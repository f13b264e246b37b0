package e2e_test

// The seed's fault-tolerance promises: "if control plane nodes are down,
// the data plane will keep functioning... while constantly trying to
// reestablish communication"; "data plane nodes can be restarted while in
// disconnected mode, and will load the last configuration in the cache";
// "when the control plane is brought up again, the data plane nodes will
// contact them and resume connected mode".

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// loadInterval paces each load worker: one request per route per data
// plane every 10 ms (several hundred requests a second in all) keeps the
// load steady without starving the processes on a small machine.
const loadInterval = 10 * time.Millisecond

// routeSet configures the routes a fault scenario keeps under load: two
// services on their own upstreams and a route answered by a plugin. It
// returns the load targets for dps.
func routeSet(t *testing.T, c *e2etest.Cluster, dps ...*e2etest.DataPlane) []e2etest.Target {
	t.Helper()
	upA, upB := e2etest.NewUpstream(t, "a"), e2etest.NewUpstream(t, "b")
	addService(t, c.Admin, "a", upA.URL)
	addRoute(t, c.Admin, "a", "a", "/a")
	addService(t, c.Admin, "b", upB.URL)
	addRoute(t, c.Admin, "b", "b", "/b")
	addRoute(t, c.Admin, "b", "teapot", "/teapot")
	c.Admin.MustDo(t, http.MethodPost, "/routes/teapot/plugins", map[string]any{
		"name": "request-termination", "config": map[string]any{"status_code": 418, "message": "short and stout"},
	}, http.StatusCreated)
	teapot := func(r *e2etest.Response) error {
		if r.Status != http.StatusTeapot {
			return fmt.Errorf("status %d, want 418: %.120s", r.Status, r.Body)
		}
		return nil
	}
	var targets []e2etest.Target
	for _, dp := range dps {
		targets = append(targets,
			e2etest.Target{DP: dp, Path: "/a", Check: wantUpstream("a")},
			e2etest.Target{DP: dp, Path: "/b", Check: wantUpstream("b")},
			e2etest.Target{DP: dp, Path: "/teapot", Check: teapot})
	}
	return targets
}

// waitServing waits until every target is served as it should be.
func waitServing(t *testing.T, targets []e2etest.Target) {
	t.Helper()
	for _, tg := range targets {
		tg.DP.WaitResponse(t, tg.Path, syncTimeout, tg.Check)
	}
}

// TestControlPlaneDown: with admin-api and sync-hub stopped, the data
// planes serve every route with no failed request under steady load and
// keep trying to reconnect; a data plane killed and started again while
// the control plane is down serves from its cache at once; when the
// control plane returns with a newer configuration, the data planes take
// it. The suite reports the request count and the failures.
func TestControlPlaneDown(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	dp1 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp2 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp1.RequireProxy(t)
	dp2.RequireProxy(t)
	targets := routeSet(t, c, dp1, dp2)
	c.WaitSynced(t, syncTimeout, dp1, dp2)
	waitServing(t, targets)

	// The control plane stops under load.
	load := e2etest.StartLoad(targets, loadInterval)
	marks := []int{dp1.Log().Mark(), dp2.Log().Mark()}
	c.Stop(t)
	downAt := time.Now()
	for i, dp := range []*e2etest.DataPlane{dp1, dp2} {
		// Constantly trying: at least three failed attempts.
		e2etest.Eventually(t, 15*time.Second, dp.Name()+" keeps trying to reconnect", func() error {
			if n := len(dp.Log().Find(marks[i], "connection to control plane")); n < 3 {
				return fmt.Errorf("%d attempts so far", n)
			}
			return nil
		})
	}
	down := load.Stop()

	// A data plane crashes and starts again while the control plane is
	// down: it serves its cache at once.
	dp2.Kill(t)
	mark := dp2.Log().Mark()
	dp2.Start(t)
	started := dp2.Started()
	var first *e2etest.Response
	e2etest.Eventually(t, 30*time.Second, dp2.Name()+" answers after the restart", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := dp2.Get(ctx, "/a")
		if err != nil {
			return err
		}
		first = r
		return nil
	})
	fromCache := time.Since(started)
	if err := wantUpstream("a")(first); err != nil {
		t.Errorf("the first answer after restarting without a control plane: %v", err)
	}
	dp2.Log().WaitFor(t, mark, "found persisted cache config", time.Second)
	waitServing(t, targets[3:])

	// admin-api returns first and takes a change; the data planes cannot
	// see it until sync-hub returns, and keep serving meanwhile.
	load = e2etest.StartLoad(targets, loadInterval)
	c.Admins[0].Start(t)
	c.Admins[0].WaitReady(t)
	up := e2etest.NewUpstream(t, "c")
	addService(t, c.Admin, "c", up.URL)
	addRoute(t, c.Admin, "c", "c", "/c")
	for _, dp := range []*e2etest.DataPlane{dp1, dp2} {
		dp.WaitResponse(t, "/c", syncTimeout, wantNoRoute)
	}
	c.Hubs[0].Start(t)
	c.Hubs[0].WaitReady(t)
	resync := c.WaitSynced(t, 45*time.Second, dp1, dp2)
	for _, dp := range []*e2etest.DataPlane{dp1, dp2} {
		dp.WaitResponse(t, "/c", syncTimeout, wantUpstream("c"))
	}
	back := load.Stop()

	total := e2etest.LoadStats{
		Requests: down.Requests + back.Requests, Failures: down.Failures + back.Failures,
		Samples: append(down.Samples, back.Samples...), Took: down.Took + back.Took,
	}
	summary := fmt.Sprintf("control plane down %s: %s; restarted data plane served from cache %s after start; resynced %s after sync-hub returned",
		time.Since(downAt).Round(100*time.Millisecond), total, fromCache.Round(time.Millisecond), resync.Round(time.Millisecond))
	t.Log(summary)
	e2etest.Report("%s", summary)
	if total.Failures != 0 {
		t.Errorf("%d of %d requests failed while the control plane was down: %v", total.Failures, total.Requests, total.Samples)
	}
	if total.Requests < 100 {
		t.Errorf("only %d requests were sent: the load did not run", total.Requests)
	}
}
