package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
	"gatehouse.dev/sync-hub/internal/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func get(t *testing.T, srv *httptest.Server, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatusListener(t *testing.T) {
	t.Parallel()
	dbURL := hubtest.NewDatabase(t)
	direct := hubtest.Open(t, dbURL)
	proxy, proxied := hubtest.ProxyURL(t, dbURL)
	st := hubtest.Open(t, proxied)
	_, logger := hubtest.NewLog(t)
	f := follow.New(st, follow.Options{PollInterval: 50 * time.Millisecond, Logger: logger})
	material, _, _ := hubtest.SharedCert(t)
	h, err := hub.New(hub.Options{
		Addr: "127.0.0.1:0", TLS: material, Follower: f, Store: st, Logger: logger, HubID: "hub-status",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(status.Handler(status.Sources{Hub: h, Follower: f, HubID: "hub-status"}))
	defer srv.Close()

	// Not started: not ready, with the reason.
	if code, body := get(t, srv, http.MethodGet, "/status/ready"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "the configuration has not been loaded from Postgres yet") {
		t.Errorf("ready before start = %d %s", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	fDone, hDone := make(chan error, 1), make(chan error, 1)
	go func() { fDone <- f.Run(ctx) }()
	<-f.Ready()
	if code, body := get(t, srv, http.MethodGet, "/status/ready"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "the cluster listener is not listening") {
		t.Errorf("ready before listening = %d %s", code, body)
	}
	go func() { hDone <- h.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-hDone; err != nil {
			t.Errorf("hub: %v", err)
		}
		if err := <-fDone; !errors.Is(err, context.Canceled) {
			t.Errorf("follower: %v", err)
		}
	}()
	waitFor(t, "ready", func() bool {
		code, _ := get(t, srv, http.MethodGet, "/status/ready")
		return code == http.StatusOK
	})

	_, rev := hubtest.Service(t, direct, "svc")
	dp, err := hubtest.Connect(ctx, h.Addr(), material.ClientConfig("127.0.0.1"), hubtest.NewHello("1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer dp.Close()
	if err := dp.WaitRevision(ctx, rev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the data plane's status", func() bool {
		return len(h.DataPlanes()) == 1 && h.DataPlanes()[0].Revision == rev
	})

	code, body := get(t, srv, http.MethodGet, "/status")
	var s status.Status
	if err := json.Unmarshal([]byte(body), &s); err != nil || code != http.StatusOK {
		t.Fatalf("/status = %d %s (%v)", code, body, err)
	}
	if s.Revision != rev || s.ConfigHash != f.Current().Hash || s.Entities != 1 || !s.Listening || !s.Postgres.Reachable ||
		s.DataPlanes.Connected != 1 || s.DataPlanes.BySyncStatus["normal"] != 1 || s.HubID != "hub-status" {
		t.Errorf("/status = %s", body)
	}

	code, metrics := get(t, srv, http.MethodGet, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`gatehouse_sync_hub_data_planes{sync_status="normal"} 1`,
		`gatehouse_sync_hub_data_planes{sync_status="plugin_set_incompatible"} 0`,
		`gatehouse_sync_hub_data_plane_revision_lag{hostname="dp-test",node_id="` + dp.Hello.NodeID + `"} 0`,
		`gatehouse_sync_hub_push_latency_seconds_count 1`,
		`gatehouse_sync_hub_sent_messages_total{type="delta"} 1`,
		`gatehouse_sync_hub_sent_bytes_total{type="delta"}`,
		`gatehouse_sync_hub_snapshot_encodes_total 0`,
		`gatehouse_sync_hub_revision_checks_total{source="notification"}`,
		`gatehouse_sync_hub_revision_checks_total{source="poll"}`,
		`gatehouse_sync_hub_revision ` + itoa(rev),
		`gatehouse_sync_hub_postgres_up 1`,
		`gatehouse_sync_hub_data_plane_version_compatible{hostname="dp-test",node_id="` + dp.Hello.NodeID + `",version="1.0.0"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if code, _ := get(t, srv, http.MethodPost, "/status/ready"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /status/ready = %d, want 405", code)
	}

	// Postgres lost: not ready, with the reason; back: ready.
	proxy.Cut()
	waitFor(t, "not ready", func() bool {
		code, body := get(t, srv, http.MethodGet, "/status/ready")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "Postgres is unreachable")
	})
	if _, metrics := get(t, srv, http.MethodGet, "/metrics"); !strings.Contains(metrics, "gatehouse_sync_hub_postgres_up 0") {
		t.Error("postgres_up is not 0 while Postgres is cut")
	}
	proxy.Restore()
	waitFor(t, "ready again", func() bool {
		code, _ := get(t, srv, http.MethodGet, "/status/ready")
		return code == http.StatusOK
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
