package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/agent"
	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/dataplane/internal/syncclient"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/protocol/protocoltest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	fixtureOnce sync.Once
	entities    protocol.Entities
)

func configuration() protocol.Entities {
	fixtureOnce.Do(func() { entities = fixture.Entities(fixture.Catalog(), 60) })
	return entities
}

// logs collects log lines for assertions.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// node is a data plane assembled by the agent.
type node struct {
	t      *testing.T
	agent  *agent.Agent
	logs   *logs
	cancel context.CancelFunc
	done   chan error
}

// settings returns the environment of a data plane in prefix connected to
// hub (nil: standalone).
func settings(prefix string, hub *protocoltest.Hub, extra map[string]string) map[string]string {
	env := map[string]string{"GATEHOUSE_PREFIX": prefix}
	if hub != nil {
		c := hub.ClusterConfig()
		env["GATEHOUSE_CLUSTER_CONTROL_PLANE"] = hub.Addr()
		env["GATEHOUSE_CLUSTER_CERT"] = c.Cert
		env["GATEHOUSE_CLUSTER_CERT_KEY"] = c.Key
	}
	maps.Copy(env, extra)
	return env
}

// newNode builds a data plane without running it.
func newNode(t *testing.T, env map[string]string) (*node, error) {
	t.Helper()
	cfg, _, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	l := &logs{}
	a, err := agent.New(t.Context(), cfg, agent.Options{
		Logger: slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sync: func(o *syncclient.Options) {
			o.BackoffInitial, o.BackoffCap = 20*time.Millisecond, 100*time.Millisecond
			o.PingInterval = 200 * time.Millisecond
		},
	})
	if err != nil {
		return nil, err
	}
	return &node{t: t, agent: a, logs: l}, nil
}

func mustNode(t *testing.T, env map[string]string) *node {
	t.Helper()
	n, err := newNode(t, env)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run starts the node; it is stopped when the test ends.
func (n *node) run() *node {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.agent.Run(ctx) }()
	n.t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		n.t.Errorf("Run: %v", err)
	}
	n.cancel = nil
}

func (n *node) status() state.Status { return n.agent.State().Status() }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(protocoltest.DefaultWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		timer := time.NewTimer(5 * time.Millisecond)
		<-timer.C
	}
}

// synced runs a data plane in prefix until it acknowledges the hub's
// revision, and stops it.
func synced(t *testing.T, prefix string, hub *protocoltest.Hub, extra map[string]string) {
	t.Helper()
	n := mustNode(t, settings(prefix, hub, extra)).run()
	hub.WaitAck(t, hub.Revision())
	waitFor(t, "the data plane to serve the hub's revision", func() bool { return n.status().Revision == hub.Revision() })
	n.stop()
}

func TestRestartWhileControlPlaneIsDownServesFromCache(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, configuration())
	prefix := t.TempDir()
	synced(t, prefix, hub, nil)
	hub.Kill()

	n := mustNode(t, settings(prefix, hub, nil))
	// Before any connection attempt, the cache is served.
	st := n.status()
	if !st.Ready || st.Revision != rev || st.ConfigHash != hub.Hash() || st.Origin != state.OriginCache || st.Entities != 60 {
		t.Fatalf("status at start = %+v", st)
	}
	n.run()
	waitFor(t, "a failed connection attempt", func() bool { return n.status().ControlPlane.LastError != "" })
	if st := n.status(); !st.Ready || st.ControlPlane.Connected {
		t.Errorf("status with the control plane down = %+v", st)
	}
	// It keeps trying, and resumes when the control plane is back.
	hub.Restart(t)
	waitFor(t, "the reconnection", func() bool { return n.status().ControlPlane.Connected })
	hello := hub.WaitHellos(t, 2)[1]
	if hello.Revision != rev || hello.ConfigHash != hub.Hash() || hello.NodeID != n.agent.NodeID() {
		t.Errorf("hello after the restart = %+v", hello)
	}
	rev2 := hub.Publish(t, protocol.Change{Op: protocol.OpDelete, Type: entity.KeyAuthCredentials, ID: fixture.ID("key", 0)})
	hub.WaitAck(t, rev2)
}

func TestNodeIDSurvivesRestarts(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	a := mustNode(t, settings(prefix, nil, nil))
	id := a.agent.NodeID()
	if err := a.agent.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustNode(t, settings(prefix, nil, nil))
	defer func() { _ = b.agent.Close() }()
	if b.agent.NodeID() != id {
		t.Errorf("node id changed across restarts: %s then %s", id, b.agent.NodeID())
	}
}

func writeDeclarative(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kong.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const declarativeFile = `_format_version: "3.0"
services:
- name: example
  url: http://example.com
  routes:
  - name: example
    paths: [/example]
`

func TestStartUpOrder(t *testing.T) {
	t.Parallel()
	decl := writeDeclarative(t, declarativeFile)

	t.Run("standalone from a declarative file", func(t *testing.T) {
		t.Parallel()
		n := mustNode(t, settings(t.TempDir(), nil, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": decl})).run()
		if st := n.status(); !st.Ready || st.Origin != state.OriginDeclarative || st.Entities != 2 || st.Revision != 0 || !st.Standalone {
			t.Errorf("status = %+v", st)
		}
		waitFor(t, "the standalone line", func() bool { return strings.Contains(n.logs.String(), "running standalone") })
	})
	t.Run("nothing: not ready", func(t *testing.T) {
		t.Parallel()
		n := mustNode(t, settings(t.TempDir(), nil, nil))
		defer func() { _ = n.agent.Close() }()
		if st := n.status(); st.Ready || st.Reason != state.ReasonNotInitialized || st.ConfigHash != "" {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("an empty declarative file: not ready", func(t *testing.T) {
		t.Parallel()
		empty := writeDeclarative(t, `_format_version: "3.0"`)
		n := mustNode(t, settings(t.TempDir(), nil, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": empty}))
		defer func() { _ = n.agent.Close() }()
		if st := n.status(); st.Ready || st.Reason != state.ReasonEmpty {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("an invalid declarative file stops the start", func(t *testing.T) {
		t.Parallel()
		bad := writeDeclarative(t, "_format_version: \"3.0\"\nservices:\n- name: x\n  port: 99999999\n")
		_, err := newNode(t, settings(t.TempDir(), nil, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": bad}))
		if err == nil || !strings.Contains(err.Error(), "error parsing declarative config file "+bad) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("the cache wins over the declarative file", func(t *testing.T) {
		t.Parallel()
		hub := protocoltest.New(t, protocoltest.Options{})
		rev := hub.Replace(t, configuration())
		prefix := t.TempDir()
		synced(t, prefix, hub, nil)
		hub.Kill()
		n := mustNode(t, settings(prefix, hub, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": decl}))
		defer func() { _ = n.agent.Close() }()
		if st := n.status(); st.Origin != state.OriginCache || st.Revision != rev {
			t.Errorf("status = %+v", st)
		}
	})
	t.Run("a missing certificate stops the start", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{
			"GATEHOUSE_PREFIX": t.TempDir(), "GATEHOUSE_CLUSTER_CONTROL_PLANE": "127.0.0.1:1",
			"GATEHOUSE_CLUSTER_CERT": "/nonexistent/cluster.crt", "GATEHOUSE_CLUSTER_CERT_KEY": "/nonexistent/cluster.key",
		}
		_, err := newNode(t, env)
		if err == nil || !strings.Contains(err.Error(), "cluster_cert: failed loading certificate from /nonexistent/cluster.crt") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestDeclarativeDataPlaneKeepsTryingTheControlPlane(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, configuration())
	hub.Kill()
	prefix := t.TempDir()
	decl := writeDeclarative(t, declarativeFile)
	n := mustNode(t, settings(prefix, hub, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": decl})).run()
	if st := n.status(); !st.Ready || st.Origin != state.OriginDeclarative {
		t.Fatalf("status = %+v", st)
	}
	waitFor(t, "failed attempts", func() bool { return strings.Count(n.logs.String(), "connection to control plane") >= 3 })
	hub.Restart(t)
	hub.WaitAck(t, rev)
	waitFor(t, "the control plane's configuration", func() bool { return n.status().Revision == rev })
	n.stop()
	// What the control plane sent is now the cache.
	m := mustNode(t, settings(prefix, hub, map[string]string{"GATEHOUSE_DECLARATIVE_CONFIG": decl}))
	defer func() { _ = m.agent.Close() }()
	if st := m.status(); st.Origin != state.OriginCache || st.Revision != rev {
		t.Errorf("after a restart: %+v", st)
	}
}

func keyFile(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cache.key")
	if err := os.WriteFile(p, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncryptedCache(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, configuration())
	key := keyFile(t)
	tests := []struct {
		name    string
		key     string // the key file at restart
		served  bool
		logLine string
	}{
		{"with its key", key, true, ""},
		{"without its key", "", false, "no key is configured"},
		{"with another key", keyFile(t), false, "encrypted with another key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := t.TempDir()
			synced(t, prefix, hub, map[string]string{"GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE": key})
			// Nothing of the configuration is readable on disk.
			assertNoPlaintext(t, filepath.Join(prefix, agent.CacheDir), "service-1")

			n := mustNode(t, settings(prefix, hub, map[string]string{"GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE": tt.key}))
			defer func() { _ = n.agent.Close() }()
			st := n.status()
			if tt.served != (st.Revision == rev && st.Ready) {
				t.Errorf("served = %v, want %v (%+v)", !tt.served, tt.served, st)
			}
			if tt.logLine != "" {
				if !strings.Contains(n.logs.String(), tt.logLine) || !strings.Contains(n.logs.String(), "is damaged and will not be served") {
					t.Errorf("logs = %s", n.logs.String())
				}
				matches, _ := filepath.Glob(filepath.Join(prefix, agent.CacheDir+".damaged-*"))
				if len(matches) != 1 {
					t.Errorf("set-aside caches = %v", matches)
				}
			}
		})
	}
}

// assertNoPlaintext fails if any file under dir contains text.
func assertNoPlaintext(t *testing.T, dir, text string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p) //nolint:gosec // G122, G304: a test's own directory
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(text)) {
			t.Errorf("%s holds %q in clear", p, text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDamagedCacheIsNotServed(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	hub.Replace(t, configuration())
	prefix := t.TempDir()
	synced(t, prefix, hub, nil)
	cache := filepath.Join(prefix, agent.CacheDir)
	// Flush the entities to an sstable and cut it in half.
	db, err := pebble.Open(cache, &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(t.Context(), []byte("a"), []byte("z"), true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ssts, _ := filepath.Glob(filepath.Join(cache, "*.sst"))
	for _, p := range ssts {
		info, _ := os.Stat(p)
		if err := os.Truncate(p, info.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	hub.Kill()
	n := mustNode(t, settings(prefix, hub, nil))
	defer func() { _ = n.agent.Close() }()
	if st := n.status(); st.Ready || st.Reason != state.ReasonNotInitialized {
		t.Errorf("a damaged cache was served: %+v", st)
	}
	if !strings.Contains(n.logs.String(), "is damaged and will not be served") {
		t.Errorf("logs = %s", n.logs.String())
	}
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, _ ...any) {
	panic(format)
}

func TestProvisionFromAnExportedCache(t *testing.T) {
	t.Parallel()
	hub := protocoltest.New(t, protocoltest.Options{})
	rev := hub.Replace(t, configuration())
	key := keyFile(t)
	extra := map[string]string{"GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE": key}
	prefix := t.TempDir()
	running := mustNode(t, settings(prefix, hub, extra)).run()
	hub.WaitAck(t, rev)
	waitFor(t, "the control socket", func() bool {
		_, err := os.Stat(filepath.Join(prefix, agent.SocketName))
		return err == nil
	})
	keyBytes := readKey(t, key)

	// Exported while the data plane runs (it holds the cache's lock).
	export := filepath.Join(t.TempDir(), "export")
	if err := agent.ExportCache(t.Context(), prefix, export, keyBytes); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(running.logs.String(), "exported the cache to "+export) {
		t.Errorf("the running data plane did not do the export: %s", running.logs.String())
	}
	running.stop()
	// And once stopped, directly.
	export2 := filepath.Join(t.TempDir(), "export")
	if err := agent.ExportCache(t.Context(), prefix, export2, keyBytes); err != nil {
		t.Fatal(err)
	}
	if err := agent.ExportCache(t.Context(), prefix, filepath.Join(t.TempDir(), "x"), nil); err == nil ||
		!strings.Contains(err.Error(), "no key is configured") {
		t.Errorf("export of an encrypted cache without its key: %v", err)
	}

	hub.Kill()
	for _, dir := range []string{export, export2} {
		newPrefix := t.TempDir()
		if err := os.Rename(dir, filepath.Join(newPrefix, agent.CacheDir)); err != nil {
			t.Fatal(err)
		}
		n := mustNode(t, settings(newPrefix, hub, extra)).run()
		if st := n.status(); !st.Ready || st.Revision != rev || st.Origin != state.OriginCache {
			t.Errorf("provisioned data plane: %+v", st)
		}
		if n.agent.NodeID() == running.agent.NodeID() {
			t.Error("the provisioned data plane took the other's node id")
		}
		waitFor(t, "attempts to reach the control plane", func() bool { return n.status().ControlPlane.LastError != "" })
	}
}

func readKey(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
