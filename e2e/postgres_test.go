package e2e_test

// The seed: "the availability of the database does not affect the
// availability of the data planes". The control plane loses its Postgres
// under load, two ways: a private server (never the machine's shared one)
// is shut down, or the link to it is cut by a TCP proxy. Either way the
// Admin API answers 503 quickly, sync-hub says it is not ready, the data
// planes keep serving, and when Postgres returns everything recovers with
// no change lost.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/store/storetest"
)

// unavailableBody is the Admin API's answer while Postgres is away.
const unavailableBody = "The database is unavailable; try again later"

// TestPostgresLost stops the control plane's Postgres (a private server)
// under load and starts it again.
func TestPostgresLost(t *testing.T) {
	t.Parallel()
	pg := e2etest.StartPostgres(t)
	dbURL := pg.NewDatabase(t)
	e2etest.Migrate(t, e2etest.Build(t, ""), dbURL)
	databaseOutage(t, "Postgres stopped", dbURL, func() { pg.Stop(t) }, func() { pg.Start(t) })
}

// TestPostgresLinkCut cuts the control plane's connections to Postgres
// (a TCP proxy in front of a database on the shared server) under load and
// restores them.
func TestPostgresLinkCut(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NewDatabase(t)
	e2etest.Migrate(t, e2etest.Build(t, ""), dbURL)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	link := e2etest.NewTCPProxy(t, u.Host)
	u.Host = link.Addr()
	databaseOutage(t, "link to Postgres cut", u.String(), link.Cut, link.Restore)
}

// databaseOutage runs a control plane on dbURL with two data planes under
// load, takes the database away with down() and gives it back with up().
func databaseOutage(t *testing.T, what, dbURL string, down, up func()) {
	t.Helper()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{PGURL: dbURL})
	dp1 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp2 := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp1.RequireProxy(t)
	dp2.RequireProxy(t)
	targets := routeSet(t, c, dp1, dp2)
	// The last change before the outage must survive it.
	addService(t, c.Admin, "last-before", "http://127.0.0.1:1")
	c.WaitSynced(t, syncTimeout, dp1, dp2)
	waitServing(t, targets)
	before := c.Revision(t)

	load := e2etest.StartLoad(targets, loadInterval)
	down()
	stopped := time.Now()

	// The Admin API answers 503 at once, reads and writes alike.
	var slowest time.Duration
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/services"},
		{http.MethodPost, "/services"},
		{http.MethodGet, "/clustering/data-planes"},
	} {
		start := time.Now()
		resp, err := c.Admin.Do(ctxT(t), req.method, req.path, map[string]any{"name": "during", "url": "http://127.0.0.1:1"})
		took := time.Since(start)
		slowest = max(slowest, took)
		if err != nil {
			t.Fatalf("%s %s while Postgres is down: %v", req.method, req.path, err)
		}
		if resp.Status != http.StatusServiceUnavailable || !strings.Contains(string(resp.Body), unavailableBody) {
			t.Errorf("%s %s while Postgres is down: %d %s, want 503 %q", req.method, req.path, resp.Status, resp.Body, unavailableBody)
		}
		if took > 2*time.Second {
			t.Errorf("%s %s took %s to answer 503, want under 2 s (GATEHOUSE_PG_TIMEOUT is 1 s)", req.method, req.path, took)
		}
	}
	if reachable, err := c.Admin.Status(ctxT(t)); err != nil || reachable {
		t.Errorf("GET /status while Postgres is down: reachable=%v err=%v, want 200 and unreachable", reachable, err)
	}
	e2etest.Eventually(t, syncTimeout, "sync-hub reports Postgres unreachable", func() error {
		code, body, err := c.Hubs[0].Ready(ctxT(t))
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable {
			return fmt.Errorf("/status/ready: %d %s", code, body)
		}
		return nil
	})

	// The data planes stay connected to sync-hub and keep serving.
	e2etest.Never(t, 2*time.Second, "data planes serve while Postgres is down", func() error {
		if s := load.Snapshot(); s.Failures > 0 {
			return fmt.Errorf("%d failures: %v", s.Failures, s.Samples)
		}
		return nil
	})

	up()
	outage := time.Since(stopped)
	e2etest.Eventually(t, 30*time.Second, "the Admin API writes again", func() error {
		resp, err := c.Admin.Do(ctxT(t), http.MethodPost, "/services", map[string]any{"name": "after", "url": "http://127.0.0.1:1"})
		if err != nil {
			return err
		}
		if resp.Status != http.StatusCreated {
			return fmt.Errorf("POST /services: %d %.200s", resp.Status, resp.Body)
		}
		return nil
	})
	c.Hubs[0].WaitReady(t)
	after := e2etest.NewUpstream(t, "after")
	c.Admin.MustDo(t, http.MethodPatch, "/services/after", map[string]any{"url": after.URL}, http.StatusOK)
	addRoute(t, c.Admin, "after", "after", "/after")
	c.WaitSynced(t, 30*time.Second, dp1, dp2)
	for _, dp := range []*e2etest.DataPlane{dp1, dp2} {
		dp.WaitResponse(t, "/after", syncTimeout, wantUpstream("after"))
	}
	stats := load.Stop()

	// No change lost: what was there before, and nothing half-written.
	if rev := c.Revision(t); rev != before+3 {
		t.Errorf("revision %d after the outage, want %d (before) + 3 writes", rev, before)
	}
	svcs := c.Admin.MustDo(t, http.MethodGet, "/services", nil, http.StatusOK)
	var names []string
	for _, s := range svcs["data"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"a", "b", "last-before", "after"} {
		if !slices.Contains(names, want) {
			t.Errorf("service %q is missing after the outage (have %v)", want, names)
		}
	}
	if slices.Contains(names, "during") {
		t.Error("a write refused with 503 was stored")
	}

	summary := fmt.Sprintf("%s for %s: Admin API answered 503 within %s; data planes: %s",
		what, outage.Round(100*time.Millisecond), slowest.Round(time.Millisecond), stats)
	t.Log(summary)
	e2etest.Report("%s", summary)
	if stats.Failures != 0 {
		t.Errorf("%d of %d requests failed while Postgres was down: %v", stats.Failures, stats.Requests, stats.Samples)
	}
}
