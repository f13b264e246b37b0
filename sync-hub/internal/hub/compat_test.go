package hub_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/compat"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

func plugins(list ...string) []protocol.PluginInfo {
	var out []protocol.PluginInfo
	for i := 0; i+1 < len(list); i += 2 {
		out = append(out, protocol.PluginInfo{Name: list[i], Version: list[i+1]})
	}
	return out
}

// TestCompatibilityMatrix is Kong's 01-sync_spec "relaxed compatibility
// check" with key-auth configured on the control plane (1.5.2): the allowed
// cases get a configuration first, the plugin cases are withheld (an error
// message, then pongs, the connection kept), and the version cases are
// closed.
func TestCompatibilityMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	hubtest.Plugin(t, e.direct, "key-auth", nil)
	e.waitHub(e.latest())

	type outcome int
	const (
		allowed outcome = iota
		withheld
		closed
	)
	tests := []struct {
		name    string
		version string
		plugins []protocol.PluginInfo
		labels  map[string]string
		raw     func(h protocol.Hello) []byte // a hello frame with extra members
		want    outcome
		status  protocol.SyncStatus
		message string
	}{
		// Allowed: "<case>, sync is allowed".
		{name: "CP and DP version and plugins matches", version: cpVersion, plugins: cpPlugins},
		{name: "CP configured plugins list matches DP enabled plugins list", version: cpVersion, plugins: plugins("key-auth", cpVersion)},
		{name: "CP configured plugins list matches DP enabled plugins version", version: cpVersion, plugins: plugins("key-auth", "1.5.2")},
		{name: "CP configured plugins list matches DP enabled plugins major version (older dp plugin)", version: cpVersion, plugins: plugins("key-auth", "1.0.0")},
		{name: "CP has configured plugin with older patch version than in DP enabled plugins", version: cpVersion, plugins: plugins("key-auth", "1.5.1000")},
		{name: "CP and DP minor version mismatches (older dp)", version: "1.0.7", plugins: cpPlugins},
		{name: "CP and DP patch version mismatches (older dp)", version: "1.5.0", plugins: cpPlugins},
		{name: "CP and DP patch version mismatches (newer dp)", version: "1.5.1000", plugins: cpPlugins},
		{name: "CP and DP suffix mismatches", version: "1.5.2-enterprise-edition", plugins: cpPlugins},
		{name: "DP sends labels", version: cpVersion, plugins: cpPlugins, labels: map[string]string{"deployment": "mycloud", "region": "us-east-1"}},
		{
			name: "DP sends process conf", version: cpVersion, plugins: cpPlugins,
			raw: func(h protocol.Hello) []byte {
				frame, err := protocol.Encode(&h)
				if err != nil {
					panic(err)
				}
				var m map[string]any
				_ = json.Unmarshal(frame, &m)
				m["process_conf"] = map[string]any{"log_level": "debug", "cluster_cert_key": "******"}
				out, _ := json.Marshal(m)
				return out
			},
		},
		{name: "DP plugin set is a superset of CP", version: cpVersion, plugins: append(plugins("banana", "1.0.0"), cpPlugins...)},
		{name: "DP plugin set is a subset of CP", version: cpVersion, plugins: plugins("key-auth", cpVersion, "acl", cpVersion)},
		{name: "CP and DP plugin version matches to major", version: cpVersion, plugins: plugins("key-auth", "1.0.0")},
		{name: "CP and DP plugin version matches to major.minor", version: cpVersion, plugins: plugins("key-auth", "1.5.0")},
		{name: "unconfigured plugin two minors older", version: cpVersion, plugins: plugins("key-auth", cpVersion, "acl", "1.3.2")},
		{name: "unconfigured plugin two patches older", version: cpVersion, plugins: plugins("key-auth", cpVersion, "acl", "1.5.0")},

		// Withheld: "<case>, sync is blocked", the connection kept.
		{
			name: "CP configured plugin list mismatches DP enabled plugins list", version: cpVersion,
			plugins: plugins("banana", "1.0.0"), want: withheld, status: protocol.SyncStatusPluginSetIncompatible,
			message: "configured key-auth plugin 1.5.2 is missing from data plane",
		},
		{
			name: "CP has configured plugin with older major version than in DP enabled plugins", version: cpVersion,
			plugins: plugins("key-auth", "0.5.2"), want: withheld, status: protocol.SyncStatusPluginVersionIncompatible,
			message: "configured data plane key-auth plugin version 0.5.2 is different to control plane plugin version 1.5.2",
		},
		{
			name: "CP has configured plugin with newer minor version than in DP enabled plugins newer", version: cpVersion,
			plugins: plugins("key-auth", "1000.0.0"), want: withheld, status: protocol.SyncStatusPluginVersionIncompatible,
			message: "configured data plane key-auth plugin version 1000.0.0 is different to control plane plugin version 1.5.2",
		},
		{
			name: "CP has configured plugin with older minor version than in DP enabled plugins", version: cpVersion,
			plugins: plugins("key-auth", "1.1000.0"), want: withheld, status: protocol.SyncStatusPluginVersionIncompatible,
			message: "configured data plane key-auth plugin version 1.1000.0 is different to control plane plugin version 1.5.2",
		},

		// Closed: the gateway version.
		{
			name: "CP and DP major version mismatches", version: "2.5.2", plugins: cpPlugins, want: closed,
			status:  protocol.SyncStatusKongVersionIncompatible,
			message: "data plane version 2.5.2 is incompatible with control plane version 1.5.2 (1.x.y are accepted)",
		},
		{
			name: "CP and DP older major version mismatches", version: "0.5.2", plugins: cpPlugins, want: closed,
			status:  protocol.SyncStatusKongVersionIncompatible,
			message: "data plane version 0.5.2 is incompatible with control plane version 1.5.2 (1.x.y are accepted)",
		},
		{
			name: "CP and DP minor version mismatches (newer dp)", version: "1.1000.2", plugins: cpPlugins, want: closed,
			status:  protocol.SyncStatusKongVersionIncompatible,
			message: "data plane version 1.1000.2 is incompatible with older control plane version 1.5.2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hubtest.NewHello(tt.version, tt.plugins...)
			h.Labels = tt.labels
			ctx := ctxT(t)
			conn, _, err := hubtest.Dial(ctx, e.h.Addr(), e.client, false)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.CloseNow() }()
			dp := &hubtest.DP{Conn: conn}
			frame, err := protocol.Encode(&h)
			if tt.raw != nil {
				frame = tt.raw(h)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
				t.Fatal(err)
			}
			first := recv(t, dp)
			switch tt.want {
			case allowed:
				snap, ok := first.(*protocol.Snapshot)
				if d, isDelta := first.(*protocol.Delta); isDelta {
					ok = len(d.Changes) > 0
				} else if ok {
					ok = len(snap.Entities["plugins"]) == 1
				}
				if !ok {
					t.Fatalf("first frame = %#v, want a configuration", first)
				}
				row := e.row(h.NodeID, func(r store.DataPlane) bool { return r.SyncStatus == "normal" })
				if row.Version != tt.version || !row.Connected {
					t.Errorf("row version %q connected %v, want %q and connected", row.Version, row.Connected, tt.version)
				}
				if tt.labels != nil && (row.Labels["deployment"] != "mycloud" || row.Labels["region"] != "us-east-1") {
					t.Errorf("row labels = %v", row.Labels)
				}
			case withheld:
				em, ok := first.(*protocol.ErrorMessage)
				if !ok || em.Code != string(tt.status) || em.Message != tt.message {
					t.Fatalf("first frame = %#v, want error %s: %s", first, tt.status, tt.message)
				}
				// The connection stays: a ping gets a pong, not a configuration.
				if err := dp.Send(ctx, &protocol.Ping{ConfigHash: protocol.EmptyHash}); err != nil {
					t.Fatal(err)
				}
				if pong, ok := recv(t, dp).(*protocol.Pong); !ok || pong.Revision != e.f.Current().Revision {
					t.Fatalf("after a ping: %#v, want a pong at the newest revision", pong)
				}
				row := e.row(h.NodeID, func(r store.DataPlane) bool { return r.SyncStatus == string(tt.status) })
				if !row.Connected || row.LastError != tt.message {
					t.Errorf("row connected %v last error %q", row.Connected, row.LastError)
				}
				e.log.WaitFor(slog.LevelWarn, "unable to send updated configuration to data plane: "+tt.message+
					" [id: "+h.NodeID+", host: dp-test, ip: 127.0.0.1, version: "+tt.version+"]", time.Second)
			case closed:
				em, ok := first.(*protocol.ErrorMessage)
				if !ok || em.Code != string(tt.status) || em.Message != tt.message {
					t.Fatalf("first frame = %#v, want error %s: %s", first, tt.status, tt.message)
				}
				if _, err := dp.Recv(ctx); hubtest.CloseStatus(err) != protocol.ClosePolicyViolation {
					t.Fatalf("after the error: %v, want a close with %d", err, protocol.ClosePolicyViolation)
				}
				row := e.row(h.NodeID, func(r store.DataPlane) bool { return r.SyncStatus == string(tt.status) })
				if row.Connected || row.ConfigHash != protocol.EmptyHash {
					t.Errorf("row connected %v hash %s, want disconnected with the empty hash", row.Connected, row.ConfigHash)
				}
				e.log.WaitFor(slog.LevelError, tt.message+" [id: "+h.NodeID, time.Second)
			}
		})
	}
}

// TestWithheldUntilCompatible shows the check runs at every revision: a
// data plane without key-auth gets configuration once key-auth is no longer
// configured, and is withheld again when it is.
func TestWithheldUntilCompatible(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	plug, _ := hubtest.Plugin(t, e.direct, "key-auth", nil)
	e.waitHub(e.latest())
	dp := e.connect(hubtest.NewHello(cpVersion, plugins("acl", cpVersion)...))
	if em, ok := recv(t, dp).(*protocol.ErrorMessage); !ok || em.Code != string(protocol.SyncStatusPluginSetIncompatible) {
		t.Fatalf("first frame = %#v, want plugin_set_incompatible", em)
	}
	rev := hubtest.Delete(t, e.direct, "plugins", plug["id"].(string))
	if err := dp.WaitRevision(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.SyncStatus == "normal" && r.LastError == "" })
	hubtest.Plugin(t, e.direct, "key-auth", nil)
	if em, ok := recv(t, dp).(*protocol.ErrorMessage); !ok || em.Code != string(protocol.SyncStatusPluginSetIncompatible) {
		t.Fatalf("after configuring key-auth: %#v, want plugin_set_incompatible", em)
	}
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.SyncStatus == "plugin_set_incompatible" })
}

// TestOlderDataPlaneGetsFieldsRemoved applies a compatibility table: a
// field "added in 1.3.0" is removed for a 1.2.x data plane, in snapshots
// and deltas, with the digest of what it gets and the control plane's hash;
// a 1.4.x data plane keeps it.
func TestOlderDataPlaneGetsFieldsRemoved(t *testing.T) {
	t.Parallel()
	table := compat.Table{{
		Version:  "1.3.0",
		Plugins:  map[string][]string{"key-auth": {"hide_credentials"}},
		Entities: map[string][]string{"services": {"read_timeout"}},
	}}
	e := newEnv(t, envOptions{hub: func(o *hub.Options) { o.Compat = table }})
	plug, _ := hubtest.Plugin(t, e.direct, "key-auth", map[string]any{"hide_credentials": true})
	e.waitHub(e.latest())

	old := e.connect(hubtest.NewHello("1.2.9", cpPlugins...))
	cur := e.connect(hubtest.NewHello("1.4.0", cpPlugins...))
	for _, dp := range []*hubtest.DP{old, cur} {
		if _, err := dp.Next(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	st := e.f.Current()
	checkPlugin := func(dp *hubtest.DP, want bool) {
		t.Helper()
		p, ok := dp.Set.Get("plugins", plug["id"].(string))
		if !ok {
			t.Fatal("the plugin is missing")
		}
		_, has := p["config"].(map[string]any)["hide_credentials"]
		if has != want {
			t.Errorf("%s: hide_credentials present = %v, want %v", dp.Hello.Version, has, want)
		}
		if dp.ConfigHash != e.f.Current().Hash {
			t.Errorf("%s: reported hash %s, want the control plane's %s", dp.Hello.Version, dp.ConfigHash, e.f.Current().Hash)
		}
	}
	checkPlugin(old, false)
	checkPlugin(cur, true)
	if old.LastDigest == st.Hash || cur.LastDigest != st.Hash {
		t.Errorf("digests: old %s, current %s, control plane %s", old.LastDigest, cur.LastDigest, st.Hash)
	}
	e.log.WaitFor(slog.LevelWarn, "key_auth plugin contains configuration 'hide_credentials' which is incompatible with dataplane and will be ignored [id: "+old.Hello.NodeID, time.Second)

	// A delta strips too.
	deltas := old.Received[protocol.TypeDelta]
	svc, rev := hubtest.Service(t, e.direct, "svc")
	for _, dp := range []*hubtest.DP{old, cur} {
		if err := dp.WaitRevision(ctxT(t), rev); err != nil {
			t.Fatal(err)
		}
	}
	if old.Received[protocol.TypeDelta] != deltas+1 {
		t.Errorf("old data plane got %v, want one more delta", old.Received)
	}
	s, _ := old.Set.Get("services", svc["id"].(string))
	if _, has := s["read_timeout"]; has {
		t.Error("the delta kept read_timeout for the older data plane")
	}
	s, _ = cur.Set.Get("services", svc["id"].(string))
	if _, has := s["read_timeout"]; !has {
		t.Error("the delta lost read_timeout for the current data plane")
	}
	if strings.Contains(e.log.String(), "read_timeout' which is incompatible with dataplane and will be ignored [id: "+cur.Hello.NodeID) {
		t.Error("a warning was logged for the current data plane")
	}
	e.log.WaitFor(slog.LevelWarn, "services entity contains field 'read_timeout' which is incompatible with dataplane and will be ignored [id: "+old.Hello.NodeID, time.Second)
}
