// Package status is sync-hub's plain-HTTP status listener: readiness for
// load balancers and orchestrators, a JSON view of the hub, and the
// Prometheus metrics.
package status

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/version"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
)

// Sources are what the status listener reports on.
type Sources struct {
	Hub      *hub.Hub
	Follower *follow.Follower
	HubID    string
}

// Status is the body of GET /status.
type Status struct {
	HubID      string        `json:"hub_id"`
	Version    string        `json:"version"`
	Revision   int64         `json:"revision"`
	ConfigHash string        `json:"config_hash"`
	Entities   int           `json:"entities"`
	Listening  bool          `json:"listening"`
	Postgres   Postgres      `json:"postgres"`
	DataPlanes DataPlanesSum `json:"data_planes"`
}

// Postgres is the hub's view of the database.
type Postgres struct {
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// LastSync is when a read last succeeded (Unix seconds, 0 for never).
	LastSync int64 `json:"last_sync"`
}

// DataPlanesSum counts the data planes connected to this hub.
type DataPlanesSum struct {
	Connected    int            `json:"connected"`
	BySyncStatus map[string]int `json:"by_sync_status"`
}

// Handler serves GET /status, GET /status/ready and GET /metrics.
func Handler(src Sources) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status/ready", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		if ok, reason := Ready(src); !ok {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": reason})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "ready"})
	}))
	mux.HandleFunc("/status", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Collect(src))
	}))
	metrics := promhttp.HandlerFor(src.Hub.Metrics().Registry, promhttp.HandlerOpts{})
	mux.Handle("/metrics", getOnly(metrics.ServeHTTP))
	return mux
}

// Ready reports whether the hub follows Postgres and listens, and if not,
// why.
func Ready(src Sources) (bool, string) {
	if src.Follower.Current() == nil {
		return false, "the configuration has not been loaded from Postgres yet"
	}
	if h := src.Follower.Health(); !h.Reachable {
		return false, "Postgres is unreachable: " + h.Error
	}
	if !src.Hub.Listening() {
		return false, "the cluster listener is not listening"
	}
	return true, ""
}

// Collect builds the body of GET /status.
func Collect(src Sources) Status {
	s := Status{
		HubID:     src.HubID,
		Version:   version.Version,
		Listening: src.Hub.Listening(),
		DataPlanes: DataPlanesSum{
			BySyncStatus: map[string]int{},
		},
	}
	if st := src.Follower.Current(); st != nil {
		s.Revision, s.ConfigHash, s.Entities = st.Revision, st.Hash, st.Set.Len()
	}
	h := src.Follower.Health()
	s.Postgres = Postgres{Reachable: h.Reachable, Error: h.Error}
	if !h.LastSync.IsZero() {
		s.Postgres.LastSync = h.LastSync.Unix()
	}
	for _, st := range protocol.SyncStatuses() {
		s.DataPlanes.BySyncStatus[string(st)] = 0
	}
	for _, dp := range src.Hub.DataPlanes() {
		s.DataPlanes.Connected++
		s.DataPlanes.BySyncStatus[string(dp.SyncStatus)]++
	}
	return s
}

func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "Method not allowed"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Server returns the status listener's HTTP server on addr.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
}
