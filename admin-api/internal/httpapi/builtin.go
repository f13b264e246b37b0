package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/version"
)

// builtinRoutes registers Kong's built-in endpoints.
func (a *API) builtinRoutes() {
	a.handle(http.MethodGet, "/", a.root)
	a.handle(http.MethodGet, "/status", a.status)
	a.handle(http.MethodGet, "/endpoints", func(c echo.Context) error {
		return writeJSON(c, http.StatusOK, map[string]any{"data": a.endpoints()})
	})
	if a.metrics != nil {
		h := a.metrics.Handler()
		a.handle(http.MethodGet, "/metrics", echo.WrapHandler(h))
	}
	a.schemaRoutes()
	a.tagRoutes()
	a.configRoutes()
	a.clusteringRoutes()
}

// root is GET /: node information as Kong gives it, with the version
// Kong's tools check (the Kong level) and Gatehouse's own version.
func (a *API) root(c echo.Context) error {
	ctx := c.Request().Context()
	enabled, err := a.svc.PluginNames(ctx)
	if err != nil {
		return err
	}
	loaded := map[string]any{}
	names := a.plugins.Names()
	for _, n := range names {
		loaded[n] = true
	}
	conf := map[string]any{}
	for k, v := range a.settings {
		conf[k] = v
	}
	conf["database"] = "postgres"
	conf["role"] = "control_plane"
	conf["router_flavor"] = "traditional_compatible"
	conf["loaded_plugins"] = loaded
	conf["portal"] = false
	conf["rbac"] = "off"
	conf["node_id"] = a.nodeID
	conf["version"] = version.KongLevel
	if names == nil {
		names = []string{}
	}
	conf["plugins"] = names
	pid := os.Getpid()
	return writeJSON(c, http.StatusOK, map[string]any{
		"tagline":           "Welcome to kong",
		"version":           version.KongLevel,
		"gatehouse_version": version.Version,
		"edition":           "community",
		"hostname":          a.hostname,
		"node_id":           a.nodeID,
		"timers":            map[string]any{"running": 0, "pending": 0},
		"plugins": map[string]any{
			"available_on_server": a.plugins.AvailableOnServer(),
			"enabled_in_cluster":  enabled,
		},
		"lua_version":   runtime.Version(),
		"configuration": conf,
		"pids":          map[string]any{"master": pid, "workers": []int{pid}},
	})
}

// pingTimeout bounds GET /status's database check.
const pingTimeout = 2 * time.Second

// status is GET /status: connection counters, memory, and whether the
// database answers (it always answers 200, also when it does not).
func (a *API) status(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), pingTimeout)
	defer cancel()
	reachable := a.svc.Ping(ctx) == nil
	db := map[string]any{"reachable": reachable}
	if reachable {
		if rev, err := a.svc.Latest(ctx); err == nil {
			db["revision"] = rev
		}
	}
	mem, err := memoryStats(c.QueryParam("unit"), c.QueryParam("scale"))
	if err != nil {
		return err
	}
	cs := &a.conns
	return writeJSON(c, http.StatusOK, map[string]any{
		"server": map[string]any{
			"connections_accepted": cs.accepted.Load(),
			"connections_active":   cs.active.Load(),
			"connections_handled":  cs.accepted.Load(),
			"connections_reading":  0,
			"connections_writing":  cs.busy.Load(),
			"connections_waiting":  cs.idle.Load(),
			"total_requests":       cs.requests.Load(),
		},
		"memory":   mem,
		"database": db,
	})
}

// memoryStats reports the process memory the way Kong's /status shows its
// Lua VMs': "<n> MiB" strings for k, m and g units, bytes for b.
func memoryStats(unit, scale string) (map[string]any, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if unit == "" {
		unit = "m"
	}
	div, suffix := 0.0, ""
	switch unit {
	case "b", "B":
	case "k", "K":
		div, suffix = 1<<10, " KiB"
	case "m", "M":
		div, suffix = 1<<20, " MiB"
	case "g", "G":
		div, suffix = 1<<30, " GiB"
	default:
		return nil, errorf(http.StatusBadRequest, "invalid unit '"+unit+"' (expected 'k/K', 'm/M', or 'g/G')")
	}
	digits := 2
	if scale != "" {
		n, err := strconv.Atoi(scale)
		if err != nil || n < 0 || n > 10 {
			return nil, errorf(http.StatusBadRequest, "invalid scale '"+scale+"' (expected an integer between 0 and 10)")
		}
		digits = n
	}
	var used any = ms.HeapAlloc
	if div > 0 {
		used = fmt.Sprintf("%.*f%s", digits, float64(ms.HeapAlloc)/div, suffix)
	}
	return map[string]any{
		"lua_shared_dicts": map[string]any{},
		"workers_lua_vms":  []map[string]any{{"http_allocated_gc": used, "pid": os.Getpid()}},
	}, nil
}

// schemaRoutes registers /schemas and the validate endpoints.
func (a *API) schemaRoutes() {
	a.handle(http.MethodGet, "/schemas/:db_entity_name", func(c echo.Context) error {
		name := param(c, "db_entity_name")
		t := a.cat.Type(name)
		if t == nil {
			return errorf(http.StatusNotFound, "No entity named '"+name+"'")
		}
		return writeJSON(c, http.StatusOK, t.Schema.KongJSON())
	})
	a.handle(http.MethodGet, "/schemas/plugins/:name", func(c echo.Context) error {
		name := param(c, "name")
		p := a.plugins.Get(name)
		if p == nil {
			return errorf(http.StatusNotFound, "No plugin named '"+name+"'")
		}
		return writeJSON(c, http.StatusOK, p.KongJSON())
	})
	validate := func(t *entity.Type) echo.HandlerFunc {
		return func(c echo.Context) error {
			in, err := a.input(c)
			if err != nil {
				return err
			}
			if err := a.svc.ValidateEntity(t, in); err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, messageBody{"schema validation successful"})
		}
	}
	a.handle(http.MethodPost, "/schemas/:db_entity_name/validate", func(c echo.Context) error {
		name := param(c, "db_entity_name")
		t := a.cat.Type(name)
		if t == nil {
			return errorf(http.StatusNotFound, "No entity named '"+name+"'")
		}
		return validate(t)(c)
	})
	a.handle(http.MethodPost, "/schemas/plugins/validate", validate(a.cat.Type(entity.Plugins)))
}

// tagRoutes registers /tags and /tags/{tag}.
func (a *API) tagRoutes() {
	list := func(c echo.Context, tag string, hasTag bool, base string) error {
		lq, err := parseList(c, false)
		if err != nil {
			return err
		}
		page, err := a.svc.Tags(c.Request().Context(), tag, hasTag, lq.opts)
		if err != nil {
			return err
		}
		return writePage(c, page.Data, page.Offset, base, lq, false)
	}
	a.handle(http.MethodGet, "/tags", func(c echo.Context) error {
		return list(c, "", false, "/tags")
	})
	a.handle(http.MethodGet, "/tags/:tags", func(c echo.Context) error {
		// The tag as sent: an invalid one is reported (code 10).
		return list(c, paramBytes(c, "tags"), true, "/tags/"+rawParam(c, "tags"))
	})
}

// clusteringRoutes registers /clustering/data-planes and the deprecated
// /clustering/status, read from the table sync-hub writes.
func (a *API) clusteringRoutes() {
	a.handle(http.MethodGet, "/clustering/data-planes", func(c echo.Context) error {
		lq, err := parseList(c, false)
		if err != nil {
			return err
		}
		page, err := a.svc.DataPlanes(c.Request().Context(), lq.opts)
		if err != nil {
			return err
		}
		return writePage(c, page.Data, page.Offset, "/clustering/data-planes", lq, false)
	})
	a.handle(http.MethodGet, "/clustering/status", func(c echo.Context) error {
		out := map[string]any{}
		opts := admin.ListOptions{Size: maxPageSize}
		for {
			page, err := a.svc.DataPlanes(c.Request().Context(), opts)
			if err != nil {
				return err
			}
			for _, dp := range page.Data {
				out[dp.ID] = map[string]any{
					"config_hash": dp.ConfigHash, "hostname": dp.Hostname, "ip": dp.IP, "last_seen": dp.LastSeen,
				}
			}
			if page.Offset == "" {
				break
			}
			opts.Offset = page.Offset
		}
		c.Response().Header().Set("Deprecation", "true")
		return writeJSON(c, http.StatusOK, out)
	})
}
