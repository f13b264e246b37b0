package statusapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusBody is GET /status: Kong's shape for a data plane
// (configuration_hash, no database) and Gatehouse's extras apart.
type statusBody struct {
	ConfigurationHash string        `json:"configuration_hash,omitempty"`
	Memory            memoryBody    `json:"memory"`
	Server            serverBody    `json:"server"`
	Gatehouse         gatehouseBody `json:"gatehouse"`
}

type memoryBody struct {
	LuaSharedDicts map[string]sharedDictBody `json:"lua_shared_dicts"`
	WorkersLuaVMs  []workerBody              `json:"workers_lua_vms"`
}

type sharedDictBody struct {
	AllocatedSlabs string `json:"allocated_slabs"`
	Capacity       string `json:"capacity"`
}

type workerBody struct {
	HTTPAllocatedGC string `json:"http_allocated_gc"`
	PID             int    `json:"pid"`
}

type serverBody struct {
	ConnectionsAccepted int64 `json:"connections_accepted"`
	ConnectionsActive   int64 `json:"connections_active"`
	ConnectionsHandled  int64 `json:"connections_handled"`
	ConnectionsReading  int64 `json:"connections_reading"`
	ConnectionsWaiting  int64 `json:"connections_waiting"`
	ConnectionsWriting  int64 `json:"connections_writing"`
	TotalRequests       int64 `json:"total_requests"`
}

type gatehouseBody struct {
	NodeID       string           `json:"node_id"`
	Revision     int64            `json:"revision"`
	Draining     bool             `json:"draining"`
	LastSync     *string          `json:"last_sync"`
	LastError    *string          `json:"last_error"`
	ControlPlane controlPlaneBody `json:"control_plane"`
}

type controlPlaneBody struct {
	Address           *string `json:"address"`
	Connected         bool    `json:"connected"`
	Since             *string `json:"since"`
	ClusterCertExpiry *string `json:"cluster_cert_expiry"`
}

// timeLayout is how /status shows times: RFC 3339 in UTC with
// milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	f, msg := parseByteFormat(r)
	if msg != "" {
		writeMessage(w, http.StatusBadRequest, msg)
		return
	}
	st := h.src.Status()
	mem := memoryBody{
		LuaSharedDicts: make(map[string]sharedDictBody, len(st.Memory.SharedDicts)),
		WorkersLuaVMs:  make([]workerBody, 0, len(st.Memory.Workers)),
	}
	for name, d := range st.Memory.SharedDicts {
		mem.LuaSharedDicts[name] = sharedDictBody{AllocatedSlabs: f.format(d.Allocated), Capacity: f.format(d.Capacity)}
	}
	for _, wk := range st.Memory.Workers {
		mem.WorkersLuaVMs = append(mem.WorkersLuaVMs, workerBody{HTTPAllocatedGC: f.format(wk.Allocated), PID: wk.PID})
	}
	s := st.Server
	writeJSON(w, http.StatusOK, statusBody{
		ConfigurationHash: st.ConfigurationHash,
		Memory:            mem,
		Server: serverBody{
			ConnectionsAccepted: s.ConnectionsAccepted,
			ConnectionsActive:   s.ConnectionsActive,
			ConnectionsHandled:  s.ConnectionsHandled,
			ConnectionsReading:  s.ConnectionsReading,
			ConnectionsWaiting:  s.ConnectionsWaiting,
			ConnectionsWriting:  s.ConnectionsWriting,
			TotalRequests:       s.TotalRequests,
		},
		Gatehouse: gatehouseBody{
			NodeID:    h.opts.NodeID,
			Revision:  st.Revision,
			Draining:  h.draining.Load(),
			LastSync:  timeOrNull(st.LastSync),
			LastError: stringOrNull(st.LastError),
			ControlPlane: controlPlaneBody{
				Address:           stringOrNull(st.ControlPlane.Address),
				Connected:         st.ControlPlane.Connected,
				Since:             timeOrNull(st.ControlPlane.Since),
				ClusterCertExpiry: timeOrNull(st.ControlPlane.CertExpiry),
			},
		},
	})
}

func timeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(timeLayout)
	return &s
}

func stringOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// byteFormat is how /status writes byte counts: kong.tools.utils
// bytes_to_str with a unit and a scale.
type byteFormat struct {
	unit  string // "b", "k", "m" or "g"
	scale int
}

// maxScale bounds ?scale: Lua's string.format refuses a precision above
// 99.
const maxScale = 99

// parseByteFormat reads ?unit= (b, k, m or g in either case; default m;
// empty means bytes) and ?scale= (digits after the point, default 2; a
// value that is not a number is ignored and a fraction truncated, as Lua's
// tonumber and %d do). It returns Kong's message for a bad value.
func parseByteFormat(r *http.Request) (byteFormat, string) {
	q := r.URL.Query()
	f := byteFormat{unit: "m", scale: 2}
	if q.Has("unit") {
		f.unit = q.Get("unit")
	}
	unit := strings.ToLower(f.unit)
	if unit == "" || unit == "b" {
		// bytes_to_str returns integers before it looks at the scale.
		return byteFormat{unit: "b"}, ""
	}
	if s, err := strconv.ParseFloat(strings.TrimSpace(q.Get("scale")), 64); err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
		switch {
		case s < 0:
			return f, "scale must be equal or greater than 0"
		case s > maxScale:
			return f, "scale must be equal or less than " + strconv.Itoa(maxScale)
		}
		f.scale = int(s)
	}
	switch unit {
	case "k", "m", "g":
		f.unit = unit
		return f, ""
	default:
		return f, "invalid unit '" + f.unit + "' (expected 'k/K', 'm/M', or 'g/G')"
	}
}

// format is bytes_to_str: "%d" for bytes, else "%.<scale>f KiB|MiB|GiB".
func (f byteFormat) format(n uint64) string {
	var div float64
	var suffix string
	switch f.unit {
	case "k":
		div, suffix = 1<<10, " KiB"
	case "m":
		div, suffix = 1<<20, " MiB"
	case "g":
		div, suffix = 1<<30, " GiB"
	default:
		return strconv.FormatUint(n, 10)
	}
	return strconv.FormatFloat(float64(n)/div, 'f', f.scale, 64) + suffix
}
