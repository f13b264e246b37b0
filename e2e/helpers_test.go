package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// Deadlines of the scenarios (scaled by GATEHOUSE_E2E_TIMEOUT_SCALE).
// Kong's suite waits up to 10 s for a change to reach a data plane;
// Gatehouse pushes within milliseconds, so these are generous.
const (
	syncTimeout    = 10 * time.Second
	connectTimeout = 15 * time.Second
)

// noRouteBody is Kong's answer when no route matches (404).
const noRouteBody = "no Route matched with those values"

// hashRE is a config hash: 32 lower-case hex characters.
var hashRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// addService creates a service named name pointing at u and returns its id.
func addService(t *testing.T, a *e2etest.Admin, name, u string) string {
	t.Helper()
	svc := a.MustDo(t, http.MethodPost, "/services", map[string]any{"name": name, "url": u}, http.StatusCreated)
	return svc["id"].(string)
}

// addRoute creates a route named name on service (an id or name; "" for
// none) with paths.
func addRoute(t *testing.T, a *e2etest.Admin, service, name string, paths ...string) {
	t.Helper()
	body := map[string]any{"name": name, "paths": paths}
	path := "/routes"
	if service != "" {
		path = "/services/" + service + "/routes"
	}
	a.MustDo(t, http.MethodPost, path, body, http.StatusCreated)
}

// wantUpstream checks that a proxied answer is 200 from the upstream named
// name.
func wantUpstream(name string) func(*e2etest.Response) error {
	return func(r *e2etest.Response) error {
		if r.Status != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", r.Status, r.Body)
		}
		reply, err := e2etest.DecodeReply(r)
		if err != nil {
			return fmt.Errorf("not an upstream reply: %.200s", r.Body)
		}
		if reply.Upstream != name {
			return fmt.Errorf("served by upstream %q, want %q", reply.Upstream, name)
		}
		return nil
	}
}

// wantNoRoute checks Kong's 404 for a request no route matches.
func wantNoRoute(r *e2etest.Response) error {
	if r.Status != http.StatusNotFound {
		return fmt.Errorf("status %d, want 404: %.200s", r.Status, r.Body)
	}
	var body struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Message != noRouteBody {
		return fmt.Errorf("body %.200s, want message %q", r.Body, noRouteBody)
	}
	return nil
}

// rowOf waits for the data plane's row in /clustering/data-planes to
// satisfy cond and returns it.
func rowOf(t *testing.T, c *e2etest.Cluster, dp *e2etest.DataPlane, cond func(e2etest.DataPlaneRow) error) e2etest.DataPlaneRow {
	t.Helper()
	return c.Admin.WaitDataPlane(t, dp.NodeID(t), connectTimeout, cond)
}

// connectedNormal accepts a connected data plane whose sync_status is
// normal.
func connectedNormal(r e2etest.DataPlaneRow) error {
	if !r.Connected || r.SyncStatus != "normal" {
		return fmt.Errorf("connected=%v sync_status=%s", r.Connected, r.SyncStatus)
	}
	return nil
}

// withStatus accepts a row with sync_status s.
func withStatus(s string) func(e2etest.DataPlaneRow) error {
	return func(r e2etest.DataPlaneRow) error {
		if r.SyncStatus != s {
			return fmt.Errorf("sync_status=%s, want %s (last_error %v)", r.SyncStatus, s, deref(r.LastError))
		}
		return nil
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// ctxT is a context for one call from a test.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
