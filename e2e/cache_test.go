package e2e_test

// The data plane's cache on disk: a damaged cache is never served (it is
// set aside and the configuration fetched again), and a new data plane can
// be provisioned while the control plane is down from a copy of another's
// cache (the seed: "copying the LMDB directory from another data plane
// node"), made with `dataplane cache export` or by copying a stopped data
// plane's directory.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// cacheDir is the cache's directory in a data plane's prefix.
func cacheDir(dp *e2etest.DataPlane) string { return filepath.Join(dp.Prefix, "cache") }

// truncateFiles cuts every file in dir whose name starts with prefix to
// half its size, and returns how many it cut.
func truncateFiles(t *testing.T, dir, prefix string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, info.Size()/2); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// keyFile writes a cache encryption key (64 hex characters) and returns
// its path.
func keyFile(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	p := filepath.Join(t.TempDir(), "cache.key")
	if err := os.WriteFile(p, []byte(hex.EncodeToString(b)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDamagedCacheRefused damages two data planes' caches while the
// control plane is down, in two ways (a truncated Pebble manifest; a cache
// opened with another encryption key): each data plane refuses its cache
// (serving nothing rather than something wrong), keeps it aside, and gets
// its configuration again when the control plane returns.
func TestDamagedCacheRefused(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	up := e2etest.NewUpstream(t, "cached")
	keyA, keyB := keyFile(t), keyFile(t)
	truncated := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-truncated"})
	rekeyed := c.StartDataPlane(t, e2etest.DataPlaneOptions{
		Name: "dp-rekeyed",
		Env:  map[string]string{"GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE": keyA},
	})
	truncated.RequireProxy(t)
	addService(t, c.Admin, "cached", up.URL)
	addRoute(t, c.Admin, "cached", "cached", "/cached")
	c.WaitSynced(t, syncTimeout, truncated, rekeyed)
	for _, dp := range []*e2etest.DataPlane{truncated, rekeyed} {
		dp.WaitResponse(t, "/cached", syncTimeout, wantUpstream("cached"))
	}

	c.Stop(t)
	truncated.Stop(t)
	rekeyed.Stop(t)
	if n := truncateFiles(t, cacheDir(truncated), "MANIFEST-"); n == 0 {
		t.Fatal("no Pebble manifest in the cache to damage")
	}
	rekeyed.SetEnv("GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE", keyB)

	for _, dp := range []*e2etest.DataPlane{truncated, rekeyed} {
		mark := dp.Log().Mark()
		dp.StartAgain(t)
		dp.Log().WaitFor(t, mark, "is damaged and will not be served", time.Second)
		if dp.Log().Find(mark, "found persisted cache config") != nil {
			t.Errorf("%s loaded its damaged cache", dp.Name())
		}
		aside, _ := filepath.Glob(filepath.Join(dp.Prefix, "cache.damaged-*"))
		if len(aside) != 1 {
			t.Errorf("%s: caches set aside: %v, want one", dp.Name(), aside)
		}
		// Nothing served rather than something wrong.
		dp.WaitResponse(t, "/cached", syncTimeout, wantNoRoute)
	}

	c.Start(t)
	c.WaitSynced(t, 45*time.Second, truncated, rekeyed)
	for _, dp := range []*e2etest.DataPlane{truncated, rekeyed} {
		dp.WaitResponse(t, "/cached", syncTimeout, wantUpstream("cached"))
	}
}

// TestProvisionFromCopiedCache provisions two data planes while the
// control plane is down, one from `dataplane cache export` run against a
// running data plane, one from a plain copy of a stopped data plane's
// cache directory: both serve the configuration at once, with node ids of
// their own, keep trying to reach the control plane, and join it when it
// returns.
func TestProvisionFromCopiedCache(t *testing.T) {
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	up := e2etest.NewUpstream(t, "copied")
	source := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: "dp-source"})
	source.RequireProxy(t)
	addService(t, c.Admin, "copied", up.URL)
	addRoute(t, c.Admin, "copied", "copied", "/copied")
	c.WaitSynced(t, syncTimeout, source)

	// Export while the source runs (through its control socket).
	exported := filepath.Join(t.TempDir(), "export")
	spec := source.Spec()
	spec.Name, spec.Args = "dataplane cache export", []string{"cache", "export", exported}
	out := e2etest.MustRun(t, spec, 30*time.Second)
	if !strings.Contains(out.Stdout, "exported the cache") {
		t.Errorf("cache export printed %q", out.Stdout)
	}

	c.Stop(t)
	// A plain copy of the stopped source's directory.
	source.Stop(t)
	copied := filepath.Join(t.TempDir(), "copy")
	copyDir(t, cacheDir(source), copied)

	var dps []*e2etest.DataPlane
	for _, from := range []struct{ name, dir string }{{"dp-from-export", exported}, {"dp-from-copy", copied}} {
		prefix := filepath.Join(t.TempDir(), "prefix")
		if err := os.MkdirAll(prefix, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(from.dir, filepath.Join(prefix, "cache")); err != nil {
			t.Fatal(err)
		}
		dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{Name: from.name, Prefix: prefix})
		dp.Log().WaitFor(t, 0, "found persisted cache config", time.Second)
		dp.WaitResponse(t, "/copied", syncTimeout, wantUpstream("copied"))
		if dp.NodeID(t) == source.NodeID(t) {
			t.Errorf("%s took the source's node id", dp.Name())
		}
		dp.Log().WaitFor(t, 0, "connection to control plane", syncTimeout)
		dps = append(dps, dp)
	}

	c.Start(t)
	c.WaitSynced(t, 45*time.Second, dps...)
	c.Admin.MustDo(t, http.MethodPatch, "/routes/copied", map[string]any{"paths": []string{"/renamed"}}, http.StatusOK)
	for _, dp := range dps {
		dp.WaitResponse(t, "/renamed", syncTimeout, wantUpstream("copied"))
	}
}

// copyDir copies the regular files of src (recursively) to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p) //nolint:gosec // the test's own directory
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600) //nolint:gosec // G703: the test's own directory
	})
	if err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", src, err))
	}
}
