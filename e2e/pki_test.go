package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/03-pki_spec.lua, adapted:
// cluster_mtls = pki, data-plane certificates signed by a CA, sync-hub's
// certificate checked by name. Gatehouse adds node-id pinning and refuses
// certificates of another CA.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/schema"
)

// TestPKIMode runs a control plane and a data plane in pki mode: the data
// plane's status (with its own certificate's expiry), the deprecated
// status, the proxy following the configuration and forgetting a deleted
// route.
func TestPKIMode(t *testing.T) { //nolint:tparallel // the subtests are steps on one cluster, in order
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{Mode: "pki"})
	up := e2etest.NewUpstream(t, "pki-up")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	id := dp.NodeID(t)
	row := rowOf(t, c, dp, connectedNormal)

	t.Run("shows DP status", func(t *testing.T) {
		if row.IP != "127.0.0.1" || !hashRE.MatchString(row.ConfigHash) {
			t.Errorf("row = %+v", row)
		}
		if got, want := row.CertDetails.ExpiryTimestamp, c.Certs.DPExpiry.Unix(); got != want {
			t.Errorf("cert_details.expiry_timestamp = %d, want %d (the data plane's own certificate)", got, want)
		}
	})

	t.Run("shows DP status (deprecated)", func(t *testing.T) {
		resp := c.Admin.MustDo(t, http.MethodGet, "/clustering/status", nil, http.StatusOK)
		entry, _ := resp[id].(map[string]any)
		if entry["ip"] != "127.0.0.1" {
			t.Errorf("/clustering/status[%s] = %v", id, resp[id])
		}
	})

	t.Run("proxy on DP follows CP config", func(t *testing.T) {
		dp.RequireProxy(t)
		addService(t, c.Admin, "pki-service", up.URL)
		addRoute(t, c.Admin, "pki-service", "pki-route", "/")
		dp.WaitResponse(t, "/", syncTimeout, wantUpstream("pki-up"))
	})

	t.Run("cache invalidation works on config change", func(t *testing.T) {
		dp.RequireProxy(t)
		c.Admin.MustDo(t, http.MethodDelete, "/routes/pki-route", nil, http.StatusNoContent)
		dp.WaitResponse(t, "/", 5*time.Second, wantNoRoute)
	})

	t.Run("a certificate pinned to another node id is refused", func(t *testing.T) {
		cert, key, _ := c.Certs.NewDataPlaneCert(t, "pinned", schema.NewUUID())
		pinned := *c.Certs
		pinned.DPCert, pinned.DPKey = cert, key
		mark := c.Hubs[0].Log().Mark()
		other := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-pinned-elsewhere", Certs: &pinned})
		c.Hubs[0].Log().WaitFor(t, mark, "data plane client certificate is pinned to another node id", syncTimeout)
		if r, ok, _ := c.Admin.DataPlane(ctxT(t), other.NodeID(t)); ok && r.Revision != 0 {
			t.Errorf("the refused data plane got configuration: %+v", r)
		}
	})

	t.Run("a certificate pinned to its node id is accepted", func(t *testing.T) {
		prefix := t.TempDir()
		nodeID := schema.NewUUID()
		writeNodeID(t, prefix, nodeID)
		cert, key, expiry := c.Certs.NewDataPlaneCert(t, "pinned-ok", nodeID)
		pinned := *c.Certs
		pinned.DPCert, pinned.DPKey = cert, key
		ok := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-pinned", Certs: &pinned, Prefix: prefix})
		r := rowOf(t, c, ok, connectedNormal)
		if r.ID != nodeID || r.CertDetails.ExpiryTimestamp != expiry.Unix() {
			t.Errorf("row = %s, want node %s with expiry %d", mustJSON(r), nodeID, expiry.Unix())
		}
	})

	t.Run("a certificate of another CA is refused", func(t *testing.T) {
		foreign := e2etest.PKICerts(t)
		certs := *c.Certs
		certs.DPCert, certs.DPKey = foreign.DPCert, foreign.DPKey
		stranger := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-foreign-ca", Certs: &certs})
		stranger.Log().WaitFor(t, 0, "connection to control plane", syncTimeout)
		if _, ok, _ := c.Admin.DataPlane(ctxT(t), stranger.NodeID(t)); ok {
			t.Error("a data plane with a certificate of another CA is listed")
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
