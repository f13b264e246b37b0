package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The programs the harness builds, by their directory in the workspace
// (module gatehouse.dev/<name>).
const (
	progAdminAPI  = "admin-api"
	progSyncHub   = "sync-hub"
	progDataplane = "dataplane"
)

// programs are built together for the default version.
var programs = []string{progAdminAPI, progSyncHub, progDataplane}

// versionPkg is where -ldflags -X sets the version.
const versionPkg = "gatehouse.dev/shared/version"

// buildTimeout bounds one go build: a cold build cache on a small machine
// takes minutes.
const buildTimeout = 10 * time.Minute

// Binaries are the paths of the three programs built for one version.
type Binaries struct {
	AdminAPI, SyncHub, Dataplane string
}

// buildSet caches the builds of one test binary run, per version.
type buildSet struct {
	mu        sync.Mutex
	dir       string
	temporary bool                   // dir is removed after the run
	entries   map[string]*buildEntry // key: see build
	figures   []string
}

type buildEntry struct {
	done chan struct{}
	dir  string
	err  error
}

var builds = &buildSet{entries: map[string]*buildEntry{}}

// Build returns the three programs built for version, building them on the
// first call for that version in this test binary run (later calls, from
// any goroutine, wait for that build and share it). version "" keeps the
// version compiled in (shared/version.Version); any other value is
// stamped with -ldflags "-X gatehouse.dev/shared/version.Version=<version>",
// so a data plane can claim another version. A failed build fails tb.
func Build(tb testing.TB, version string) Binaries {
	tb.Helper()
	dir, err := builds.get(version)
	if err != nil {
		tb.Fatalf("build the binaries (version %q): %v", version, err)
	}
	return Binaries{
		AdminAPI:  filepath.Join(dir, progAdminAPI),
		SyncHub:   filepath.Join(dir, progSyncHub),
		Dataplane: filepath.Join(dir, progDataplane),
	}
}

// BuildProgram is [Build] for one program ("admin-api", "sync-hub" or
// "dataplane"): a data plane that claims another version costs one link,
// not three.
func BuildProgram(tb testing.TB, program, version string) string {
	tb.Helper()
	if version == "" {
		return filepath.Join(filepath.Dir(Build(tb, "").Dataplane), program)
	}
	dir, err := builds.get(program + "@" + version)
	if err != nil {
		tb.Fatalf("build %s (version %q): %v", program, version, err)
	}
	return filepath.Join(dir, program)
}

// BuildDataplane is BuildProgram for the dataplane.
func BuildDataplane(tb testing.TB, version string) string {
	tb.Helper()
	return BuildProgram(tb, progDataplane, version)
}

func (b *buildSet) get(key string) (string, error) {
	b.mu.Lock()
	if b.dir == "" {
		dir, err := binDir()
		if err != nil {
			b.mu.Unlock()
			return "", fmt.Errorf("binaries directory: %w", err)
		}
		b.dir = dir
	}
	e, ok := b.entries[key]
	if !ok {
		e = &buildEntry{done: make(chan struct{})}
		b.entries[key] = e
		go b.build(key, e)
	}
	b.mu.Unlock()
	<-e.done
	return e.dir, e.err
}

// build runs go build for key: a version ("" for the default) for the
// three programs, or "<program>@<version>" for one.
func (b *buildSet) build(key string, e *buildEntry) {
	defer close(e.done)
	root, err := workspaceRoot()
	if err != nil {
		e.err = err
		return
	}
	version, progs, name := key, programs, key
	if prog, v, ok := strings.Cut(key, "@"); ok {
		version, progs, name = v, []string{prog}, prog+"-"+v
	}
	if name == "" {
		name = "default"
	}
	if raceBuild() {
		name += "-race"
	}
	e.dir = filepath.Join(b.dir, name)
	if err := os.MkdirAll(e.dir, 0o750); err != nil {
		e.err = err
		return
	}
	// go build relinks only what changed since the last run; the lock
	// keeps two test runs from writing the same binaries at once.
	unlock, err := lockDir(e.dir)
	if err != nil {
		e.err = err
		return
	}
	defer unlock()
	// -s -w: no symbol table or DWARF, which halves the link time; stack
	// traces and race reports still name functions and lines.
	ldflags := "-s -w"
	if version != "" {
		ldflags += " -X " + versionPkg + ".Version=" + version
	}
	args := []string{"build", "-o", e.dir + string(filepath.Separator), "-ldflags", ldflags}
	if raceBuild() {
		args = append(args, "-race")
	}
	for _, p := range progs {
		args = append(args, "gatehouse.dev/"+p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // G204: go build of the workspace's own programs
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		e.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
		return
	}
	b.mu.Lock()
	b.figures = append(b.figures, fmt.Sprintf("build %s (%s): %s", strings.Join(progs, ", "), name,
		time.Since(start).Round(100*time.Millisecond)))
	b.mu.Unlock()
}

func (b *buildSet) summary() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.figures...)
}

// cleanup removes the binaries when they were built in a temporary
// directory.
func (b *buildSet) cleanup() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" && b.temporary {
		_ = os.RemoveAll(b.dir)
	}
}

// binDir is where the binaries are built: GATEHOUSE_E2E_BIN_DIR, else
// gatehouse-e2e in the user's cache directory, kept between runs so that go
// build relinks only what changed; a temporary directory when neither
// can be used.
func binDir() (string, error) {
	dir := os.Getenv("GATEHOUSE_E2E_BIN_DIR")
	if dir == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(cache, "gatehouse-e2e")
		}
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err == nil { //nolint:gosec // G703: the user's own cache directory
			return dir, nil
		}
	}
	builds.temporary = true
	return os.MkdirTemp("", "gatehouse-e2e-bin-")
}

// lockDir takes an exclusive lock on dir (a lock file in it) and returns
// its release.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600) //nolint:gosec // G304: the harness's own lock file
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// workspaceRoot finds the directory holding go.work, from the working
// directory up (go test runs in the package's directory).
func workspaceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory")
		}
		dir = parent
	}
}

// Prebuild starts building program for each version in the background and
// returns at once, so that several builds overlap; BuildProgram then waits
// for them. A failed build is reported by BuildProgram.
func Prebuild(program string, versions ...string) {
	for _, v := range versions {
		go func() { _, _ = builds.get(program + "@" + v) }()
	}
}

// raceBuild reports whether the binaries are built with the race
// detector: GATEHOUSE_E2E_RACE ("on" or "off") decides, else the test
// binary's own mode.
func raceBuild() bool {
	switch os.Getenv("GATEHOUSE_E2E_RACE") {
	case "on":
		return true
	case "off":
		return false
	}
	return raceTest
}
