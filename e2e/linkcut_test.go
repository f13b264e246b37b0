package e2e_test

// The link between a data plane and its sync-hub breaks (a TCP proxy the
// test controls is cut) and comes back: both sides notice, the data plane
// serves what it has meanwhile, and it takes the newest configuration once
// the link is restored.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// TestLinkCutAndRestored cuts the data plane's link to sync-hub, changes
// the configuration, and restores the link.
func TestLinkCutAndRestored(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	link := e2etest.NewTCPProxy(t, c.Hubs[0].ClusterAddr)
	up := e2etest.NewUpstream(t, "link")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{ControlPlanes: []string{link.Addr()}})
	dp.RequireProxy(t)
	addService(t, c.Admin, "link", up.URL)
	addRoute(t, c.Admin, "link", "before", "/before")
	c.WaitSynced(t, connectTimeout, dp)
	dp.WaitResponse(t, "/before", syncTimeout, wantUpstream("link"))

	load := e2etest.StartLoad([]e2etest.Target{{DP: dp, Path: "/before", Check: wantUpstream("link")}}, loadInterval)
	mark := dp.Log().Mark()
	link.Cut()
	cut := time.Now()
	// sync-hub marks the data plane disconnected; the data plane notices
	// and retries.
	rowOf(t, c, dp, func(r e2etest.DataPlaneRow) error {
		if r.Connected {
			return errors.New("still connected")
		}
		return nil
	})
	dp.Log().WaitFor(t, mark, "connection to control plane", syncTimeout)

	addRoute(t, c.Admin, "link", "during", "/during")
	e2etest.Never(t, time.Second, "the change does not pass a cut link", func() error {
		if r, _, _ := c.Admin.DataPlane(ctxT(t), dp.NodeID(t)); r.Revision == c.Revision(t) {
			return fmt.Errorf("the data plane is at revision %d", r.Revision)
		}
		return nil
	})

	link.Restore()
	restored := time.Now()
	resync := c.WaitSynced(t, 45*time.Second, dp)
	rowOf(t, c, dp, connectedNormal)
	dp.WaitResponse(t, "/during", syncTimeout, wantUpstream("link"))
	stats := load.Stop()
	summary := fmt.Sprintf("link cut %s: %s; resynced %s after the link was restored",
		restored.Sub(cut).Round(100*time.Millisecond), stats, resync.Round(time.Millisecond))
	t.Log(summary)
	e2etest.Report("%s", summary)
	if stats.Failures != 0 {
		t.Errorf("%d of %d requests failed while the link was cut: %v", stats.Failures, stats.Requests, stats.Samples)
	}
}
