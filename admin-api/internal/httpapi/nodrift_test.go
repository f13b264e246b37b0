package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"testing"
)

// fillDefaults fills, as decK does from the schema endpoints, every
// top-level field of v that is absent or null with its default, and fills
// records the way go-kong's fillConfigRecord does: inside a record given
// or required, every field gets its default or an explicit null.
func fillDefaults(fields []any, v map[string]any, inRecord bool) {
	for _, f := range fields {
		for name, raw := range f.(map[string]any) {
			def, _ := raw.(map[string]any)
			cur, present := v[name]
			if !present || cur == nil {
				switch d, ok := def["default"]; {
				case ok:
					v[name] = copyJSON(d)
				case def["type"] == "record" && def["required"] == true && def["fields"] != nil && !present:
					v[name] = map[string]any{}
				case inRecord && !present:
					v[name] = nil
				}
				cur = v[name]
			}
			if m, ok := cur.(map[string]any); ok && def["type"] == "record" {
				if sub, ok := def["fields"].([]any); ok {
					fillDefaults(sub, m, true)
				}
			}
		}
	}
}

// compareRecord compares what was written with what was read back, field
// by field as the schema lists them (absent and null are the same, as for
// decK's structs), recursing into records. It returns the differences,
// and the keys read back that the schema does not list (other than its
// shorthand fields, which Kong echoes and decK ignores).
func compareRecord(fields []any, shorthands []any, want, got map[string]any, path string) []string {
	var diffs []string
	known := map[string]bool{}
	for _, sh := range shorthands {
		for name := range sh.(map[string]any) {
			known[name] = true
		}
	}
	for _, f := range fields {
		for name, raw := range f.(map[string]any) {
			known[name] = true
			if path == "" && computed[name] {
				continue
			}
			def, _ := raw.(map[string]any)
			w, g := want[name], got[name]
			wm, wok := w.(map[string]any)
			gm, gok := g.(map[string]any)
			sub, hasSub := def["fields"].([]any)
			if def["type"] == "record" && hasSub && wok && gok {
				shs, _ := def["shorthand_fields"].([]any)
				diffs = append(diffs, compareRecord(sub, shs, wm, gm, path+name+".")...)
				continue
			}
			if !jsonEqual(w, g) {
				diffs = append(diffs, fmt.Sprintf("%s%s: wrote %s, read back %s", path, name, jsonString(w), jsonString(g)))
			}
		}
	}
	for k, v := range got {
		if !known[k] && (path != "" || !computed[k]) {
			diffs = append(diffs, fmt.Sprintf("%s%s = %s came back without being announced by the schema", path, k, jsonString(v)))
		}
	}
	return diffs
}

func copyJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	d := json.NewDecoder(bytesReader(b))
	d.UseNumber()
	_ = d.Decode(&out)
	return out
}

// schemaFields returns the "fields" of a schema endpoint's answer.
func schemaFields(t *testing.T, s *testServer, path string) []any {
	t.Helper()
	r := must(t, s.get(path), http.StatusOK)
	f, _ := r.obj()["fields"].([]any)
	if f == nil {
		t.Fatalf("%s has no fields: %s", path, r.raw)
	}
	return f
}

// mergeFields lays a plugin's own fields over the plugins entity's, as
// Kong specializes the entity with the plugin's subschema.
func mergeFields(base, over []any) []any {
	byName := map[string]any{}
	for _, f := range over {
		maps.Copy(byName, f.(map[string]any))
	}
	out := make([]any, len(base))
	for i, f := range base {
		for name, def := range f.(map[string]any) {
			if o, ok := byName[name]; ok {
				def = o
			}
			out[i] = map[string]any{name: def}
		}
	}
	return out
}

// computed are fields the API fills that a declarative file does not
// carry.
var computed = map[string]bool{"id": true, "created_at": true, "updated_at": true, "cert_digest": true, "snis": true, "ttl": true}

// TestNoDrift writes entities as decK does (PUT with ids, every default
// filled from the schema endpoints) and checks that each reads back field
// for field, and that nothing comes back set that the schemas did not
// announce: a decK diff after a sync is then empty.
func TestNoDrift(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	cert, key := certPEM(t, false)
	id := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
	type write struct {
		entity string // schema name
		path   string // where to PUT (POST for targets)
		method string
		body   map[string]any
		plugin string
	}
	writes := []write{
		{entity: "services", path: "/services/" + id(1), body: map[string]any{"name": "svc", "host": "a.example", "tags": []any{"a"}}},
		{entity: "routes", path: "/routes/" + id(2), body: map[string]any{"name": "r", "paths": []any{"/a"}, "service": map[string]any{"id": id(1)}}},
		{entity: "consumers", path: "/consumers/" + id(3), body: map[string]any{"username": "alice"}},
		{entity: "consumer_groups", path: "/consumer_groups/" + id(4), body: map[string]any{"name": "gold"}},
		{entity: "upstreams", path: "/upstreams/" + id(5), body: map[string]any{"name": "up", "algorithm": "least-connections"}},
		{entity: "targets", path: "/upstreams/" + id(5) + "/targets", method: http.MethodPost, body: map[string]any{"id": id(6), "target": "10.0.0.1:80", "upstream": map[string]any{"id": id(5)}}},
		{entity: "certificates", path: "/certificates/" + id(7), body: map[string]any{"cert": cert, "key": key}},
		{entity: "snis", path: "/snis/" + id(8), body: map[string]any{"name": "a.example.com", "certificate": map[string]any{"id": id(7)}}},
		{entity: "ca_certificates", path: "/ca_certificates/" + id(9), body: map[string]any{"cert": caPEM(t)}},
		{entity: "keyauth_credentials", path: "/consumers/" + id(3) + "/key-auth/" + id(10), body: map[string]any{"key": "k1", "consumer": map[string]any{"id": id(3)}}},
		{entity: "basicauth_credentials", path: "/consumers/" + id(3) + "/basic-auth/" + id(11), body: map[string]any{
			"username": "bob", "password": "already-hashed",
			"consumer": map[string]any{"id": id(3)},
		}},
		{entity: "acls", path: "/consumers/" + id(3) + "/acls/" + id(12), body: map[string]any{"group": "admins", "consumer": map[string]any{"id": id(3)}}},
	}
	plugins := map[string]map[string]any{
		"rate-limiting":        {"minute": 5},
		"key-auth":             {},
		"basic-auth":           {},
		"cors":                 {"origins": []any{"*"}},
		"acl":                  {"allow": []any{"admins"}},
		"ip-restriction":       {"allow": []any{"10.0.0.0/8"}},
		"correlation-id":       {},
		"prometheus":           {},
		"request-termination":  {},
		"request-transformer":  {},
		"response-transformer": {},
		"opentelemetry":        {"traces_endpoint": "http://otel.example:4318/v1/traces"},
	}
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		body := map[string]any{"name": n, "config": plugins[n], "service": map[string]any{"id": id(1)}}
		writes = append(writes, write{entity: "plugins", plugin: n, path: "/plugins/" + id(100+i), body: body})
	}

	// The writes depend on each other (routes on services...), so they
	// run in order; each reports under its name.
	for _, w := range writes {
		name := w.entity
		if w.plugin != "" {
			name += "/" + w.plugin
		}
		for _, d := range noDrift(t, s, w.entity, w.plugin, w.method, w.path, w.body) {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// noDrift writes one entity as decK would and returns the differences
// found when reading it back and writing it again.
func noDrift(t *testing.T, s *testServer, entity, plugin, method, path string, desired map[string]any) []string {
	t.Helper()
	fields := schemaFields(t, s, "/schemas/"+entity)
	if plugin != "" {
		fields = mergeFields(fields, schemaFields(t, s, "/schemas/plugins/"+plugin))
	}
	fillDefaults(fields, desired, false)
	if method == "" {
		method = http.MethodPut
	}
	status := http.StatusOK
	if method == http.MethodPost {
		status = http.StatusCreated
	}
	written := must(t, s.request(method, path, desired, ""), status)
	got := readBack(t, s, entity, written.id())
	if entity == "basicauth_credentials" {
		// The password is stored hashed; decK does not diff it.
		desired["password"] = got["password"]
	}
	diffs := compareRecord(fields, nil, desired, got, "")
	if method != http.MethodPut {
		return diffs
	}
	// Writing the same again changes nothing but the timestamps.
	again := must(t, s.request(method, path, desired, ""), status).obj()
	first := written.obj()
	for _, k := range []string{"updated_at", "created_at", "password"} {
		delete(first, k)
		delete(again, k)
	}
	if !jsonEqual(first, again) {
		diffs = append(diffs, fmt.Sprintf("second PUT differs:\n%s\n%s", jsonString(first), jsonString(again)))
	}
	return diffs
}

// readBack reads an entity as decK does: from its collection (consumer
// groups' entity endpoint wraps the group).
func readBack(t *testing.T, s *testServer, entity, id string) map[string]any {
	t.Helper()
	paths := map[string]string{ //nolint:gosec // G101: collection paths, not credentials
		"keyauth_credentials": "/key-auths", "basicauth_credentials": "/basic-auths", "targets": "/upstreams/00000000-0000-4000-8000-000000000005/targets",
	}
	path, ok := paths[entity]
	if !ok {
		path = "/" + entity
	}
	r := must(t, s.get(path+"?size=1000"), http.StatusOK)
	for _, e := range r.data() {
		if m := e.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("%s %s not listed in %s", entity, id, r.raw)
	return nil
}
