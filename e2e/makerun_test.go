//go:build unix

package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/e2e/runtest"
	"gatehouse.dev/shared/store/storetest"
)

// TestMakeRun runs the README's run command where Docker is absent, `make
// run`, on non-default ports and a database of its own, as a newcomer
// would: it waits for the runner to say the system is up, adds a service
// and a route through the Admin API, sees both data planes registered with
// their labels and in step with sync-hub, sends a request through each data
// plane to the demo upstream, and stops it with SIGINT (exit 0, no process
// left). Then it runs it again on the same run directory (certificate,
// database and data-plane caches reused) and stops it with SIGTERM.
func TestMakeRun(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bins := e2etest.Build(t, "")
	binDir := t.TempDir()
	for _, b := range []string{bins.AdminAPI, bins.SyncHub, bins.Dataplane} {
		if err := os.Symlink(b, filepath.Join(binDir, filepath.Base(b))); err != nil {
			t.Fatal(err)
		}
	}
	pgURL := storetest.AdminURL()
	redisAddr := os.Getenv("GATEHOUSE_TEST_REDIS_ADDR")
	if redisAddr == "" {
		redisAddr = "127.0.0.1:6379"
	}
	port := func() int { return e2etest.Port(e2etest.FreeAddr(t)) }
	opts := runtest.Options{
		Root: root, Bin: binDir, Dir: t.TempDir(),
		Database: runtest.DatabaseName(t, pgURL), PGURL: pgURL, RedisAddr: redisAddr,
		Ports: runtest.Ports{
			Admin: port(), Cluster: port(), HubStatus: port(),
			DP1Proxy: port(), DP1ProxySSL: port(), DP1Status: port(),
			DP2Proxy: port(), DP2ProxySSL: port(), DP2Status: port(),
			Upstream: port(),
		},
		WaitSeconds: int(e2etest.Scaled(30 * time.Second).Seconds()),
	}
	startTimeout := e2etest.Scaled(4 * time.Minute) // make builds the demo upstream first
	p := opts.Ports
	proxies := map[string]int{"dataplane-1": p.DP1Proxy, "dataplane-2": p.DP2Proxy}
	statuses := map[string]int{"dataplane-1": p.DP1Status, "dataplane-2": p.DP2Status}

	// The first run: everything is created.
	run := runtest.Start(t, opts)
	run.WaitRunning(t, startTimeout)
	for _, want := range []string{"creating database " + opts.Database, "wrote the cluster certificate", "applied migration"} {
		if !strings.Contains(run.Output(), want) {
			t.Errorf("the first run did not say %q", want)
		}
	}
	if ok, err := runtest.DatabaseExists(t.Context(), pgURL, opts.Database); err != nil || !ok {
		t.Errorf("database %s after the first run: exists=%v, %v", opts.Database, ok, err)
	}
	if strings.Contains(run.Output(), "warning:") {
		t.Errorf("the runner warned (a data plane's status API did not answer):\n%s", run.Report())
	}
	for _, port := range []int{p.Admin, p.Cluster, p.HubStatus, p.DP1Proxy, p.DP1Status, p.DP2Proxy, p.DP2Status, p.Upstream} {
		if !strings.Contains(run.Output(), "127.0.0.1:"+strconv.Itoa(port)) {
			t.Errorf("the runner does not print the endpoint on port %d", port)
		}
	}

	admin := e2etest.NewAdmin("http://127.0.0.1:" + strconv.Itoa(p.Admin))
	admin.MustDo(t, http.MethodPost, "/services",
		map[string]any{"name": "demo", "url": "http://127.0.0.1:" + strconv.Itoa(p.Upstream)}, http.StatusCreated)
	admin.MustDo(t, http.MethodPost, "/services/demo/routes",
		map[string]any{"name": "demo", "paths": []string{"/demo"}}, http.StatusCreated)

	hubStatus := "http://127.0.0.1:" + strconv.Itoa(p.HubStatus) + "/status"
	e2etest.Eventually(t, 30*time.Second, "both data planes registered, labelled and in step with sync-hub", func() error {
		return dataPlanesInStep(admin, hubStatus, map[string]string{"dataplane-1": "zone-a", "dataplane-2": "zone-b"})
	})
	for name, port := range proxies {
		e2etest.Eventually(t, 30*time.Second, name+" proxies /demo to the demo upstream", func() error {
			return proxiesToDemo(port)
		})
	}
	// A status API that is wrong does not stop the test: stopping is
	// checked all the same.
	for name, port := range statuses {
		if _, err := e2etest.Within(t.Context(), 30*time.Second, func() error {
			return statusInStep("http://127.0.0.1:"+strconv.Itoa(port)+"/status", hubStatus)
		}); errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("FEATURE MISSING: %s serves no status API on GATEHOUSE_STATUS_LISTEN (port %d): %v", name, port, err)
		} else if err != nil {
			t.Errorf("%s status API does not report the hub's configuration: %v", name, err)
		}
	}

	run.Signal(t, run.ScriptPID(t), syscall.SIGINT)
	if err := run.Wait(t, e2etest.Scaled(time.Minute)); err != nil {
		t.Errorf("make run stopped with SIGINT: %v, want exit status 0\n%s", err, run.Report())
	}
	checkStopped(t, run, opts, "SIGINT")

	// The second run reuses what the first made, and still serves.
	again := runtest.Start(t, opts)
	again.WaitRunning(t, startTimeout)
	for _, want := range []string{"cluster certificate " + filepath.Join(opts.Dir, "cluster.crt"), "database schema is up to date"} {
		if !strings.Contains(again.Output(), want) {
			t.Errorf("the second run did not say %q\n%s", want, again.Output())
		}
	}
	if strings.Contains(again.Output(), "creating database") || strings.Contains(again.Output(), "wrote the cluster certificate") {
		t.Errorf("the second run created again what the first made:\n%s", again.Output())
	}
	for name, port := range proxies {
		e2etest.Eventually(t, 30*time.Second, name+" proxies /demo after a restart", func() error {
			return proxiesToDemo(port)
		})
	}
	again.Signal(t, again.ScriptPID(t), syscall.SIGTERM)
	if err := again.Wait(t, e2etest.Scaled(time.Minute)); err != nil {
		t.Errorf("make run stopped with SIGTERM: %v, want exit status 0\n%s", err, again.Report())
	}
	checkStopped(t, again, opts, "SIGTERM")
}

// checkStopped checks what a clean stop leaves: the runner said so, every
// process is gone, every port is closed, and run.pid is removed.
func checkStopped(t *testing.T, run *runtest.Run, opts runtest.Options, sig string) {
	t.Helper()
	out := run.Output()
	if !strings.Contains(out, "== "+sig+": stopping") || !strings.Contains(out, "== stopped") {
		t.Errorf("the runner did not report stopping on %s:\n%s", sig, out)
	}
	for _, name := range []string{"dataplane-2", "dataplane-1", "sync-hub", "admin-api", "demo-upstream"} {
		if !strings.Contains(out, "stopped "+name) {
			t.Errorf("the runner did not report %s stopped", name)
		}
	}
	if err := run.GroupGone(); err != nil {
		t.Error(err)
	}
	p := opts.Ports
	ports := []int{
		p.Admin, p.Cluster, p.HubStatus, p.DP1Proxy, p.DP1ProxySSL, p.DP1Status,
		p.DP2Proxy, p.DP2ProxySSL, p.DP2Status, p.Upstream,
	}
	dialer := &net.Dialer{Timeout: time.Second}
	for _, port := range ports {
		if c, err := dialer.DialContext(t.Context(), "tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			_ = c.Close()
			t.Errorf("port %d still accepts connections after the stop", port)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, "run.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run.pid is left behind: %v", err)
	}
}

// hubState is the part of sync-hub's GET /status the test compares.
type hubState struct {
	Revision   int64  `json:"revision"`
	ConfigHash string `json:"config_hash"`
}

// dataPlanesInStep checks that /clustering/data-planes lists the data
// planes named in zones (label name → label zone), connected, in sync
// status normal, at sync-hub's revision and hash, and that the hash is not
// the empty configuration's.
func dataPlanesInStep(admin *e2etest.Admin, hubStatus string, zones map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hub hubState
	if err := getJSON(ctx, hubStatus, &hub); err != nil {
		return err
	}
	if hub.ConfigHash == "" || hub.ConfigHash == strings.Repeat("0", 32) {
		return fmt.Errorf("sync-hub holds the empty configuration (revision %d)", hub.Revision)
	}
	rows, err := admin.DataPlanes(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range rows {
		name := r.Labels["name"]
		zone, ok := zones[name]
		if !ok {
			return fmt.Errorf("unexpected data plane %s with labels %v", r.ID, r.Labels)
		}
		if r.Labels["zone"] != zone || !r.Connected || r.SyncStatus != "normal" ||
			r.Revision != hub.Revision || r.ConfigHash != hub.ConfigHash {
			return fmt.Errorf("%s: labels %v connected=%v sync_status=%s revision=%d hash=%s; want zone %s, connected, normal, revision %d, hash %s",
				name, r.Labels, r.Connected, r.SyncStatus, r.Revision, r.ConfigHash, zone, hub.Revision, hub.ConfigHash)
		}
		seen[name] = true
	}
	if len(seen) != len(zones) {
		return fmt.Errorf("data planes listed: %v; want %d", seen, len(zones))
	}
	return nil
}

// statusInStep checks that a data plane's status API serves the
// configuration sync-hub holds.
func statusInStep(statusURL, hubStatus string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hub hubState
	if err := getJSON(ctx, hubStatus, &hub); err != nil {
		return err
	}
	var dp struct {
		ConfigurationHash string `json:"configuration_hash"`
		Gatehouse         struct {
			Revision int64 `json:"revision"`
		} `json:"gatehouse"`
	}
	if err := getJSON(ctx, statusURL, &dp); err != nil {
		return err
	}
	if dp.ConfigurationHash != hub.ConfigHash || dp.Gatehouse.Revision != hub.Revision {
		return fmt.Errorf("serves revision %d hash %s; sync-hub holds %d %s",
			dp.Gatehouse.Revision, dp.ConfigurationHash, hub.Revision, hub.ConfigHash)
	}
	return nil
}

// demoEcho is the part of the demo upstream's answer the test reads.
type demoEcho struct {
	Upstream string              `json:"upstream"`
	Path     string              `json:"path"`
	Headers  map[string][]string `json:"headers"`
}

// proxiesToDemo sends GET /demo/hello?x=1 to the proxy on port and checks
// that the demo upstream answered it, with the route's prefix stripped.
func proxiesToDemo(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var echo demoEcho
	if err := getJSON(ctx, "http://127.0.0.1:"+strconv.Itoa(port)+"/demo/hello?x=1", &echo); err != nil {
		return err
	}
	if echo.Upstream != "demo-upstream" || echo.Path != "/hello" {
		return fmt.Errorf("answered by %q for path %q; want demo-upstream and /hello", echo.Upstream, echo.Path)
	}
	return nil
}

// getJSON sends GET u (no proxy from the environment) and decodes a 200
// answer into v.
func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %.200s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decode %.200s: %w", u, body, err)
	}
	return nil
}

// runSetting matches a runner setting with its default in run.sh:
// ${GATEHOUSE_RUN_NAME:-default}.
var runSetting = regexp.MustCompile(`\$\{(GATEHOUSE_RUN_[A-Z0-9_]+):-([^}]*)\}`)

// TestMakeRunSettingsDocumented keeps the make run table of
// docs/configuration.md in step with deploy/run/run.sh: every
// GATEHOUSE_RUN_* variable the script reads is listed with its default.
func TestMakeRunSettingsDocumented(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile("../deploy/run/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	found := runSetting.FindAllStringSubmatch(string(script), -1)
	if len(found) < 15 {
		t.Fatalf("found %d settings in run.sh; the pattern no longer matches the script", len(found))
	}
	for _, m := range found {
		name, def := m[1], strings.Replace(m[2], "$root/", "./", 1)
		row := "| `" + name + "` | `" + def + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md lacks the row starting %s", row)
		}
	}
}
