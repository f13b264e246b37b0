package httpapi

import (
	"context"
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

// writeHandler reads the request's entity input, runs op on it and
// answers the entity op returns with status.
func (a *API) writeHandler(status int, op func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		e, err := op(c.Request().Context(), c, in)
		if err != nil {
			return err
		}
		return writeJSON(c, status, e)
	}
}

// readHandler answers 200 with the entity op finds.
func readHandler(op func(ctx context.Context, c echo.Context) (map[string]any, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, err := op(c.Request().Context(), c)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	}
}

// entityRoutes registers /{E} and /{E}/{e}.
func (a *API) entityRoutes(t *entity.Type) {
	coll := collection(t)
	item := coll + "/:" + t.Name
	top := admin.Scope{}
	a.handle(http.MethodGet, coll, a.listHandler(t, nil, ""))
	a.handle(http.MethodPost, coll, a.writeHandler(http.StatusCreated, func(ctx context.Context, _ echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Create(ctx, t, top, in)
	}))
	a.handle(http.MethodGet, item, readHandler(func(ctx context.Context, c echo.Context) (map[string]any, error) {
		return a.svc.Get(ctx, t, top, param(c, t.Name))
	}))
	a.handle(http.MethodPut, item, a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Upsert(ctx, t, top, param(c, t.Name), in)
	}))
	a.handle(http.MethodPatch, item, a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Update(ctx, t, top, param(c, t.Name), in)
	}))
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
	a.handle(http.MethodGet, path, readHandler(func(ctx context.Context, c echo.Context) (map[string]any, error) {
		return a.svc.GetForeign(ctx, t, param(c, t.Name), field)
	}))
	a.handle(http.MethodPut, path, a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.UpsertForeign(ctx, t, param(c, t.Name), field, in)
	}))
	a.handle(http.MethodPatch, path, a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.UpdateForeign(ctx, t, param(c, t.Name), field, in)
	}))
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
	a.handle(http.MethodPost, coll, a.writeHandler(http.StatusCreated, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Create(ctx, t, scope(c), in)
	}))
	a.handle(http.MethodGet, item, readHandler(func(ctx context.Context, c echo.Context) (map[string]any, error) {
		return a.svc.Get(ctx, t, scope(c), param(c, t.Name))
	}))
	a.handle(http.MethodPatch, item, a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Update(ctx, t, scope(c), param(c, t.Name), in)
	}))
	a.handle(http.MethodDelete, item, func(c echo.Context) error {
		if err := a.svc.Delete(c.Request().Context(), t, scope(c), param(c, t.Name)); err != nil {
			return err
		}
		return noContent(c)
	})
	put := a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
		return a.svc.Upsert(ctx, t, scope(c), param(c, t.Name), in)
	})
	if t.Name == entity.Targets {
		// Kong's upstreams.lua: PUT updates an existing target, like PATCH.
		put = a.writeHandler(http.StatusOK, func(ctx context.Context, c echo.Context, in admin.Input) (map[string]any, error) {
			return a.svc.UpdateTarget(ctx, param(c, p.Name), param(c, t.Name), in)
		})
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
