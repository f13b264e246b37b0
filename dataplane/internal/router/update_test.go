package router

import (
	"fmt"
	"maps"
	"testing"

	"gatehouse.dev/shared/entity"
)

// TestUpdateReusesUnchanged: Update compiles only what changed, and the
// router it returns matches as a fresh Compile of the same records does.
func TestUpdateReusesUnchanged(t *testing.T) {
	t.Parallel()
	var services, routes []map[string]any
	for i := range 20 {
		services = append(services, write(t, entity.Services, map[string]any{
			"id": id(1000 + i), "name": fmt.Sprintf("svc-%d", i), "host": "upstream.internal",
		}))
		for j := range 3 {
			paths := []any{fmt.Sprintf("/s%d/r%d", i, j)}
			if j == 2 {
				paths = []any{fmt.Sprintf(`~/s%d/re/(?<n>\d+)$`, i)}
			}
			routes = append(routes, write(t, entity.Routes, map[string]any{
				"id": id(3*i + j), "name": fmt.Sprintf("r-%d-%d", i, j), "paths": paths,
				"service": map[string]any{"id": id(1000 + i)},
			}))
		}
	}
	prev, err := Compile(routes, services)
	if err != nil {
		t.Fatal(err)
	}

	// One route moves, one service is renamed, one route is removed.
	next := func(list []map[string]any) []map[string]any { return append([]map[string]any(nil), list...) }
	routes2, services2 := next(routes), next(services)
	moved := maps.Clone(routes[0])
	moved["paths"] = []any{"/moved"}
	routes2[0] = moved
	renamed := maps.Clone(services[5])
	renamed["name"] = "renamed"
	services2[5] = renamed
	routes2 = routes2[:len(routes2)-1]

	got, err := Update(prev, routes2, services2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Compile(routes2, services2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() {
		t.Fatalf("Update has %d routes, Compile %d", got.Len(), want.Len())
	}
	for i := range 20 {
		for _, path := range []string{fmt.Sprintf("/s%d/r0/x", i), fmt.Sprintf("/s%d/r1", i), fmt.Sprintf("/s%d/re/42", i), "/moved/y", "/s0/r0"} {
			req := &Request{Method: "GET", Host: "x", Port: 8000, Path: path}
			gm, gok := got.Match(req)
			wm, wok := want.Match(req)
			if gok != wok || (gok && (gm.Route.ID != wm.Route.ID || serviceName(gm) != serviceName(wm) || gm.Path != wm.Path)) {
				t.Errorf("%s: Update matched %v %s/%s, Compile %v %s/%s", path, gok, routeID(gm, gok), serviceName(gm), wok, routeID(wm, wok), serviceName(wm))
			}
			if g, ok := gm.Captures.Named("n"); gok && path == fmt.Sprintf("/s%d/re/42", i) && i < 19 && (!ok || g != "42") {
				t.Errorf("%s: capture n = %q, %v", path, g, ok)
			}
		}
	}

	// What did not change was reused: the same *Route; what did, was not.
	routeOf := func(r *Router, path string) *Route {
		m, ok := r.Match(&Request{Method: "GET", Host: "x", Port: 8000, Path: path})
		if !ok {
			t.Fatalf("%s: no match", path)
		}
		return m.Route
	}
	if routeOf(prev, "/s1/r1") != routeOf(got, "/s1/r1") {
		t.Error("an unchanged route was compiled again")
	}
	if routeOf(prev, "/s0/r0") == routeOf(got, "/moved") {
		t.Error("a changed route was reused")
	}
	if r := routeOf(got, "/s5/r1"); r == routeOf(prev, "/s5/r1") || r.Service.Name != "renamed" {
		t.Errorf("a route of a renamed service kept its old service %q", r.Service.Name)
	}
}

func routeID(m Match, ok bool) string {
	if !ok {
		return "-"
	}
	return m.Route.ID
}

func serviceName(m Match) string {
	if m.Route == nil || m.Route.Service == nil {
		return ""
	}
	return m.Route.Service.Name
}
