package e2etest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse.dev/shared/store/storetest"
)

// startTimeout bounds a service's start-up.
const startTimeout = 30 * time.Second

// ClusterOptions shape a control plane.
type ClusterOptions struct {
	// Mode is the cluster mTLS mode: "shared" (default) or "pki".
	Mode string
	// Certs is the cluster TLS material; nil generates it for Mode.
	Certs *Certs
	// AdminAPIs and Hubs are how many admin-api and sync-hub processes
	// share the database (default 1 each).
	AdminAPIs, Hubs int
	// PGURL is the database the services use (it must be migrated); ""
	// makes a new database on the shared server and runs
	// `admin-api migrate` on it. Point it at a TCPProxy or a private
	// Postgres to take the database away.
	PGURL string
	// Version is the version the control plane is built with ("" for the
	// default); HubVersion, when set, is sync-hub's alone (the version the
	// compatibility rules compare with data planes').
	Version, HubVersion string
	// Env is added to every control-plane process's environment (such as
	// an OTLP receiver's); AdminEnv and HubEnv to one kind only. They win
	// over the harness's settings.
	Env, AdminEnv, HubEnv map[string]string
	// NoWait starts the processes without waiting for them to be ready.
	NoWait bool
}

// Cluster is a control plane: admin-api and sync-hub processes on one
// database, with the cluster certificates data planes need.
type Cluster struct {
	// Bins are the binaries the control plane runs.
	Bins Binaries
	// DBURL is the services' database URL.
	DBURL string
	// Certs is the cluster TLS material.
	Certs *Certs
	// Admins are the admin-api processes; Admin is a client of the first.
	Admins []*AdminAPI
	Admin  *Admin
	// Hubs are the sync-hub processes.
	Hubs []*SyncHub

	mu  sync.Mutex
	dps int
}

// AdminAPI is an admin-api process.
type AdminAPI struct {
	*Process
	// Addr is its Admin API address (127.0.0.1:port).
	Addr string
	// Client is a client of its Admin API.
	Client *Admin
}

// SyncHub is a sync-hub process.
type SyncHub struct {
	*Process
	// ID is its GATEHOUSE_CLUSTER_HUB_ID (hub_id in the registry).
	ID string
	// ClusterAddr is where data planes connect; StatusAddr its status
	// listener.
	ClusterAddr, StatusAddr string
}

// NewCluster starts a control plane for tb: a new database (migrated with
// `admin-api migrate`), cluster certificates, admin-api and sync-hub
// processes; it returns once they are ready (unless opts.NoWait).
func NewCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	bins := Build(tb, opts.Version)
	if opts.HubVersion != "" {
		bins.SyncHub = BuildProgram(tb, progSyncHub, opts.HubVersion)
	}
	c := &Cluster{Bins: bins, DBURL: opts.PGURL, Certs: opts.Certs}
	if c.Certs == nil {
		if opts.Mode == "pki" {
			c.Certs = PKICerts(tb)
		} else {
			c.Certs = SharedCerts(tb, bins)
		}
	}
	if c.DBURL == "" {
		c.DBURL = storetest.NewDatabase(tb)
		Migrate(tb, bins, c.DBURL)
	}
	for i := range max(opts.AdminAPIs, 1) {
		env := merge(opts.Env, opts.AdminEnv)
		c.Admins = append(c.Admins, StartAdminAPI(tb, bins.AdminAPI, fmt.Sprintf("admin-api-%d", i+1), c.DBURL, env))
	}
	c.Admin = c.Admins[0].Client
	for i := range max(opts.Hubs, 1) {
		env := merge(c.Certs.HubEnv(), opts.Env, opts.HubEnv)
		c.Hubs = append(c.Hubs, StartSyncHub(tb, bins.SyncHub, fmt.Sprintf("sync-hub-%d", i+1), c.DBURL, env))
	}
	if !opts.NoWait {
		for _, a := range c.Admins {
			a.WaitReady(tb)
		}
		for _, h := range c.Hubs {
			h.WaitReady(tb)
		}
	}
	return c
}

// Migrate runs `admin-api migrate` on the database at dbURL.
func Migrate(tb testing.TB, bins Binaries, dbURL string) {
	tb.Helper()
	MustRun(tb, ProcessSpec{
		Name: "admin-api migrate", Bin: bins.AdminAPI, Args: []string{"migrate"},
		Env: map[string]string{"GATEHOUSE_PG_URL": dbURL},
	}, time.Minute)
}

// StartAdminAPI starts an admin-api on dbURL, listening on a free port,
// with env added to the harness's settings.
func StartAdminAPI(tb testing.TB, bin, name, dbURL string, env map[string]string) *AdminAPI {
	tb.Helper()
	addr := FreeAddr(tb)
	base := map[string]string{
		"GATEHOUSE_PG_URL":       dbURL,
		"GATEHOUSE_ADMIN_LISTEN": addr,
		"GATEHOUSE_LOG_LEVEL":    "info",
		// Requests answer 503 within this while Postgres is away.
		"GATEHOUSE_PG_TIMEOUT": "1s",
		"OTEL_SERVICE_NAME":    "admin-api",
	}
	p := StartProcess(tb, ProcessSpec{Name: name, Bin: bin, Env: merge(base, env)})
	return &AdminAPI{Process: p, Addr: addr, Client: NewAdmin("http://" + addr)}
}

// WaitReady waits until the Admin API answers GET /status.
func (a *AdminAPI) WaitReady(tb testing.TB) {
	tb.Helper()
	Eventually(tb, startTimeout, a.Name()+" answers GET /status", func() error {
		if !a.Running() {
			return fmt.Errorf("exited:\n%s", a.Log().Tail(20))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := a.Client.Status(ctx)
		return err
	})
}

// StartSyncHub starts a sync-hub on dbURL with a cluster listener and a
// status listener on free ports; env must hold the cluster TLS settings
// (Certs.HubEnv) and may override the harness's.
func StartSyncHub(tb testing.TB, bin, name, dbURL string, env map[string]string) *SyncHub {
	tb.Helper()
	id := name + "-" + randomHex(3)
	h := &SyncHub{ID: id, ClusterAddr: FreeAddr(tb), StatusAddr: FreeAddr(tb)}
	base := map[string]string{
		"GATEHOUSE_PG_URL":                dbURL,
		"GATEHOUSE_CLUSTER_LISTEN":        h.ClusterAddr,
		"GATEHOUSE_STATUS_LISTEN":         h.StatusAddr,
		"GATEHOUSE_CLUSTER_HUB_ID":        id,
		"GATEHOUSE_LOG_LEVEL":             "info",
		"OTEL_SERVICE_NAME":               "sync-hub",
		"GATEHOUSE_CLUSTER_POLL_INTERVAL": "1s",
	}
	h.Process = StartProcess(tb, ProcessSpec{Name: name, Bin: bin, Env: merge(base, env)})
	return h
}

// HubStatus is sync-hub's GET /status.
type HubStatus struct {
	HubID      string `json:"hub_id"`
	Version    string `json:"version"`
	Revision   int64  `json:"revision"`
	ConfigHash string `json:"config_hash"`
	Listening  bool   `json:"listening"`
	Postgres   struct {
		Reachable bool `json:"reachable"`
	} `json:"postgres"`
	DataPlanes struct {
		Connected    int            `json:"connected"`
		BySyncStatus map[string]int `json:"by_sync_status"`
	} `json:"data_planes"`
}

// Status reads sync-hub's GET /status.
func (h *SyncHub) Status(ctx context.Context) (HubStatus, error) {
	var st HubStatus
	code, body, err := httpGet(ctx, "http://"+h.StatusAddr+"/status")
	if err != nil {
		return st, err
	}
	if code != http.StatusOK {
		return st, fmt.Errorf("GET /status: %d %s", code, truncate(string(body), 200))
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("decode sync-hub status: %w", err)
	}
	return st, nil
}

// Ready reads sync-hub's GET /status/ready: its status code and body.
func (h *SyncHub) Ready(ctx context.Context) (int, string, error) {
	code, body, err := httpGet(ctx, "http://"+h.StatusAddr+"/status/ready")
	return code, string(body), err
}

// WaitReady waits until sync-hub's /status/ready answers 200.
func (h *SyncHub) WaitReady(tb testing.TB) {
	tb.Helper()
	Eventually(tb, startTimeout, h.Name()+" is ready", func() error {
		if !h.Running() {
			return fmt.Errorf("exited:\n%s", h.Log().Tail(20))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		code, body, err := h.Ready(ctx)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/status/ready: %d %s", code, body)
		}
		return nil
	})
}

// ControlPlanes is the value of GATEHOUSE_CLUSTER_CONTROL_PLANE that
// lists every hub of the cluster.
func (c *Cluster) ControlPlanes() []string {
	out := make([]string, len(c.Hubs))
	for i, h := range c.Hubs {
		out[i] = h.ClusterAddr
	}
	return out
}

// Stop stops every control-plane process gracefully (the control plane is
// down; data planes stay up).
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	var wg sync.WaitGroup
	for _, p := range c.processes() {
		wg.Go(func() { p.Stop(tb) })
	}
	wg.Wait()
}

// Start starts every control-plane process again and waits until it is
// ready.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	for _, p := range c.processes() {
		p.Start(tb)
	}
	for _, a := range c.Admins {
		a.WaitReady(tb)
	}
	for _, h := range c.Hubs {
		h.WaitReady(tb)
	}
}

func (c *Cluster) processes() []*Process {
	var ps []*Process
	for _, a := range c.Admins {
		ps = append(ps, a.Process)
	}
	for _, h := range c.Hubs {
		ps = append(ps, h.Process)
	}
	return ps
}

// Revision reads the newest configuration revision from the database.
func (c *Cluster) Revision(tb testing.TB) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DBURL)
	if err != nil {
		tb.Fatalf("connect to the database: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var rev int64
	if err := conn.QueryRow(ctx, "SELECT revision FROM config_revision").Scan(&rev); err != nil {
		tb.Fatalf("read the revision: %v", err)
	}
	return rev
}

// WaitSynced waits until every data plane in dps is connected and reports,
// in /clustering/data-planes, the newest revision in the database (read
// once, when called) and the hash sync-hub has for it, with sync_status
// normal.
// It returns how long that took.
func (c *Cluster) WaitSynced(tb testing.TB, timeout time.Duration, dps ...*DataPlane) time.Duration {
	tb.Helper()
	rev := c.Revision(tb)
	start := time.Now()
	for _, dp := range dps {
		id := dp.NodeID(tb)
		c.Admin.WaitDataPlane(tb, id, timeout, func(r DataPlaneRow) error {
			if r.Revision < rev || r.SyncStatus != "normal" || !r.Connected {
				return fmt.Errorf("%s at revision %d (%s, connected %v), want %d", dp.Name(), r.Revision, r.SyncStatus, r.Connected, rev)
			}
			if hash := c.hashAt(rev); hash != "" && r.ConfigHash != hash && r.Revision == rev {
				return fmt.Errorf("%s reports hash %s, sync-hub has %s", dp.Name(), r.ConfigHash, hash)
			}
			return nil
		})
	}
	return time.Since(start)
}

// hashAt returns a running hub's config hash when it holds revision rev,
// else "".
func (c *Cluster) hashAt(rev int64) string {
	for _, h := range c.Hubs {
		if !h.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := h.Status(ctx)
		cancel()
		if err == nil && st.Revision == rev {
			return st.ConfigHash
		}
	}
	return ""
}

// merge returns the union of the maps; later ones win.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// httpGet is a GET with the harness's short-lived client.
func httpGet(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// plainClient is the harness's HTTP client for status endpoints: no
// keep-alive, so a restarted process is never asked on a dead connection.
var plainClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
