package e2e_test

// The seed's first promise: "every Admin API action on the control plane
// triggers an update to the data planes in the cluster". A change reaches
// two data planes and is served; an update and a deletion too. The time
// from the Admin API's answer to both data planes serving the change is
// measured and reported.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// propagationRounds is how many changes are timed.
const propagationRounds = 5

// served is a condition: dp answers GET path as check wants.
func served(dp *e2etest.DataPlane, path string, check func(*e2etest.Response) error) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := dp.Get(ctx, path)
		if err != nil {
			return err
		}
		return check(r)
	}
}

// TestChangeReachesTwoDataPlanes: routes created, changed and deleted
// through the Admin API are served (and then no longer served) by both
// data planes; the suite reports how long that took.
func TestChangeReachesTwoDataPlanes(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	up := e2etest.NewUpstream(t, "prop")
	dp1 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp2 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	c.WaitSynced(t, connectTimeout, dp1, dp2)
	dp1.RequireProxy(t)
	dp2.RequireProxy(t)
	addService(t, c.Admin, "prop", up.URL)

	var created, deleted []time.Duration
	for i := range propagationRounds {
		path := fmt.Sprintf("/prop-%d", i)
		addRoute(t, c.Admin, "prop", fmt.Sprintf("prop-%d", i), path)
		answered := time.Now()
		took := e2etest.Measure(t, answered, syncTimeout, "route "+path+" served by both data planes",
			served(dp1, path, wantUpstream("prop")), served(dp2, path, wantUpstream("prop")))
		created = append(created, slices.Max(took))
	}

	// An update moves the route: the new path is served, the old is not.
	c.Admin.MustDo(t, http.MethodPatch, "/routes/prop-0", map[string]any{"paths": []string{"/moved"}}, http.StatusOK)
	e2etest.Measure(t, time.Now(), syncTimeout, "the moved route served by both data planes",
		served(dp1, "/moved", wantUpstream("prop")), served(dp2, "/moved", wantUpstream("prop")),
		served(dp1, "/prop-0", wantNoRoute), served(dp2, "/prop-0", wantNoRoute))

	for i := 1; i < propagationRounds; i++ {
		path := fmt.Sprintf("/prop-%d", i)
		c.Admin.MustDo(t, http.MethodDelete, fmt.Sprintf("/routes/prop-%d", i), nil, http.StatusNoContent)
		answered := time.Now()
		took := e2etest.Measure(t, answered, syncTimeout, "route "+path+" gone from both data planes",
			served(dp1, path, wantNoRoute), served(dp2, path, wantNoRoute))
		deleted = append(deleted, slices.Max(took))
	}
	c.WaitSynced(t, syncTimeout, dp1, dp2)

	summary := fmt.Sprintf("propagation (Admin API answer → both data planes serving): create median %s max %s; delete median %s max %s",
		median(created), slices.Max(created).Round(100*time.Microsecond), median(deleted), slices.Max(deleted).Round(100*time.Microsecond))
	t.Log(summary)
	e2etest.Report("%s", summary)
}

// median returns the median of ds (the upper one for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Microsecond)
}
