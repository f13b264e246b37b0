package router

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
)

// TestPatchMatchesCompile applies random changes (routes added, changed,
// moved between services and removed; services renamed, disabled,
// enabled and removed) through Patch, compaction included, and checks
// after each that the router matches every probe request as Compile of
// the whole configuration does.
func TestPatchMatchesCompile(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // a reproducible sequence of test changes
	pick := func(options ...string) string { return options[rng.IntN(len(options))] }
	paths := []string{"/", "/a", "/a/b", "/b", "/c/d", `~/a/\d+$`, `~/b/(?<x>[a-z]+)`, "/a/b/c"}
	hosts := []string{"", "api.example.com", "*.example.com", "other.test"}
	set := configset.New()
	put := func(typ string, in map[string]any) {
		t.Helper()
		if err := set.Put(typ, write(t, typ, in)); err != nil {
			t.Fatal(err)
		}
	}
	const services = 6
	service := func(n int, enabled bool, name string) map[string]any {
		return map[string]any{"id": id(9000 + n), "name": name, "host": "upstream.internal", "enabled": enabled}
	}
	route := func(n int) map[string]any {
		in := map[string]any{"id": id(n), "paths": []any{pick(paths...)}}
		if rng.IntN(3) == 0 {
			in["paths"] = []any{pick(paths...), pick(paths...)}
		}
		if h := pick(hosts...); h != "" {
			in["hosts"] = []any{h}
		}
		if rng.IntN(4) == 0 {
			in["methods"] = []any{pick("GET", "POST")}
		}
		if rng.IntN(6) != 0 {
			in["service"] = map[string]any{"id": id(9000 + rng.IntN(services))}
		}
		if rng.IntN(10) == 0 {
			in["regex_priority"] = rng.IntN(3)
		}
		return in
	}
	for n := range services {
		put(entity.Services, service(n, true, fmt.Sprintf("svc-%d", n)))
	}
	const routes = 200
	for n := range routes {
		put(entity.Routes, route(n))
	}
	all := func(typ string) []map[string]any {
		var out []map[string]any
		set.Each(typ, func(e map[string]any) { out = append(out, e) })
		return out
	}
	r, err := Compile(all(entity.Routes), all(entity.Services))
	if err != nil {
		t.Fatal(err)
	}
	var probes []*Request
	for _, p := range []string{"/", "/a", "/a/", "/a/7", "/a/b", "/a/b/c/d", "/b", "/b/xyz", "/c/d/e", "/zzz"} {
		for _, h := range []string{"api.example.com", "www.example.com", "other.test", "none.test"} {
			for _, m := range []string{"GET", "POST"} {
				probes = append(probes, &Request{Method: m, Host: h, Port: 8000, Path: p})
			}
		}
	}
	for step := range 600 {
		var routeIDs, serviceIDs []string
		for range 1 + rng.IntN(3) {
			switch k := rng.IntN(10); {
			case k < 6: // add or change a route
				n := rng.IntN(routes + 40)
				put(entity.Routes, route(n))
				routeIDs = append(routeIDs, id(n))
			case k < 8: // remove one
				n := rng.IntN(routes + 40)
				set.Delete(entity.Routes, id(n))
				routeIDs = append(routeIDs, id(n))
			case k < 9: // rename, disable or enable a service
				n := rng.IntN(services)
				put(entity.Services, service(n, rng.IntN(3) != 0, pick("svc", "renamed")))
				serviceIDs = append(serviceIDs, id(9000+n))
			default: // remove a service, or bring it back
				n := rng.IntN(services)
				if _, ok := set.Get(entity.Services, id(9000+n)); ok {
					set.Delete(entity.Services, id(9000+n))
				} else {
					put(entity.Services, service(n, true, "back"))
				}
				serviceIDs = append(serviceIDs, id(9000+n))
			}
		}
		next, err := Patch(r, set, routeIDs, serviceIDs)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		want, err := Compile(all(entity.Routes), all(entity.Services))
		if err != nil {
			t.Fatal(err)
		}
		if next.Len() != want.Len() {
			t.Fatalf("step %d: Patch has %d routes, Compile %d", step, next.Len(), want.Len())
		}
		for _, req := range probes {
			gm, gok := next.Match(req)
			wm, wok := want.Match(req)
			if gok != wok || (gok && (gm.Route.ID != wm.Route.ID || serviceName(gm) != serviceName(wm) || gm.Prefix != wm.Prefix)) {
				t.Fatalf("step %d, %s %s%s: Patch matched %v %s (%s), Compile %v %s (%s)", step, req.Method, req.Host, req.Path,
					gok, routeID(gm, gok), serviceName(gm), wok, routeID(wm, wok), serviceName(wm))
			}
		}
		r = next
	}
}
