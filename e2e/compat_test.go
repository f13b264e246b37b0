package e2e_test

// Kong's 01-sync_spec.lua "CP/DP #version check", adapted: which data
// planes the control plane serves, by version and plugin set. sync-hub is
// built as 1.2.3 so that data planes can be older and newer in every
// part. The whole table runs with a fake data plane speaking the protocol
// (as Kong's does); the representative cases run again with real data
// planes built with other versions (-ldflags) or loading fewer plugins.

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
)

// cpVersion is the version sync-hub is built with in these tests.
const cpVersion = "1.2.3"

// bundledPlugins returns every bundled plugin name at version v, without
// the names in except.
func bundledPlugins(v string, except ...string) map[string]string {
	out := map[string]string{}
	for _, p := range plugin.Bundled() {
		if !slices.Contains(except, p.Name) {
			out[p.Name] = v
		}
	}
	return out
}

// bundledSpec is a GATEHOUSE_PLUGINS list of the bundled plugins without
// the names in except.
func bundledSpec(except ...string) string {
	var names []string
	for name := range bundledPlugins("", except...) {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// with returns plugins with name set to v.
func with(plugins map[string]string, name, v string) map[string]string {
	out := maps.Clone(plugins)
	out[name] = v
	return out
}

// compatCluster starts a control plane with sync-hub at cpVersion and
// key-auth configured (Kong's suite configures key-auth on the CP).
func compatCluster(t *testing.T) *e2etest.Cluster {
	t.Helper()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{HubVersion: cpVersion})
	up := e2etest.NewUpstream(t, "up")
	addService(t, c.Admin, "svc", up.URL)
	addRoute(t, c.Admin, "svc", "r", "/r")
	c.Admin.MustDo(t, http.MethodPost, "/plugins", map[string]any{"name": "key-auth"}, http.StatusCreated)
	return c
}

// TestVersionCompatibility is Kong's relaxed compatibility table, with a
// fake data plane: allowed cases get the configuration (a snapshot) and
// show sync_status normal with the version they sent (a snapshot, or a
// delta from revision 0 while the change log still covers it); blocked cases get
// an error message instead, and either keep the connection (answering
// pings) with the configuration withheld, or are closed (Kong version).
func TestVersionCompatibility(t *testing.T) {
	t.Parallel()
	c := compatCluster(t)
	all := bundledPlugins(cpVersion)
	cases := []struct {
		name    string
		version string
		plugins map[string]string
		labels  map[string]string
		status  protocol.SyncStatus
		closed  bool // the connection is closed (kong_version_incompatible)
	}{
		// Allowed.
		{name: "CP and DP version and plugins matches", version: cpVersion, plugins: all},
		{
			name: "CP configured plugins list matches DP enabled plugins list", version: cpVersion,
			plugins: map[string]string{"key-auth": cpVersion},
		},
		{
			name: "CP configured plugins list matches DP enabled plugins version", version: cpVersion,
			plugins: map[string]string{"key-auth": cpVersion, "rate-limiting": cpVersion},
		},
		{
			name: "CP configured plugins list matches DP enabled plugins major version (older dp plugin)", version: cpVersion,
			plugins: with(all, "key-auth", "1.0.0"),
		},
		{
			name: "CP has configured plugin with older patch version than in DP enabled plugins", version: cpVersion,
			plugins: with(all, "key-auth", "1.2.1000"),
		},
		{name: "CP and DP minor version mismatches (older dp)", version: "1.0.3", plugins: all},
		{name: "CP and DP patch version mismatches (older dp)", version: "1.2.0", plugins: all},
		{name: "CP and DP patch version mismatches (newer dp)", version: "1.2.1000", plugins: all},
		{name: "CP and DP suffix mismatches", version: cpVersion + "-enterprise-version", plugins: all},
		{name: "DP sends labels", version: cpVersion, plugins: all, labels: map[string]string{"custom_label": "label_value"}},
		// Kong's "DP sends process conf" has no counterpart: Gatehouse's
		// hello carries no process configuration.
		{name: "DP plugin set is a superset of CP", version: cpVersion, plugins: with(all, "banana-plugin", "1.0.0")},
		{
			name: "DP plugin set is a subset of CP", version: cpVersion,
			plugins: map[string]string{"key-auth": cpVersion, "cors": cpVersion},
		},
		{name: "CP and DP plugin version matches to major", version: cpVersion, plugins: with(all, "key-auth", "1.0.0")},
		{name: "CP and DP plugin version matches to major.minor", version: cpVersion, plugins: with(all, "key-auth", "1.2.0")},
		{name: "an unconfigured plugin two minors older", version: cpVersion, plugins: with(all, "rate-limiting", "1.0.3")},
		{name: "an unconfigured plugin two patches older", version: cpVersion, plugins: with(all, "rate-limiting", "1.2.1")},
		// Blocked, connection kept.
		{
			name: "CP configured plugin list mismatches DP enabled plugins list", version: cpVersion,
			plugins: map[string]string{"banana-plugin": "1.0.0"}, status: protocol.SyncStatusPluginSetIncompatible,
		},
		{
			name: "CP has configured plugin with older major version than in DP enabled plugins", version: cpVersion,
			plugins: with(all, "key-auth", "1000.0.0"), status: protocol.SyncStatusPluginVersionIncompatible,
		},
		{
			name: "CP has configured plugin with newer major version than in DP enabled plugins", version: cpVersion,
			plugins: with(all, "key-auth", "0.1.0"), status: protocol.SyncStatusPluginVersionIncompatible,
		},
		{
			name: "CP has configured plugin with older minor version than in DP enabled plugins", version: cpVersion,
			plugins: with(all, "key-auth", "1.1000.0"), status: protocol.SyncStatusPluginVersionIncompatible,
		},
		// Blocked, connection closed.
		{
			name: "CP and DP major version mismatches", version: "2.2.3", plugins: all,
			status: protocol.SyncStatusKongVersionIncompatible, closed: true,
		},
		{
			name: "CP and DP minor version mismatches (newer dp)", version: "1.1000.3", plugins: all,
			status: protocol.SyncStatusKongVersionIncompatible, closed: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hello := e2etest.NewHello(tc.version, tc.plugins)
			hello.Labels = tc.labels
			f, err := e2etest.DialFake(t, c.Hubs[0].ClusterAddr, c.Certs, hello)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			msg, err := f.Recv(syncTimeout)
			if err != nil {
				t.Fatalf("first message: %v", err)
			}
			want := tc.status
			if want == "" {
				want = protocol.SyncStatusNormal
				ack, held, err := configOf(msg)
				if err != nil {
					t.Fatalf("%v: sync is blocked", err)
				}
				if held["plugins"] != 1 || held["services"] != 1 {
					t.Errorf("configuration holds %v, want 1 plugin and 1 service", held)
				}
				if err := f.Send(ack); err != nil {
					t.Fatal(err)
				}
			} else {
				em, ok := msg.(*protocol.ErrorMessage)
				if !ok || em.Code != string(tc.status) {
					t.Fatalf("first message %s %+v, want an error %s: sync is allowed", msg.Type(), msg, tc.status)
				}
				if tc.closed {
					_, err := f.Recv(syncTimeout)
					if code := websocket.CloseStatus(err); code != protocol.ClosePolicyViolation {
						t.Errorf("after the error: %v (close status %d), want a close with %d", err, code, protocol.ClosePolicyViolation)
					}
				} else {
					// Withheld, not closed: pings are answered.
					if err := f.Send(&protocol.Ping{Revision: 0, ConfigHash: protocol.EmptyHash}); err != nil {
						t.Fatal(err)
					}
					if reply, err := f.Recv(syncTimeout); err != nil {
						t.Errorf("ping after withheld config: %v", err)
					} else if _, ok := reply.(*protocol.Pong); !ok {
						t.Errorf("ping answered with a %s, want a pong", reply.Type())
					}
				}
			}
			c.Admin.WaitDataPlane(t, hello.NodeID, connectTimeout, func(r e2etest.DataPlaneRow) error {
				if r.SyncStatus != string(want) || r.Version != tc.version {
					return fmt.Errorf("sync_status=%s version=%s, want %s and %s", r.SyncStatus, r.Version, want, tc.version)
				}
				if tc.labels != nil && r.Labels["custom_label"] != "label_value" {
					return fmt.Errorf("labels = %v", r.Labels)
				}
				return nil
			})
		})
	}
}

// TestVersionCompatibilityRealDataPlanes runs the representative cases
// with real data planes: an older minor version (the default build,
// against sync-hub at 1.2.3) syncs; a newer minor version (a build
// claiming 1.3.0) is refused with Kong's message; a data
// plane lacking a configured plugin (GATEHOUSE_PLUGINS) is kept connected
// with its configuration withheld, while the compatible ones keep
// syncing, and it gets configuration as soon as that plugin is no longer
// configured.
func TestVersionCompatibilityRealDataPlanes(t *testing.T) {
	t.Parallel()
	// Each version is one more link of the dataplane; the fake data plane
	// covers the rest of the table.
	e2etest.Prebuild("dataplane", "1.3.0")
	c := compatCluster(t)
	hub := c.Hubs[0]
	olderMinor := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-1.0.0"}) // the default build
	newerMinor := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-1.3.0", Version: "1.3.0"})
	noKeyAuth := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-no-key-auth", Plugins: bundledSpec("key-auth")})

	c.WaitSynced(t, connectTimeout, olderMinor)
	row := rowOf(t, c, newerMinor, withStatus("kong_version_incompatible"))
	if row.Revision != 0 || row.ConfigHash != protocol.EmptyHash {
		t.Errorf("%s got configuration: revision %d hash %s", newerMinor.Name(), row.Revision, row.ConfigHash)
	}
	hub.Log().WaitFor(t, 0, "data plane version 1.3.0 is incompatible with older control plane version "+cpVersion, syncTimeout)
	if !hub.Log().Contains("data plane minor version 1.0.0 is different to control plane minor version " + cpVersion) {
		t.Error("sync-hub did not log the older minor version at info")
	}

	withheld := "unable to send updated configuration to data plane: configured key-auth plugin " + cpVersion + " is missing from data plane"
	row = rowOf(t, c, noKeyAuth, withStatus("plugin_set_incompatible"))
	if !row.Connected || row.Revision != 0 {
		t.Errorf("%s: connected=%v revision=%d, want connected without configuration", noKeyAuth.Name(), row.Connected, row.Revision)
	}
	hub.Log().WaitFor(t, 0, withheld, syncTimeout)
	noKeyAuth.Log().WaitFor(t, 0, "configured key-auth plugin "+cpVersion+" is missing from data plane", syncTimeout)

	// Compatible data planes keep syncing; the others still get nothing.
	addService(t, c.Admin, "second", "http://127.0.0.1:1")
	c.WaitSynced(t, syncTimeout, olderMinor)
	for _, dp := range []*e2etest.DataPlane{noKeyAuth, newerMinor} {
		id := dp.NodeID(t)
		if r, _, err := c.Admin.DataPlane(ctxT(t), id); err != nil || r.Revision != 0 {
			t.Errorf("%s: revision %d (%v), want no configuration", dp.Name(), r.Revision, err)
		}
	}

	// Without key-auth configured, the data plane lacking it gets the
	// configuration at once.
	c.Admin.MustDo(t, http.MethodDelete, "/plugins/"+pluginID(t, c, "key-auth"), nil, http.StatusNoContent)
	c.WaitSynced(t, syncTimeout, noKeyAuth, olderMinor)

	// The refused data planes keep trying (Kong: every 5 to 10 s).
	newerMinor.Log().WaitFor(t, 0, "connection to control plane", 10*time.Second)
	if !newerMinor.Running() {
		t.Errorf("%s exited", newerMinor.Name())
	}
}

// configOf reads a configuration message sent to a data plane holding
// nothing: the entities it holds afterwards, counted by type, and the ack
// that acknowledges it.
func configOf(msg protocol.Message) (*protocol.Ack, map[string]int, error) {
	held := map[string]int{}
	switch m := msg.(type) {
	case *protocol.Snapshot:
		for typ, list := range m.Entities {
			held[typ] = len(list)
		}
		return &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}, held, nil
	case *protocol.Delta:
		if m.FromRevision != 0 {
			return nil, nil, fmt.Errorf("a delta from revision %d to a data plane holding nothing", m.FromRevision)
		}
		for _, ch := range m.Changes {
			if ch.Op == protocol.OpUpsert {
				held[ch.Type]++
			}
		}
		return &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}, held, nil
	}
	return nil, nil, fmt.Errorf("first message is a %s, want a snapshot or a delta", msg.Type())
}

// pluginID returns the id of the (first) plugin named name.
func pluginID(t *testing.T, c *e2etest.Cluster, name string) string {
	t.Helper()
	list := c.Admin.MustDo(t, http.MethodGet, "/plugins", nil, http.StatusOK)
	for _, p := range list["data"].([]any) {
		if m := p.(map[string]any); m["name"] == name {
			return m["id"].(string)
		}
	}
	t.Fatalf("no %s plugin", name)
	return ""
}
