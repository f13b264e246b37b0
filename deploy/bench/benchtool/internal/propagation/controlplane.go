package propagation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// controlPlane is admin-api and sync-hub on a database of their own.
type controlPlane struct {
	o         Options
	database  string
	pgURL     string
	cert, key string
	admin     *proc
	hub       *proc
	adminURL  string
	hubAddr   string // cluster listener
	hubStatus string // status listener host:port
	http      *http.Client
}

// startControlPlane creates a database, migrates it and starts admin-api
// and sync-hub on free ports.
func startControlPlane(ctx context.Context, o Options, name string) (*controlPlane, error) {
	cp := &controlPlane{o: o, database: name, http: &http.Client{Timeout: 5 * time.Minute}}
	u, err := url.Parse(o.PGURL)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	u.Path = "/" + name
	cp.pgURL = u.String()
	if err := cp.psql(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", name), fmt.Sprintf("CREATE DATABASE %q", name)); err != nil {
		return nil, err
	}
	env := []string{"GATEHOUSE_PG_URL=" + cp.pgURL, "GATEHOUSE_LOG_LEVEL=warn"}
	migrate := exec.CommandContext(ctx, filepath.Join(o.Bin, "admin-api"), "migrate") //nolint:gosec // the binary under test
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("admin-api migrate: %w: %s", err, out)
	}
	cp.cert, cp.key = filepath.Join(o.Dir, "cluster.crt"), filepath.Join(o.Dir, "cluster.key")
	if out, err := exec.CommandContext(ctx, filepath.Join(o.Bin, "sync-hub"), "cert", cp.cert, cp.key).CombinedOutput(); err != nil && //nolint:gosec // the binary under test
		!strings.Contains(string(out), "exist") {
		return nil, fmt.Errorf("sync-hub cert: %w: %s", err, out)
	}

	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(ctx); err != nil {
			return nil, err
		}
	}
	cp.adminURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	cp.hubAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	cp.hubStatus = fmt.Sprintf("127.0.0.1:%d", ports[2])
	cp.admin, err = startProc("admin-api", filepath.Join(o.Bin, "admin-api"), nil,
		append(env, fmt.Sprintf("GATEHOUSE_ADMIN_LISTEN=127.0.0.1:%d", ports[0]), "GATEHOUSE_ADMIN_MAX_BODY_SIZE=64m"), o.Dir, nil)
	if err != nil {
		return nil, err
	}
	cp.hub, err = startProc("sync-hub", filepath.Join(o.Bin, "sync-hub"), nil, append(env,
		"GATEHOUSE_CLUSTER_LISTEN="+cp.hubAddr, "GATEHOUSE_STATUS_LISTEN="+cp.hubStatus,
		"GATEHOUSE_CLUSTER_CERT="+cp.cert, "GATEHOUSE_CLUSTER_CERT_KEY="+cp.key, "GATEHOUSE_CLUSTER_HUB_ID=bench",
		"GATEHOUSE_CLUSTER_MAX_PAYLOAD=67108864"), o.Dir, nil)
	if err != nil {
		cp.stop(ctx)
		return nil, err
	}
	for _, w := range []struct {
		p   *proc
		url string
	}{{cp.admin, cp.adminURL + "/status"}, {cp.hub, "http://" + cp.hubStatus + "/status/ready"}} {
		if err := poll(ctx, 50*time.Millisecond, 30*time.Second, func() error {
			if w.p.exited() {
				return w.p.exitError()
			}
			_, err := cp.do(ctx, http.MethodGet, w.url, nil, http.StatusOK)
			return err
		}); err != nil {
			cp.stop(ctx)
			return nil, fmt.Errorf("%s does not answer: %w", w.p.name, err)
		}
	}
	return cp, nil
}

// stop stops the services and drops the database.
func (cp *controlPlane) stop(ctx context.Context) {
	for _, p := range []*proc{cp.hub, cp.admin} {
		if p != nil {
			_ = p.stop(10 * time.Second)
		}
	}
	_ = cp.psql(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", cp.database))
}

// psql runs statements on the server's postgres database.
func (cp *controlPlane) psql(ctx context.Context, statements ...string) error {
	u, err := url.Parse(cp.o.PGURL)
	if err != nil {
		return fmt.Errorf("postgres url: %w", err)
	}
	u.Path = "/postgres"
	for _, s := range statements {
		out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", u.String(), "-c", s).CombinedOutput() //nolint:gosec // fixed statements
		if err != nil {
			return fmt.Errorf("psql %q: %w: %s", s, err, out)
		}
	}
	return nil
}

// do sends a request and checks the status; it returns the body.
func (cp *controlPlane) do(ctx context.Context, method, u string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cp.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode != want {
		return data, fmt.Errorf("%s %s: status %d, want %d: %.300s", method, u, resp.StatusCode, want, data)
	}
	return data, nil
}

// admin calls the Admin API; it returns when the response has been read.
func (cp *controlPlane) adminCall(ctx context.Context, method, path string, body []byte, want int) error {
	_, err := cp.do(ctx, method, cp.adminURL+path, body, want)
	return err
}

// sent returns sync-hub's counters of bytes and messages sent, by message
// type, from its /metrics.
func (cp *controlPlane) sent(ctx context.Context) (bytes, messages map[string]float64, err error) {
	data, err := cp.do(ctx, http.MethodGet, "http://"+cp.hubStatus+"/metrics", nil, http.StatusOK)
	if err != nil {
		return nil, nil, err
	}
	bytes, messages = map[string]float64{}, map[string]float64{}
	for line := range strings.Lines(string(data)) {
		var into map[string]float64
		switch {
		case strings.HasPrefix(line, "gatehouse_sync_hub_sent_bytes_total{"):
			into = bytes
		case strings.HasPrefix(line, "gatehouse_sync_hub_sent_messages_total{"):
			into = messages
		default:
			continue
		}
		_, rest, _ := strings.Cut(line, `type="`)
		typ, rest, _ := strings.Cut(rest, `"`)
		_, value, _ := strings.Cut(rest, "} ")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("sync-hub metrics: %q: %w", line, err)
		}
		into[typ] = v
	}
	return bytes, messages, nil
}
