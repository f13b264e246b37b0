package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/01-sync_spec.lua, adapted:
// the data plane's status as the control plane shows it, the proxy
// following the control plane's configuration, and changes pushed at once
// and in batches. The version-compatibility cases are in compat_test.go.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/version"
)

// purgeDelay is sync-hub's default GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY
// (Kong's cluster_data_plane_purge_delay, 14 days), which the ttl shows.
const purgeDelay = 14 * 24 * time.Hour

// TestDataPlaneStatus is Kong's "CP/DP communication → status API",
// "CP/DP labels" and "CP/DP cert details (cluster_mtls = shared)": a
// connected data plane is listed with its ip, version, sync_status, ttl,
// labels and certificate expiry; the listing is read-only.
func TestDataPlaneStatus(t *testing.T) { //nolint:tparallel // the subtests read one data plane
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{Labels: "deployment:mycloud,region:us-east-1"})
	id := dp.NodeID(t)
	row := rowOf(t, c, dp, connectedNormal)

	t.Run("shows DP status", func(t *testing.T) {
		hostname, _ := os.Hostname()
		if row.IP != "127.0.0.1" {
			t.Errorf("ip = %q, want 127.0.0.1", row.IP)
		}
		if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(row.Version) || row.Version != version.Version {
			t.Errorf("version = %q, want %s", row.Version, version.Version)
		}
		if row.Hostname != hostname {
			t.Errorf("hostname = %q, want %q", row.Hostname, hostname)
		}
		if want := int64(purgeDelay / time.Second); row.TTL < want-3 || row.TTL > want {
			t.Errorf("ttl = %d, want within 3 s of %d", row.TTL, want)
		}
		if !hashRE.MatchString(row.ConfigHash) {
			t.Errorf("config_hash = %q, want 32 hex characters", row.ConfigHash)
		}
		if row.HubID == nil || *row.HubID != c.Hubs[0].ID {
			t.Errorf("hub_id = %v, want %s", deref(row.HubID), c.Hubs[0].ID)
		}
		if row.RPCCapabilities == nil || len(row.RPCCapabilities) != 0 {
			t.Errorf("rpc_capabilities = %v, want []", row.RPCCapabilities)
		}
		if now := time.Now().Unix(); row.LastSeen < now-30 || row.LastSeen > now+1 {
			t.Errorf("last_seen = %d, now is %d", row.LastSeen, now)
		}
	})

	t.Run("shows DP labels", func(t *testing.T) {
		if row.Labels["deployment"] != "mycloud" || row.Labels["region"] != "us-east-1" || len(row.Labels) != 2 {
			t.Errorf("labels = %v", row.Labels)
		}
	})

	t.Run("shows DP cert details", func(t *testing.T) {
		if got, want := row.CertDetails.ExpiryTimestamp, c.Certs.DPExpiry.Unix(); got != want {
			t.Errorf("cert_details.expiry_timestamp = %d, want %d", got, want)
		}
	})

	t.Run("shows DP status (deprecated)", func(t *testing.T) {
		resp, err := c.Admin.Do(ctxT(t), http.MethodGet, "/clustering/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]struct {
			IP         string `json:"ip"`
			ConfigHash string `json:"config_hash"`
			Hostname   string `json:"hostname"`
			LastSeen   int64  `json:"last_seen"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			t.Fatalf("decode %s: %v", resp.Body, err)
		}
		if resp.Status != http.StatusOK || st[id].IP != "127.0.0.1" || st[id].LastSeen == 0 {
			t.Errorf("GET /clustering/status: %d %s", resp.Status, resp.Body)
		}
		if resp.Header.Get("Deprecation") != "true" {
			t.Errorf("Deprecation header = %q, want true", resp.Header.Get("Deprecation"))
		}
	})

	t.Run("disallow updates on the status endpoint", func(t *testing.T) {
		for _, method := range []string{http.MethodDelete, http.MethodPatch} {
			resp, err := c.Admin.Do(ctxT(t), method, "/clustering/data-planes/"+id, map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusNotFound {
				t.Errorf("%s /clustering/data-planes/%s: %d, want 404", method, id, resp.Status)
			}
		}
		if _, ok, _ := c.Admin.DataPlane(ctxT(t), id); !ok {
			t.Error("the data plane vanished from the list")
		}
	})

	t.Run("disables the auto-generated collection endpoints", func(t *testing.T) {
		resp, err := c.Admin.Do(ctxT(t), http.MethodGet, "/clustering_data_planes", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNotFound {
			t.Errorf("GET /clustering_data_planes: %d, want 404", resp.Status)
		}
	})
}

// TestProxyFollowsConfig is Kong's "CP/DP communication → sync works":
// the proxy serves what the control plane configures, forgets what it
// deletes, and serves nothing of a disabled service (its routes and
// their plugins included).
func TestProxyFollowsConfig(t *testing.T) { //nolint:tparallel // the subtests are steps on one cluster, in order
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	up := e2etest.NewUpstream(t, "up")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp.RequireProxy(t)
	a := c.Admin

	t.Run("proxy on DP follows CP config", func(t *testing.T) {
		addService(t, a, "mockbin-service", up.URL)
		addRoute(t, a, "mockbin-service", "root", "/")
		dp.WaitResponse(t, "/", syncTimeout, wantUpstream("up"))
	})

	t.Run("cache invalidation works on config change", func(t *testing.T) {
		a.MustDo(t, http.MethodDelete, "/routes/root", nil, http.StatusNoContent)
		dp.WaitResponse(t, "/", 5*time.Second, wantNoRoute)
	})

	t.Run("does not sync services where enabled == false", func(t *testing.T) {
		addService(t, a, "disabled", up.URL)
		addRoute(t, a, "disabled", "disabled-route", "/disabled")
		dp.WaitResponse(t, "/disabled", syncTimeout, wantUpstream("up"))
		a.MustDo(t, http.MethodPatch, "/services/disabled", map[string]any{"enabled": false}, http.StatusOK)
		dp.WaitResponse(t, "/disabled", syncTimeout, wantNoRoute)
	})

	t.Run("does not sync plugins on a route attached to a disabled service", func(t *testing.T) {
		// Kong uses bot-detection; request-termination answers in a way
		// only the plugin would.
		addService(t, a, "guarded", up.URL)
		addRoute(t, a, "guarded", "guarded-route", "/guarded")
		a.MustDo(t, http.MethodPost, "/routes/guarded-route/plugins", map[string]any{
			"name": "request-termination", "config": map[string]any{"status_code": 418, "message": "terminated"},
		}, http.StatusCreated)
		dp.WaitServes(t, "/guarded", http.StatusTeapot, syncTimeout)
		a.MustDo(t, http.MethodPatch, "/services/guarded", map[string]any{"enabled": false}, http.StatusOK)
		dp.WaitResponse(t, "/guarded", syncTimeout, wantNoRoute)
		a.MustDo(t, http.MethodPatch, "/services/guarded", map[string]any{"enabled": true}, http.StatusOK)
		dp.WaitServes(t, "/guarded", http.StatusTeapot, syncTimeout)
	})
}

// TestPushesFirstChangeAsapAndBatchesTheRest is Kong's "CP/DP config sync →
// pushes first change asap and following changes in a batch": a
// service-less route answers 503 on the data plane soon after it is
// created; four more created in a burst all arrive; deleting them all
// leaves 404s. Kong debounces pushes (db_update_frequency); sync-hub
// coalesces whatever a data plane has not acknowledged yet into one delta.
func TestPushesFirstChangeAsapAndBatchesTheRest(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	dp.RequireProxy(t)
	a := c.Admin

	noService := func(r *e2etest.Response) error {
		if r.Status != http.StatusServiceUnavailable {
			return fmt.Errorf("status %d, want 503: %.200s", r.Status, r.Body)
		}
		return nil
	}
	a.MustDo(t, http.MethodPut, "/routes/1", map[string]any{"paths": []string{"/1"}}, http.StatusOK)
	took := dp.WaitResponse(t, "/1", syncTimeout, noService)
	t.Logf("first change served after %s", took)

	mark := dp.Log().Mark()
	for i := 2; i <= 5; i++ {
		a.MustDo(t, http.MethodPut, fmt.Sprintf("/routes/%d", i), map[string]any{"paths": []string{fmt.Sprintf("/%d", i)}}, http.StatusOK)
	}
	for i := 2; i <= 5; i++ {
		dp.WaitResponse(t, fmt.Sprintf("/%d", i), 5*time.Second, noService)
	}
	applied := len(dp.Log().Find(mark, "applied configuration revision"))
	t.Logf("4 changes in a burst arrived in %d configuration messages", applied)
	if applied > 4 {
		t.Errorf("4 changes were applied in %d messages", applied)
	}

	for i := 1; i <= 5; i++ {
		a.MustDo(t, http.MethodDelete, fmt.Sprintf("/routes/%d", i), nil, http.StatusNoContent)
	}
	for i := 1; i <= 5; i++ {
		dp.WaitResponse(t, fmt.Sprintf("/%d", i), 5*time.Second, wantNoRoute)
	}
	c.WaitSynced(t, syncTimeout, dp)
}
