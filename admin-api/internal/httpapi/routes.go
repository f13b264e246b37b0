package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/entity"
)

// registerRoutes registers every route: the entity endpoints generated
// from the catalog, then the special and built-in ones.
func (a *API) registerRoutes() {
	for _, t := range a.cat.Types() {
		if !t.GenerateAdminAPI {
			continue
		}
		if t.Name != entity.Targets {
			// Kong disables /targets and /targets/{t}: targets live under
			// their upstream.
			a.entityRoutes(t)
		}
		for _, fk := range t.ForeignKeys() {
			p := a.cat.Type(fk.Reference)
			if p == nil || !p.GenerateAdminAPI {
				continue
			}
			// Disabled in Kong: /targets/{t}/upstream, /snis/{s}/certificate.
			if t.Name != entity.Targets && (t.Name != entity.SNIs || fk.Field != "certificate") {
				a.foreignRoutes(t, fk.Field)
			}
			a.nestedRoutes(p, t, fk.Field)
		}
	}
	a.specialRoutes()
	a.builtinRoutes()
}

// collection is the path of a type's collection.
func collection(t *entity.Type) string { return "/" + t.AdminName }

// nestedName is the path segment of a type under its parent.
func nestedName(t *entity.Type) string {
	if t.NestedName != "" {
		return t.NestedName
	}
	return t.AdminName
}

// entityRoutes registers /{E} and /{E}/{e}.
func (a *API) entityRoutes(t *entity.Type) {
	coll := collection(t)
	item := coll + "/:" + t.Name
	top := admin.Scope{}
	a.handle(http.MethodGet, coll, a.listHandler(t, nil, ""))
	a.handle(http.MethodPost, coll, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Create(c.Request().Context(), t, top, in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusCreated, e)
	})
	a.handle(http.MethodGet, item, func(c echo.Context) error {
		e, err := a.svc.Get(c.Request().Context(), t, top, param(c, t.Name))
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodPut, item, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Upsert(c.Request().Context(), t, top, param(c, t.Name), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodPatch, item, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Update(c.Request().Context(), t, top, param(c, t.Name), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodDelete, item, func(c echo.Context) error {
		if err := a.svc.Delete(c.Request().Context(), t, top, param(c, t.Name)); err != nil {
			return err
		}
		return noContent(c)
	})
}

// foreignRoutes registers /{E}/{e}/{F}, the entity a foreign field
// points at.
func (a *API) foreignRoutes(t *entity.Type, field string) {
	path := collection(t) + "/:" + t.Name + "/" + field
	a.handle(http.MethodGet, path, func(c echo.Context) error {
		e, err := a.svc.GetForeign(c.Request().Context(), t, param(c, t.Name), field)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodPut, path, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.UpsertForeign(c.Request().Context(), t, param(c, t.Name), field, in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodPatch, path, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.UpdateForeign(c.Request().Context(), t, param(c, t.Name), field, in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodDelete, path, func(c echo.Context) error {
		return a.svc.DeleteForeign(c.Request().Context(), t, param(c, t.Name), field)
	})
}

// nestedRoutes registers /{P}/{p}/{E} and /{P}/{p}/{E}/{e}.
func (a *API) nestedRoutes(p, t *entity.Type, field string) {
	coll := collection(p) + "/:" + p.Name + "/" + nestedName(t)
	item := coll + "/:" + t.Name
	scope := func(c echo.Context) admin.Scope {
		return admin.Scope{Parent: p, ParentKey: param(c, p.Name), Field: field}
	}
	a.handle(http.MethodGet, coll, a.listHandler(t, p, field))
	a.handle(http.MethodPost, coll, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Create(c.Request().Context(), t, scope(c), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusCreated, e)
	})
	a.handle(http.MethodGet, item, func(c echo.Context) error {
		e, err := a.svc.Get(c.Request().Context(), t, scope(c), param(c, t.Name))
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodPatch, item, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Update(c.Request().Context(), t, scope(c), param(c, t.Name), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodDelete, item, func(c echo.Context) error {
		if err := a.svc.Delete(c.Request().Context(), t, scope(c), param(c, t.Name)); err != nil {
			return err
		}
		return noContent(c)
	})
	put := func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := a.svc.Upsert(c.Request().Context(), t, scope(c), param(c, t.Name), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	}
	if t.Name == entity.Targets {
		// Kong's upstreams.lua: PUT updates an existing target, like PATCH.
		put = func(c echo.Context) error {
			in, err := a.input(c)
			if err != nil {
				return err
			}
			e, err := a.svc.UpdateTarget(c.Request().Context(), param(c, p.Name), param(c, t.Name), in)
			if err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, e)
		}
		a.handle(http.MethodPatch, item, put)
		a.handle(http.MethodGet, coll+"/all", a.listHandler(t, p, field))
	}
	a.handle(http.MethodPut, item, put)
}

// listHandler lists a collection: top-level when parent is nil (tags
// filter, next link repeats tags and size), else under the parent.
func (a *API) listHandler(t *entity.Type, parent *entity.Type, field string) echo.HandlerFunc {
	return func(c echo.Context) error {
		lq, err := parseList(c, parent == nil)
		if err != nil {
			return err
		}
		scope := admin.Scope{}
		base := collection(t)
		if parent != nil {
			scope = admin.Scope{Parent: parent, ParentKey: param(c, parent.Name), Field: field}
			base = collection(parent) + "/" + rawParam(c, parent.Name) + "/" + nestedName(t)
			if c.Path() != "" && len(c.Path()) > 4 && c.Path()[len(c.Path())-4:] == "/all" {
				base += "/all"
			}
		}
		page, err := a.svc.List(c.Request().Context(), t, scope, lq.opts)
		if err != nil {
			return err
		}
		return writePage(c, dataOf(page.Data), page.Offset, base, lq, parent == nil)
	}
}

// dataOf makes sure an empty page is [] and not null.
func dataOf(list []map[string]any) []map[string]any {
	if list == nil {
		return []map[string]any{}
	}
	return list
}
