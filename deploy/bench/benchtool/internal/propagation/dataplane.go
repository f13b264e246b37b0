package propagation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// applied is a configuration a real data plane swapped in: when its log
// line was read, and the apply time it logged (frame received to swapped).
type applied struct {
	revision int64
	at       time.Time
	apply    time.Duration
}

// dataPlane is a real data-plane process connected to the control plane.
type dataPlane struct {
	name   string
	prefix string
	proxy  string // host:port
	status string // host:port
	env    []string
	bin    string
	logDir string
	proc   *proc

	mu      sync.Mutex
	applies []applied
	fromLog bool // the last start loaded the cache
	changed chan struct{}
}

// newDataPlane prepares a data plane with its own prefix and ports.
func newDataPlane(ctx context.Context, cp *controlPlane, o Options, i int) (*dataPlane, error) {
	dp := &dataPlane{
		name: fmt.Sprintf("dataplane-%d", i), prefix: filepath.Join(o.Dir, fmt.Sprintf("dp%d", i)),
		bin: filepath.Join(o.Bin, "dataplane"), logDir: o.Dir, changed: make(chan struct{}, 1),
	}
	if err := os.RemoveAll(dp.prefix); err != nil {
		return nil, fmt.Errorf("clean %s: %w", dp.prefix, err)
	}
	proxyPort, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	statusPort, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	dp.proxy, dp.status = fmt.Sprintf("127.0.0.1:%d", proxyPort), fmt.Sprintf("127.0.0.1:%d", statusPort)
	dp.env = []string{
		"GATEHOUSE_PREFIX=" + dp.prefix, "GATEHOUSE_CLUSTER_CONTROL_PLANE=" + cp.hubAddr,
		"GATEHOUSE_CLUSTER_CERT=" + cp.cert, "GATEHOUSE_CLUSTER_CERT_KEY=" + cp.key,
		"GATEHOUSE_CLUSTER_MAX_PAYLOAD=67108864",
		"GATEHOUSE_PROXY_LISTEN=" + dp.proxy, "GATEHOUSE_PROXY_SSL_LISTEN=off", "GATEHOUSE_STATUS_LISTEN=" + dp.status,
		"GATEHOUSE_PROXY_ACCESS_LOG=off", "GATEHOUSE_LOG_LEVEL=info",
	}
	return dp, nil
}

// start starts the process (again, after stop, on the same prefix).
func (dp *dataPlane) start() error {
	dp.mu.Lock()
	dp.fromLog = false
	dp.mu.Unlock()
	p, err := startProc(dp.name, dp.bin, nil, dp.env, dp.logDir, dp.line)
	if err != nil {
		return err
	}
	dp.proc = p
	return nil
}

// logLine is the part of a data plane's JSON log line the benchmark reads.
type logLine struct {
	Msg      string `json:"msg"`
	Revision int64  `json:"revision"`
}

// line reads one log line: "applied configuration revision N from control
// plane in D" records an apply; "found persisted cache config" says the
// start used the cache.
func (dp *dataPlane) line(text []byte, at time.Time) {
	if !bytes.Contains(text, []byte(`"msg":"applied configuration revision`)) &&
		!bytes.Contains(text, []byte("found persisted cache config")) {
		return
	}
	var l logLine
	if err := json.Unmarshal(text, &l); err != nil {
		return
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if strings.HasPrefix(l.Msg, "found persisted cache config") {
		dp.fromLog = true
		return
	}
	var apply time.Duration
	if i := strings.LastIndex(l.Msg, " in "); i >= 0 {
		apply, _ = time.ParseDuration(l.Msg[i+4:])
	}
	dp.applies = append(dp.applies, applied{revision: l.Revision, at: at, apply: apply})
	select {
	case dp.changed <- struct{}{}:
	default:
	}
}

// latest returns the newest revision applied, 0 for none.
func (dp *dataPlane) latest() int64 {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if len(dp.applies) == 0 {
		return 0
	}
	return dp.applies[len(dp.applies)-1].revision
}

// waitApplied waits for an apply of a revision above after.
func (dp *dataPlane) waitApplied(ctx context.Context, after int64, timeout time.Duration) (applied, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		dp.mu.Lock()
		for _, a := range dp.applies {
			if a.revision > after {
				dp.mu.Unlock()
				return a, nil
			}
		}
		dp.mu.Unlock()
		if dp.proc.exited() {
			return applied{}, dp.proc.exitError()
		}
		select {
		case <-ctx.Done():
			return applied{}, ctx.Err()
		case <-timer.C:
			return applied{}, fmt.Errorf("%s applied no revision after %d within %v; its log:\n%s", dp.name, after, timeout, dp.proc.tail())
		case <-dp.changed:
		}
	}
}

// get sends GET path to the proxy and returns the status.
func (dp *dataPlane) get(ctx context.Context, client *http.Client, addr, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// serves checks that the proxy answers path with want.
func (dp *dataPlane) serves(ctx context.Context, client *http.Client, path string, want int) error {
	status, err := dp.get(ctx, client, dp.proxy, path)
	if err != nil {
		return fmt.Errorf("%s GET %s: %w", dp.name, path, err)
	}
	if status != want {
		return fmt.Errorf("%s GET %s: status %d, want %d", dp.name, path, status, want)
	}
	return nil
}

// ready reports whether the status API says ready.
func (dp *dataPlane) ready(ctx context.Context, client *http.Client) bool {
	status, err := dp.get(ctx, client, dp.status, "/status/ready")
	return err == nil && status == http.StatusOK
}

// status returns the revision and configuration hash the data plane holds.
func (dp *dataPlane) held(ctx context.Context, client *http.Client) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+dp.status+"/status", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s status: %w", dp.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		ConfigurationHash string `json:"configuration_hash"`
		Gatehouse         struct {
			Revision int64 `json:"revision"`
		} `json:"gatehouse"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, "", fmt.Errorf("%s status: %w", dp.name, err)
	}
	return body.Gatehouse.Revision, body.ConfigurationHash, nil
}

// usedCache reports whether the last start loaded the cache.
func (dp *dataPlane) usedCache() bool {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.fromLog
}
