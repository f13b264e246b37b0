package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/02-start_stop_spec.lua,
// adapted: invalid settings stop the processes at start-up with Kong's
// messages, valid labels start, and a data plane logs no error when its
// control plane exits first.

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/store/storetest"
)

// labelKeyPattern is the pattern Kong's label key message quotes.
const labelKeyPattern = `(?!kong)(?!konnect)(?!insomnia)(?!mesh)(?!kic)[a-z0-9]([\w\.:-]*[a-z0-9]|)$`

// TestInvalidConfigIsRejected is Kong's "invalid config are rejected"
// for both roles, and "errors if cluster certificate (key) is not found":
// each process exits with status 1 and the message on stderr.
func TestInvalidConfigIsRejected(t *testing.T) {
	t.Parallel()
	bins := e2etest.Build(t, "")
	certs := e2etest.SharedCerts(t, bins)
	pki := e2etest.PKICerts(t)
	unmigrated := storetest.NewDatabase(t)
	migrated := storetest.NewDatabase(t)
	e2etest.Migrate(t, bins, migrated)
	missing := filepath.Join(t.TempDir(), "missing.crt")

	hubEnv := func(extra map[string]string) map[string]string {
		env := map[string]string{
			"GATEHOUSE_PG_URL": migrated, "GATEHOUSE_CLUSTER_LISTEN": "127.0.0.1:0", "GATEHOUSE_STATUS_LISTEN": "off",
			"GATEHOUSE_CLUSTER_CERT": certs.HubCert, "GATEHOUSE_CLUSTER_CERT_KEY": certs.HubKey,
		}
		maps.Copy(env, extra)
		return env
	}
	dpEnv := func(extra map[string]string) map[string]string {
		env := map[string]string{
			"GATEHOUSE_PREFIX": filepath.Join(t.TempDir(), "prefix"), "GATEHOUSE_CLUSTER_CONTROL_PLANE": "127.0.0.1:1",
			"GATEHOUSE_CLUSTER_CERT": certs.DPCert, "GATEHOUSE_CLUSTER_CERT_KEY": certs.DPKey,
			"GATEHOUSE_PROXY_LISTEN": "127.0.0.1:0", "GATEHOUSE_PROXY_SSL_LISTEN": "off", "GATEHOUSE_STATUS_LISTEN": "off",
		}
		maps.Copy(env, extra)
		return env
	}
	cases := []struct {
		name string
		bin  string
		env  map[string]string
		want string
	}{
		// role = control_plane
		{
			"control plane can not disable admin_listen", bins.AdminAPI,
			map[string]string{"GATEHOUSE_PG_URL": migrated, "GATEHOUSE_ADMIN_LISTEN": "off"},
			"GATEHOUSE_ADMIN_LISTEN and GATEHOUSE_ADMIN_SSL_LISTEN are both off",
		},
		{
			"control plane can not disable cluster_listen", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_LISTEN": "off"}),
			`cluster_listen must be specified when role = "control_plane"`,
		},
		// Kong: "can not use DB-less mode". A control plane needs its
		// database, migrated.
		{
			"control plane can not use a database without the schema (admin-api)", bins.AdminAPI,
			map[string]string{"GATEHOUSE_PG_URL": unmigrated, "GATEHOUSE_ADMIN_LISTEN": "127.0.0.1:0"},
			"admin-api migrate",
		},
		{
			"control plane can not use a database without the schema (sync-hub)", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_PG_URL": unmigrated}),
			"admin-api migrate",
		},
		{
			"control plane must define cluster_ca_cert", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_MTLS": "pki", "GATEHOUSE_CLUSTER_CERT": pki.HubCert, "GATEHOUSE_CLUSTER_CERT_KEY": pki.HubKey}),
			`cluster_ca_cert must be specified when cluster_mtls = "pki"`,
		},
		{
			"control plane errors without a cluster certificate", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT": ""}),
			"cluster certificate and key must be provided to use Hybrid mode",
		},
		{
			"control plane errors if cluster certificate is not found", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT": missing}),
			"cluster_cert: failed loading certificate from " + missing,
		},
		{
			"control plane errors if cluster certificate key is not found", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT_KEY": missing}),
			"cluster_cert_key: failed loading key from " + missing,
		},
		{
			"control plane refuses a purge delay under 60 s", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY": "59"}),
			"cluster_data_plane_purge_delay must be 60 or greater",
		},
		{
			"control plane refuses a max payload under 4 MB", bins.SyncHub,
			hubEnv(map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "4194303"}),
			"cluster_max_payload must be 4194304 (4MB) or greater",
		},
		// role = data_plane. Kong's "can not use DB mode" has no
		// counterpart: the data plane has no database setting at all.
		{
			"data plane can not disable proxy_listen", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_PROXY_LISTEN": "off"}),
			`proxy_listen must be specified when role = "data_plane"`,
		},
		{
			"data plane fails to start if invalid labels are loaded", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_DP_LABELS": "w@:_a"}),
			"label key validation failed: w@ is invalid. Must match pattern: " + labelKeyPattern,
		},
		{
			"data plane refuses more than 10 labels", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_DP_LABELS": "t:h,e:s,E:a,r:e,T:o,o:m,a:n,y:l,A:b,ee:l,S:s"}),
			"labels validation failed: count exceeded 10 max elements",
		},
		{
			"data plane errors without a cluster certificate", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT": ""}),
			"cluster certificate and key must be provided to use Hybrid mode",
		},
		{
			"data plane errors if cluster certificate is not found", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT": missing}),
			"cluster_cert: failed loading certificate from " + missing,
		},
		{
			"data plane errors if cluster certificate key is not found", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_CERT_KEY": missing}),
			"cluster_cert_key: failed loading key from " + missing,
		},
		{
			"data plane must define cluster_ca_cert in pki mode", bins.Dataplane,
			dpEnv(map[string]string{"GATEHOUSE_CLUSTER_MTLS": "pki", "GATEHOUSE_CLUSTER_CERT": pki.DPCert, "GATEHOUSE_CLUSTER_CERT_KEY": pki.DPKey}),
			`cluster_ca_cert must be specified when cluster_mtls = "pki"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e2etest.RunCommand(t, e2etest.ProcessSpec{Name: filepath.Base(tc.bin), Bin: tc.bin, Env: tc.env}, 30*time.Second)
			if r.ExitCode != 1 {
				t.Errorf("exit code %d, want 1", r.ExitCode)
			}
			if !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r.Stderr)
			}
		})
	}
}

// TestValidLabelsStart is Kong's "starts correctly if valid labels are
// loaded": the data plane starts, connects and shows its labels.
func TestValidLabelsStart(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{Labels: "Aa-._zZ_key:Aa-._zZ_val"})
	row := rowOf(t, c, dp, connectedNormal)
	if row.Labels["Aa-._zZ_key"] != "Aa-._zZ_val" {
		t.Errorf("labels = %v", row.Labels)
	}
}

// TestControlPlaneExitsBeforeDataPlane is Kong's "when CP exits before
// DP → DP should not emit error message": the data plane logs the control
// plane going away at info level, nothing at error level, and keeps
// running (and trying).
func TestControlPlaneExitsBeforeDataPlane(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
	c.WaitSynced(t, connectTimeout, dp)
	mark := dp.Log().Mark()
	c.Stop(t)
	dp.Log().WaitFor(t, mark, "is going away", syncTimeout)
	dp.Log().WaitFor(t, mark, "connection to control plane", syncTimeout) // the next attempt failed
	for _, l := range dp.Log().Since(mark) {
		if strings.Contains(l.Text, "error while receiving frame from peer") || l.Level() == "ERROR" {
			t.Errorf("the data plane logged an error after the control plane stopped: %s", l.Text)
		}
	}
	if !dp.Running() {
		t.Fatal("the data plane exited")
	}
}
