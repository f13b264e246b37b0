// Package httpapi serves Kong's Admin API over HTTP on top of the admin
// use cases: the generated entity endpoints, the built-in ones (/, /status,
// /endpoints, /schemas, /tags, /config, /clustering), Kong's body decoding,
// pagination, errors and headers, the admin token, tracing and metrics.
// It is the only package that imports echo.
package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
)

// Options configures the API.
type Options struct {
	// Service runs the use cases (required).
	Service *admin.Service
	// Settings are the redacted settings GET / shows under
	// "configuration", keyed like kong.conf (admin_listen, ...).
	Settings map[string]string
	// NodeID and Hostname are what GET / reports.
	NodeID, Hostname string
	// Token, when set, must come in the Kong-Admin-Token header (or as
	// "Authorization: Bearer <token>").
	Token string
	// MaxBodySize is the largest request body accepted (default 16 MiB).
	MaxBodySize int64
	// Metrics records request metrics and serves /metrics (optional).
	Metrics *Metrics
	// Logger receives error and access logs (default slog.Default()).
	Logger *slog.Logger
}

// API is the Admin API handler. It is safe for concurrent use.
type API struct {
	e        *echo.Echo
	svc      *admin.Service
	cat      *entity.Catalog
	plugins  *plugin.Set
	settings map[string]string
	nodeID   string
	hostname string
	token    []byte
	maxBody  int64
	metrics  *Metrics
	log      *slog.Logger
	started  time.Time

	// routes maps each path template to its methods; paths lists the
	// templates in registration order.
	routes map[string]map[string]echo.HandlerFunc
	paths  []string

	conns connStats
}

// New builds the API with every route registered.
func New(opts Options) *API {
	a := &API{
		svc:      opts.Service,
		cat:      opts.Service.Catalog(),
		plugins:  opts.Service.Plugins(),
		settings: opts.Settings,
		nodeID:   opts.NodeID,
		hostname: opts.Hostname,
		maxBody:  opts.MaxBodySize,
		metrics:  opts.Metrics,
		log:      opts.Logger,
		started:  time.Now(),
		routes:   map[string]map[string]echo.HandlerFunc{},
	}
	if opts.Token != "" {
		a.token = []byte(opts.Token)
	}
	if a.maxBody <= 0 {
		a.maxBody = 16 << 20
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) { a.writeError(c, err) }
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(a.headers, a.observe, a.recover, a.authenticate, a.limitArgs)
	a.e = e
	a.registerRoutes()
	a.mount()
	return a
}

// ServeHTTP serves a request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.e.ServeHTTP(w, r)
}

// handle registers a handler for a method and an echo path template.
func (a *API) handle(method, path string, h echo.HandlerFunc) {
	m, ok := a.routes[path]
	if !ok {
		m = map[string]echo.HandlerFunc{}
		a.routes[path] = m
		a.paths = append(a.paths, path)
	}
	m[method] = h
}

// mount registers the collected routes with echo, adding HEAD for every
// GET and OPTIONS everywhere.
func (a *API) mount() {
	for _, path := range a.paths {
		methods := a.routes[path]
		if get, ok := methods[http.MethodGet]; ok {
			if _, ok := methods[http.MethodHead]; !ok {
				methods[http.MethodHead] = get
			}
		}
		names := []string{http.MethodOptions}
		for m := range methods {
			names = append(names, m)
		}
		sort.Strings(names)
		allow := strings.Join(slices.Compact(names), ", ")
		methods[http.MethodOptions] = options(allow)
		for m, h := range methods {
			a.e.Add(m, path, routed(path, h))
		}
	}
}

// routed records the route template for metrics and spans. Echo lets a
// path parameter at the end of a route swallow further segments
// (/snis/{s}/certificate would reach /snis/{s}); such a request matches no
// route of Kong's and is answered 404. A parameter holding an escaped
// slash (%2F) is unaffected: parameters keep their escapes then.
func routed(path string, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, v := range c.ParamValues() {
			if strings.Contains(v, "/") {
				return echo.ErrNotFound
			}
		}
		c.Set(routeKey, path)
		return h(c)
	}
}

// options answers a preflight or OPTIONS request with the path's methods.
func options(allow string) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Allow", allow)
		h.Set("Access-Control-Allow-Methods", allow)
		asked := c.Request().Header.Get("Access-Control-Request-Headers")
		if asked == "" {
			asked = "Content-Type"
		}
		h.Set("Access-Control-Allow-Headers", asked)
		return c.NoContent(http.StatusNoContent)
	}
}

// endpoints lists the route templates as Kong's GET /endpoints does:
// "{name}" placeholders, sorted segment by segment.
func (a *API) endpoints() []string {
	out := make([]string, 0, len(a.paths))
	for _, p := range a.paths {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		out = append(out, strings.Join(segs, "/"))
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ReplaceAll(out[i], "/", "\x00") < strings.ReplaceAll(out[j], "/", "\x00")
	})
	return out
}

// ConnState tracks connections for GET /status; set it as the
// http.Server's ConnState.
func (a *API) ConnState(c net.Conn, s http.ConnState) { a.conns.track(c, s) }

// connStats counts connections by state, as nginx's stub_status does.
type connStats struct {
	accepted, active, idle, busy, requests atomic.Int64
	states                                 sync.Map // net.Conn → http.ConnState
}

func (cs *connStats) track(c net.Conn, s http.ConnState) {
	prev, _ := cs.states.Load(c)
	switch prev {
	case http.StateIdle:
		cs.idle.Add(-1)
	case http.StateActive:
		cs.busy.Add(-1)
	}
	switch s {
	case http.StateNew:
		cs.accepted.Add(1)
		cs.active.Add(1)
	case http.StateIdle:
		cs.idle.Add(1)
	case http.StateActive:
		cs.busy.Add(1)
	case http.StateClosed, http.StateHijacked:
		cs.active.Add(-1)
		cs.states.Delete(c)
		return
	}
	cs.states.Store(c, s)
}
