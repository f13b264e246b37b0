package statusapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure Handler. The zero value serves every endpoint but
// /metrics, accepts draining from loopback only and logs to slog.Default.
type Options struct {
	// NodeID is the data plane's node id, shown as node_id by
	// /upstreams/{upstream}/health and in /status.
	NodeID string

	// Token (GATEHOUSE_STATUS_TOKEN), when set, lets a client that is not
	// on loopback set draining by sending it in a Kong-Admin-Token header
	// or as "Authorization: Bearer <token>". It is compared in constant
	// time and never logged.
	Token string

	// Gatherer is the data plane's one registry, served on /metrics.
	// Nil answers 404 there.
	Gatherer prometheus.Gatherer

	// OnDrain, when set, is called once, by the request that first sets
	// draining, before that request is answered. It must not block: a
	// data plane typically starts its shutdown timer from it.
	OnDrain func()

	// Logger receives draining events and /metrics gathering errors; nil
	// uses slog.Default().
	Logger *slog.Logger
}

// Handler returns the status API: Kong's Status API endpoints for a data
// plane, read from src.
//
//	GET  /status                                 counters, memory, configuration hash, sync state
//	GET  /status/ready                           200 ready, 503 with a reason, 503 draining
//	POST /status/ready                           status=draining: 204 (loopback or Options.Token)
//	GET  /metrics                                Options.Gatherer in Prometheus text format
//	GET  /upstreams/{upstream}/targets           active targets, paginated
//	GET  /upstreams/{upstream}/targets/all       every target, paginated
//	GET  /upstreams/{upstream}/health            active targets with health (?balancer_health=1)
//	GET  /upstreams/{upstream}/targets/{target}  one target by id or host:port
//
// A trailing slash is optional and HEAD answers as GET without a body.
// Any other method on these paths answers 405 {"message":"Method not
// allowed"}, any other path 404 {"message":"Not found"}. Nothing but the
// drain flag, which the handler holds, ever changes state. The handler
// is safe for concurrent use.
func Handler(src Source, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{src: src, opts: opts}
}

type handler struct {
	src      Source
	opts     Options
	draining atomic.Bool
}

// route is an endpoint of the status API.
type route int

const (
	routeNone route = iota
	routeStatus
	routeReady
	routeMetrics
	routeTargets
	routeAllTargets
	routeHealth
	routeTarget
)

// match finds the route for a path and its {upstream} and {target}
// parameters, unescaped.
func match(escapedPath string) (r route, upstream, target string) {
	if !strings.HasPrefix(escapedPath, "/") {
		return routeNone, "", ""
	}
	p := escapedPath[1:]
	p = strings.TrimSuffix(p, "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return routeNone, "", ""
		}
		segs[i] = u
	}
	switch {
	case len(segs) == 1 && segs[0] == "status":
		return routeStatus, "", ""
	case len(segs) == 1 && segs[0] == "metrics":
		return routeMetrics, "", ""
	case len(segs) == 2 && segs[0] == "status" && segs[1] == "ready":
		return routeReady, "", ""
	case len(segs) < 3 || len(segs) > 4 || segs[0] != "upstreams":
		return routeNone, "", ""
	case len(segs) == 3 && segs[2] == "targets":
		return routeTargets, segs[1], ""
	case len(segs) == 3 && segs[2] == "health":
		return routeHealth, segs[1], ""
	case len(segs) == 4 && segs[2] == "targets" && segs[3] == "all":
		return routeAllTargets, segs[1], ""
	case len(segs) == 4 && segs[2] == "targets":
		return routeTarget, segs[1], segs[3]
	default:
		return routeNone, "", ""
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, upstream, target := match(r.URL.EscapedPath())
	if rt == routeNone {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	if rt == routeReady && r.Method == http.MethodPost {
		h.setDraining(w, r)
		return
	}
	if !get {
		allow := "GET, HEAD"
		if rt == routeReady {
			allow = "GET, HEAD, POST"
		}
		w.Header().Set("Allow", allow)
		writeMessage(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	switch rt {
	case routeStatus:
		h.status(w, r)
	case routeReady:
		h.ready(w)
	case routeMetrics:
		h.metrics(w)
	case routeTargets:
		h.targets(w, r, upstream, false)
	case routeAllTargets:
		h.targets(w, r, upstream, true)
	case routeHealth:
		h.health(w, r, upstream)
	case routeTarget:
		h.target(w, upstream, target)
	case routeNone:
		// Answered above.
	}
}

// jsonContentType is the Content-Type of every JSON answer.
const jsonContentType = "application/json; charset=utf-8"

// writeJSON answers with v encoded as compact JSON (no HTML escaping,
// no trailing newline, as Kong's cjson).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every body is built from plain structs; this is a bug.
		writeMessage(w, http.StatusInternalServerError, "An unexpected error occurred")
		return
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// message is Kong's {"message": "..."} body.
type message struct {
	Message string `json:"message"`
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, message{Message: msg})
}
