package e2etest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/schema"
)

// DataPlaneOptions shape a data plane.
type DataPlaneOptions struct {
	// Name names the process (default dp-<n>).
	Name string
	// Version is the version its binary claims ("" for the default).
	Version string
	// ControlPlanes are the sync-hub addresses it follows; nil means the
	// cluster's first hub. Standalone runs it without any.
	ControlPlanes []string
	Standalone    bool
	// Certs is its cluster TLS material (nil: the cluster's).
	Certs *Certs
	// Labels is GATEHOUSE_CLUSTER_DP_LABELS, Plugins GATEHOUSE_PLUGINS.
	Labels, Plugins string
	// Prefix is GATEHOUSE_PREFIX; "" makes a new temporary directory.
	Prefix string
	// Env is added to the harness's settings and wins over them.
	Env map[string]string
}

// DataPlane is a dataplane process.
type DataPlane struct {
	*Process
	// Prefix is its GATEHOUSE_PREFIX.
	Prefix string
	// ProxyAddr is its proxy listener, StatusAddr its status listener.
	ProxyAddr, StatusAddr string

	http *http.Client
}

// StartDataPlane starts a data plane that follows c's hubs (see
// DataPlaneOptions) and waits until it has loaded what it serves at
// start-up (its cache, a declarative file, or nothing).
func (c *Cluster) StartDataPlane(tb testing.TB, opts DataPlaneOptions) *DataPlane {
	tb.Helper()
	c.mu.Lock()
	c.dps++
	n := c.dps
	c.mu.Unlock()
	if opts.Name == "" {
		opts.Name = "dp-" + itoa(n)
	}
	if opts.Certs == nil {
		opts.Certs = c.Certs
	}
	if opts.ControlPlanes == nil && !opts.Standalone {
		opts.ControlPlanes = []string{c.Hubs[0].ClusterAddr}
	}
	return StartDataPlane(tb, opts)
}

// DataPlaneSpec returns the process spec of a data plane without starting
// it, with the addresses it will listen on.
func DataPlaneSpec(tb testing.TB, opts DataPlaneOptions) (spec ProcessSpec, dp *DataPlane) {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "dp"
	}
	dp = &DataPlane{Prefix: opts.Prefix, ProxyAddr: FreeAddr(tb), StatusAddr: FreeAddr(tb), http: proxyClient()}
	if dp.Prefix == "" {
		dp.Prefix = filepath.Join(tb.TempDir(), "prefix")
	}
	env := map[string]string{
		"GATEHOUSE_PREFIX":           dp.Prefix,
		"GATEHOUSE_PROXY_LISTEN":     dp.ProxyAddr,
		"GATEHOUSE_PROXY_SSL_LISTEN": "off",
		"GATEHOUSE_STATUS_LISTEN":    dp.StatusAddr,
		"GATEHOUSE_LOG_LEVEL":        "info",
		"OTEL_SERVICE_NAME":          "dataplane",
	}
	if !opts.Standalone {
		env["GATEHOUSE_CLUSTER_CONTROL_PLANE"] = strings.Join(opts.ControlPlanes, ",")
		if opts.Certs != nil {
			maps.Copy(env, opts.Certs.DataPlaneEnv())
		}
	}
	if opts.Labels != "" {
		env["GATEHOUSE_CLUSTER_DP_LABELS"] = opts.Labels
	}
	if opts.Plugins != "" {
		env["GATEHOUSE_PLUGINS"] = opts.Plugins
	}
	spec = ProcessSpec{Name: opts.Name, Bin: BuildDataplane(tb, opts.Version), Env: merge(env, opts.Env)}
	return spec, dp
}

// StartDataPlane starts a data plane as opts say (ControlPlanes must be
// set unless Standalone) and waits until it has loaded what it serves at
// start-up.
func StartDataPlane(tb testing.TB, opts DataPlaneOptions) *DataPlane {
	tb.Helper()
	spec, dp := DataPlaneSpec(tb, opts)
	dp.Process = StartProcess(tb, spec)
	dp.WaitStarted(tb, 0)
	return dp
}

// startedLine is what the data plane logs once it holds the runtime it
// serves first (cache, declarative file or empty), before it listens.
const startedLine = "starting data plane"

// WaitStarted waits until the run begun at log mark has logged that it
// started serving.
func (dp *DataPlane) WaitStarted(tb testing.TB, mark int) {
	tb.Helper()
	Eventually(tb, startTimeout, dp.Name()+" starts", func() error {
		if len(dp.Log().Find(mark, startedLine)) > 0 {
			return nil
		}
		if !dp.Running() {
			return fmt.Errorf("exited:\n%s", dp.Log().Tail(20))
		}
		return errors.New("not started yet")
	})
}

// Restart stops the data plane gracefully, starts it again and waits
// until it has started.
func (dp *DataPlane) Restart(tb testing.TB) {
	tb.Helper()
	dp.Stop(tb)
	dp.StartAgain(tb)
}

// StartAgain starts a stopped data plane and waits until it has started.
func (dp *DataPlane) StartAgain(tb testing.TB) {
	tb.Helper()
	mark := dp.Log().Mark()
	dp.Start(tb)
	dp.WaitStarted(tb, mark)
}

// NodeID reads the data plane's node id from <prefix>/node_id.
func (dp *DataPlane) NodeID(tb testing.TB) string {
	tb.Helper()
	var id string
	Eventually(tb, 10*time.Second, dp.Name()+" has a node_id", func() error {
		b, err := os.ReadFile(filepath.Join(dp.Prefix, "node_id"))
		if err != nil {
			return err
		}
		id = strings.TrimSpace(string(b))
		if !schema.IsUUID(id) {
			return fmt.Errorf("node_id holds %q", id)
		}
		return nil
	})
	return id
}

// ProxyURL is the base URL of the data plane's proxy.
func (dp *DataPlane) ProxyURL() string { return "http://" + dp.ProxyAddr }

// Get sends GET path to the data plane's proxy, with headers (key, value
// pairs), and reads the answer.
func (dp *DataPlane) Get(ctx context.Context, path string, headers ...string) (*Response, error) {
	return dp.Request(ctx, http.MethodGet, path, nil, headers...)
}

// Request sends a request to the data plane's proxy and reads the answer.
func (dp *DataPlane) Request(ctx context.Context, method, path string, body io.Reader, headers ...string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, dp.ProxyURL()+path, body)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := dp.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	return readResponse(resp, method, path)
}

// WaitServes polls GET path on the proxy until it answers status, and
// returns how long that took; it fails tb after timeout.
func (dp *DataPlane) WaitServes(tb testing.TB, path string, status int, timeout time.Duration, headers ...string) time.Duration {
	tb.Helper()
	return dp.WaitResponse(tb, path, timeout, func(r *Response) error {
		if r.Status != status {
			return fmt.Errorf("status %d, want %d: %s", r.Status, status, truncate(string(r.Body), 200))
		}
		return nil
	}, headers...)
}

// WaitResponse polls GET path on the proxy until check accepts the answer.
func (dp *DataPlane) WaitResponse(tb testing.TB, path string, timeout time.Duration, check func(*Response) error, headers ...string) time.Duration {
	tb.Helper()
	return Eventually(tb, timeout, fmt.Sprintf("%s serves GET %s", dp.Name(), path), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := dp.Get(ctx, path, headers...)
		if err != nil {
			return err
		}
		return check(r)
	})
}

// Ready reads GET /status/ready on the data plane's status listener: its
// status code and body.
func (dp *DataPlane) Ready(ctx context.Context) (int, string, error) {
	code, body, err := httpGet(ctx, "http://"+dp.StatusAddr+"/status/ready")
	return code, string(body), err
}

// ProxyListening reports whether the proxy listener accepts connections.
func (dp *DataPlane) ProxyListening() bool { return dialable(dp.ProxyAddr) }

// StatusListening reports whether the status listener accepts connections.
func (dp *DataPlane) StatusListening() bool { return dialable(dp.StatusAddr) }

func dialable(addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// featureWait is how long RequireProxy and RequireStatusAPI wait for a
// listener of a running data plane.
const featureWait = 10 * time.Second

// RequireProxy fails tb at once, with a message naming the missing
// feature, if the data plane does not serve traffic on
// GATEHOUSE_PROXY_LISTEN (the proxy, dataplane issue 6). It does not skip:
// a data plane that cannot proxy breaks the scenario's promise.
func (dp *DataPlane) RequireProxy(tb testing.TB) {
	tb.Helper()
	dp.require(tb, "proxy listener (GATEHOUSE_PROXY_LISTEN)", dp.ProxyAddr)
}

// RequireStatusAPI is RequireProxy for the status listener
// (GATEHOUSE_STATUS_LISTEN: /status/ready, status-api).
func (dp *DataPlane) RequireStatusAPI(tb testing.TB) {
	tb.Helper()
	dp.require(tb, "status listener (GATEHOUSE_STATUS_LISTEN)", dp.StatusAddr)
}

func (dp *DataPlane) require(tb testing.TB, what, addr string) {
	tb.Helper()
	if _, err := Within(context.Background(), featureWait, func() error {
		if !dp.Running() {
			return errors.New("the data plane exited")
		}
		if !dialable(addr) {
			return errors.New("nothing listens on " + addr)
		}
		return nil
	}); err != nil {
		tb.Fatalf("FEATURE MISSING: %s does not serve its %s: %v", dp.Name(), what, err)
	}
}

// proxyClient is a client for proxied requests: a fresh connection pool
// per data plane, no proxy from the environment, no redirects followed.
func proxyClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
