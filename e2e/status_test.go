package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/11-status_spec.lua, adapted:
// readiness. The control plane is ready when its database answers; a data
// plane is ready once it serves a non-empty configuration, and stays ready
// while the control plane is away and after it returns.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// readyIs checks /status/ready on a data plane.
func readyIs(dp *e2etest.DataPlane, status int, message string) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		code, body, err := dp.Ready(ctx)
		if err != nil {
			return err
		}
		if code != status || !strings.Contains(body, message) {
			return fmt.Errorf("/status/ready: %d %s, want %d %q", code, body, status, message)
		}
		return nil
	}
}

// TestReadiness: the control plane answers 200; a data plane without a
// control plane answers 503, as does one holding the empty
// configuration; it answers 200 once configured, and still 200 while the
// control plane is stopped and after it restarts.
func TestReadiness(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})

	t.Run("returns 200 on control plane", func(t *testing.T) {
		code, body, err := c.Hubs[0].Ready(ctxT(t))
		if err != nil || code != http.StatusOK {
			t.Errorf("sync-hub /status/ready: %d %s %v", code, body, err)
		}
	})

	t.Run("dp should return 503 without cp", func(t *testing.T) {
		t.Parallel()
		nowhere := e2etest.FreeAddr(t) // nothing listens there
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{ControlPlanes: []string{nowhere}})
		dp.RequireStatusAPI(t)
		e2etest.Eventually(t, syncTimeout, "503 without a control plane",
			readyIs(dp, http.StatusServiceUnavailable, "no configuration available (configuration hash is not initialized)"))
	})

	t.Run("should return 200 on data plane after configuring", func(t *testing.T) {
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
		dp.RequireStatusAPI(t)
		c.WaitSynced(t, connectTimeout, dp)
		e2etest.Eventually(t, syncTimeout, "503 with the empty configuration",
			readyIs(dp, http.StatusServiceUnavailable, "no configuration available"))

		addService(t, c.Admin, "ready", "http://127.0.0.1:1")
		e2etest.Eventually(t, syncTimeout, "200 once configured", readyIs(dp, http.StatusOK, "ready"))

		c.Stop(t)
		dp.Log().WaitFor(t, 0, "connection to control plane", syncTimeout)
		e2etest.Never(t, 2*time.Second, "ready while the control plane is stopped", readyIs(dp, http.StatusOK, "ready"))

		c.Start(t)
		c.WaitSynced(t, connectTimeout, dp)
		e2etest.Eventually(t, syncTimeout, "200 after the control plane restarts", readyIs(dp, http.StatusOK, "ready"))
	})
}
