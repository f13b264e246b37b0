package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/09-node-id-persistence_spec.lua,
// adapted: the node id lives in <prefix>/node_id. Kong's "for both
// subsystems" cases have no counterpart (one process serves everything).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/schema"
)

// writeNodeID writes <prefix>/node_id.
func writeNodeID(t *testing.T, prefix, content string) {
	t.Helper()
	if err := os.MkdirAll(prefix, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "node_id"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNodeIDPersistence: a new id is made and saved at first start,
// replaced when the file holds no valid id, and kept across restarts (the
// control plane shows one node whose last_seen advances).
func TestNodeIDPersistence(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})

	t.Run("generates a new ID on first start and saves it to a file", func(t *testing.T) {
		t.Parallel()
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
		id := dp.NodeID(t) // read from <prefix>/node_id, checked to be a UUID
		row := rowOf(t, c, dp, connectedNormal)
		if row.ID != id {
			t.Errorf("the control plane lists %s, node_id holds %s", row.ID, id)
		}
	})

	t.Run("generates a new ID if the existing one is invalid", func(t *testing.T) {
		t.Parallel()
		prefix := t.TempDir()
		writeNodeID(t, prefix, "invalid")
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{Prefix: prefix})
		id := dp.NodeID(t)
		if id == "invalid" || !schema.IsUUID(id) {
			t.Fatalf("node_id holds %q", id)
		}
		want := fmt.Sprintf("file %s contains invalid uuid: %q", filepath.Join(prefix, "node_id"), "invalid")
		dp.Log().WaitFor(t, 0, strings.ReplaceAll(want, `"`, `\"`), syncTimeout)
		rowOf(t, c, dp, connectedNormal)
	})

	t.Run("restores the node ID from the filesystem on restart", func(t *testing.T) {
		t.Parallel()
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})
		id := dp.NodeID(t)
		first := rowOf(t, c, dp, connectedNormal)
		// last_seen is in whole seconds: restart in a later second.
		e2etest.WaitUntil(time.Unix(first.LastSeen+1, 0))
		dp.Restart(t)
		if again := dp.NodeID(t); again != id {
			t.Fatalf("node id changed across a restart: %s, then %s", id, again)
		}
		rowOf(t, c, dp, func(r e2etest.DataPlaneRow) error {
			if r.LastSeen <= first.LastSeen || !r.Connected {
				return fmt.Errorf("last_seen %d (connected %v), want after %d", r.LastSeen, r.Connected, first.LastSeen)
			}
			return nil
		})
		rows, err := c.Admin.DataPlanes(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rows {
			if r.ID == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d rows for node %s, want 1", n, id)
		}
	})
}
