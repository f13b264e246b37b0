package router

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
)

var catalog = sync.OnceValues(func() (*entity.Catalog, error) {
	ps, err := plugin.Load("bundled")
	if err != nil {
		return nil, err
	}
	return entity.New(ps)
})

// write validates a record through its entity type, as the control plane
// does, and returns the stored form.
func write(tb testing.TB, typ string, in map[string]any) map[string]any {
	tb.Helper()
	c, err := catalog()
	if err != nil {
		tb.Fatal(err)
	}
	out, serr := c.Type(typ).Write(in, schema.Insert, time.Unix(1700000000, 0))
	if serr != nil {
		tb.Fatalf("write %s %v: %v", typ, in, serr)
	}
	return out
}

// id returns a fixed UUID whose order follows n.
func id(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// rt is a route under construction: name it, give it fields.
type rt map[string]any

// build writes routes (named by their "name" field, given ids in order
// unless they carry one) and services, and compiles them.
func build(tb testing.TB, services []map[string]any, routes ...rt) *Router {
	tb.Helper()
	recs := make([]map[string]any, len(routes))
	for i, r := range routes {
		in := maps.Clone(map[string]any(r))
		if in["id"] == nil {
			in["id"] = id(i + 1)
		}
		recs[i] = write(tb, "routes", in)
	}
	router, err := Compile(recs, services)
	if err != nil {
		tb.Fatal(err)
	}
	if s := router.Skipped(); len(s) > 0 {
		tb.Fatalf("skipped routes: %v", s)
	}
	return router
}

// matchName returns the name of the route req matches, "" for none.
func matchName(r *Router, req *Request) string {
	m, ok := r.Match(req)
	if !ok {
		return ""
	}
	return m.Route.Name
}
