package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestCreateReadDefaults(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	svc := must(t, s.post("/services", map[string]any{"name": "svc", "url": "https://example.com/api"}), http.StatusCreated)
	want := map[string]any{
		"name": "svc", "protocol": "https", "host": "example.com", "port": json.Number("443"), "path": "/api",
		"retries": json.Number("5"), "connect_timeout": json.Number("60000"), "enabled": true,
		"tags": nil, "client_certificate": nil, "tls_verify": nil, "ca_certificates": nil,
	}
	for k, v := range want {
		if got := svc.obj()[k]; !jsonEqual(got, v) {
			t.Errorf("service %s = %v, want %v", k, got, v)
		}
	}
	if _, hasURL := svc.obj()["url"]; hasURL {
		t.Error("the url shorthand is echoed")
	}
	// Read back by id and by name: the same entity, every field.
	byID := must(t, s.get("/services/"+svc.id()), http.StatusOK)
	byName := must(t, s.get("/services/svc"), http.StatusOK)
	if !jsonEqual(byID.body, svc.body) || !jsonEqual(byName.body, svc.body) {
		t.Errorf("read back differs:\n%s\n%s\n%s", svc.raw, byID.raw, byName.raw)
	}
	// Unknown: the plain 404.
	r := must(t, s.get("/services/nope"), http.StatusNotFound)
	if string(r.raw) != `{"message":"Not found"}` {
		t.Errorf("404 body %s", r.raw)
	}
	must(t, s.get("/services/6f1f2f3f-0000-4000-8000-000000000000"), http.StatusNotFound)
}

func TestPutIsUpsert(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := "3a4d4e4c-1111-4222-8333-444455556666"
	// PUT creates: 200, not 201.
	r := must(t, s.put("/services/"+id, map[string]any{"name": "svc", "host": "a.example", "retries": 9, "tags": []any{"t1"}}), http.StatusOK)
	if r.id() != id {
		t.Errorf("id = %s, want %s", r.id(), id)
	}
	// PUT replaces: omitted fields go back to their defaults.
	r = must(t, s.put("/services/"+id, map[string]any{"name": "svc", "host": "b.example"}), http.StatusOK)
	if r.obj()["retries"] != json.Number("5") || r.obj()["tags"] != nil || r.str("host") != "b.example" {
		t.Errorf("PUT did not reset omitted fields: %s", r.raw)
	}
	// PUT by name upserts by that field; the path's value wins.
	r = must(t, s.put("/services/svc", map[string]any{"name": "ignored", "host": "c.example"}), http.StatusOK)
	if r.id() != id || r.str("name") != "svc" || r.str("host") != "c.example" {
		t.Errorf("PUT by name: %s", r.raw)
	}
	r = must(t, s.put("/services/other", map[string]any{"host": "d.example"}), http.StatusOK)
	if r.id() == id || r.str("name") != "other" {
		t.Errorf("PUT by a new name: %s", r.raw)
	}
	// Required fields must be given.
	r = must(t, s.put("/services/third", map[string]any{}), http.StatusBadRequest)
	if r.obj()["message"] != "schema violation (host: required field missing)" {
		t.Errorf("PUT without host: %s", r.raw)
	}
}

func TestPatchMerges(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	svc := must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example", "retries": 7, "tags": []any{"x"}}), http.StatusCreated)
	r := must(t, s.patch("/services/svc", map[string]any{"host": "b.example"}), http.StatusOK)
	if r.obj()["retries"] != json.Number("7") || r.str("host") != "b.example" || !jsonEqual(r.obj()["tags"], []any{"x"}) {
		t.Errorf("PATCH changed more than the patch: %s", r.raw)
	}
	// null clears a field.
	r = must(t, s.patch("/services/"+svc.id(), map[string]any{"tags": nil}), http.StatusOK)
	if r.obj()["tags"] != nil {
		t.Errorf("tags not cleared: %s", r.raw)
	}
	// Records merge recursively: a plugin's config keeps the other keys.
	p := must(t, s.post("/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5, "hour": 100}}), http.StatusCreated)
	r = must(t, s.patch("/plugins/"+p.id(), map[string]any{"config": map[string]any{"minute": 10}}), http.StatusOK)
	cfg, _ := r.obj()["config"].(map[string]any)
	if cfg["minute"] != json.Number("10") || cfg["hour"] != json.Number("100") {
		t.Errorf("config not merged: %s", r.raw)
	}
	// A missing entity is the structured code-6 body.
	r = must(t, s.patch("/services/nope", map[string]any{"host": "x.example"}), http.StatusNotFound)
	if !jsonEqual(r.body, map[string]any{
		"code": 6, "name": "not found", "message": `could not find the entity with '{name="nope"}'`, "fields": map[string]any{"name": "nope"},
	}) {
		t.Errorf("PATCH missing by name: %s", r.raw)
	}
	missing := "6f1f2f3f-0000-4000-8000-000000000000"
	r = must(t, s.patch("/services/"+missing, map[string]any{"host": "x.example"}), http.StatusNotFound)
	if r.obj()["message"] != `could not find the entity with primary key '{id="`+missing+`"}'` {
		t.Errorf("PATCH missing by id: %s", r.raw)
	}
	// A patch that breaks the entity is refused and changes nothing.
	must(t, s.patch("/services/svc", map[string]any{"port": 99999}), http.StatusBadRequest)
	if got := must(t, s.get("/services/svc"), http.StatusOK); got.str("host") != "a.example" && got.str("host") != "b.example" {
		t.Errorf("refused patch changed the service: %s", got.raw)
	}
}

func TestDeleteSemantics(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	must(t, s.delete("/consumers/alice"), http.StatusNoContent)
	must(t, s.get("/consumers/alice"), http.StatusNotFound)
	// Deleting what does not exist is still 204, by name or by id.
	must(t, s.delete("/consumers/alice"), http.StatusNoContent)
	must(t, s.delete("/consumers/6f1f2f3f-0000-4000-8000-000000000000"), http.StatusNoContent)
}

func TestNestedEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := must(t, s.post("/services", map[string]any{"name": "a", "host": "a.example"}), http.StatusCreated)
	must(t, s.post("/services", map[string]any{"name": "b", "host": "b.example"}), http.StatusCreated)
	// POST under a parent forces the foreign key, whatever the body says.
	r := must(t, s.post("/services/a/routes", map[string]any{"name": "ra", "paths": []any{"/a"}, "service": map[string]any{"name": "b"}}), http.StatusCreated)
	if r.obj()["service"].(map[string]any)["id"] != a.id() {
		t.Errorf("route not attached to a: %s", r.raw)
	}
	must(t, s.post("/services/b/routes", map[string]any{"name": "rb", "paths": []any{"/b"}}), http.StatusCreated)
	if got := must(t, s.get("/services/a/routes"), http.StatusOK).data(); len(got) != 1 {
		t.Errorf("a has %d routes, want 1", len(got))
	}
	must(t, s.get("/services/a/routes/ra"), http.StatusOK)
	// An entity of another parent is not found under this one.
	must(t, s.get("/services/a/routes/rb"), http.StatusNotFound)
	must(t, s.patch("/services/a/routes/rb", map[string]any{"paths": []any{"/x"}}), http.StatusNotFound)
	must(t, s.delete("/services/a/routes/rb"), http.StatusNotFound)
	must(t, s.get("/services/b/routes/rb"), http.StatusOK)
	// Unknown parent.
	must(t, s.get("/services/nope/routes"), http.StatusNotFound)
	must(t, s.post("/services/nope/routes", map[string]any{"paths": []any{"/n"}}), http.StatusNotFound)
	// PATCH under the parent; DELETE under the parent.
	r = must(t, s.patch("/services/a/routes/ra", map[string]any{"paths": []any{"/a2"}}), http.StatusOK)
	if !jsonEqual(r.obj()["paths"], []any{"/a2"}) {
		t.Errorf("nested PATCH: %s", r.raw)
	}
	must(t, s.delete("/services/a/routes/ra"), http.StatusNoContent)
	must(t, s.get("/routes/ra"), http.StatusNotFound)
	// PUT under a parent upserts with the parent forced.
	r = must(t, s.put("/services/a/routes/rput", map[string]any{"paths": []any{"/p"}}), http.StatusOK)
	if r.obj()["service"].(map[string]any)["id"] != a.id() || r.str("name") != "rput" {
		t.Errorf("nested PUT: %s", r.raw)
	}
	// Credentials use their nested name.
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	k := must(t, s.post("/consumers/alice/key-auth", map[string]any{"key": "k1"}), http.StatusCreated)
	must(t, s.get("/consumers/alice/key-auth/k1"), http.StatusOK)
	must(t, s.get("/key-auths/"+k.id()), http.StatusOK)
	if c := must(t, s.get("/key-auths/k1/consumer"), http.StatusOK); c.str("username") != "alice" {
		t.Errorf("/key-auths/k1/consumer: %s", c.raw)
	}
	// ACLs under a consumer are found by group.
	must(t, s.post("/consumers/alice/acls", map[string]any{"group": "admins"}), http.StatusCreated)
	must(t, s.get("/consumers/alice/acls/admins"), http.StatusOK)
	must(t, s.delete("/consumers/alice/acls/admins"), http.StatusNoContent)
	must(t, s.get("/consumers/alice/acls/admins"), http.StatusNotFound)
}

func TestForeignEntityEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	must(t, s.post("/routes", map[string]any{"name": "r", "paths": []any{"/"}, "service": map[string]any{"name": "svc"}}), http.StatusCreated)
	must(t, s.post("/routes", map[string]any{"name": "lonely", "paths": []any{"/l"}}), http.StatusCreated)
	if r := must(t, s.get("/routes/r/service"), http.StatusOK); r.str("name") != "svc" {
		t.Errorf("GET /routes/r/service: %s", r.raw)
	}
	must(t, s.get("/routes/lonely/service"), http.StatusNotFound)
	must(t, s.get("/routes/nope/service"), http.StatusNotFound)
	// PATCH updates the service.
	if r := must(t, s.patch("/routes/r/service", map[string]any{"retries": 2}), http.StatusOK); r.obj()["retries"] != json.Number("2") {
		t.Errorf("PATCH /routes/r/service: %s", r.raw)
	}
	must(t, s.patch("/routes/lonely/service", map[string]any{"retries": 2}), http.StatusNotFound)
	// PUT on a route without a service creates one and associates it.
	created := must(t, s.put("/routes/lonely/service", map[string]any{"name": "new", "host": "n.example"}), http.StatusOK)
	if r := must(t, s.get("/routes/lonely"), http.StatusOK); r.obj()["service"].(map[string]any)["id"] != created.id() {
		t.Errorf("route not associated: %s", r.raw)
	}
	// DELETE is not allowed (405), after the 404 checks.
	if r := must(t, s.delete("/routes/r/service"), http.StatusMethodNotAllowed); string(r.raw) != `{"message":"Method not allowed"}` {
		t.Errorf("DELETE /routes/r/service: %s", r.raw)
	}
	must(t, s.delete("/routes/nope/service"), http.StatusNotFound)
}

func TestCascadesAndRestricts(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	route := must(t, s.post("/services/svc/routes", map[string]any{"name": "r", "paths": []any{"/"}}), http.StatusCreated)
	must(t, s.post("/routes/r/plugins", map[string]any{"name": "cors"}), http.StatusCreated)
	must(t, s.post("/services/svc/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 1}}), http.StatusCreated)

	// A service with routes cannot be deleted (routes.service restricts).
	r := must(t, s.delete("/services/svc"), http.StatusBadRequest)
	if !jsonEqual(r.body, map[string]any{
		"code": 4, "name": "foreign key violation",
		"message": "an existing 'routes' entity references this 'services' entity",
		"fields":  map[string]any{"@referenced_by": "routes"},
	}) {
		t.Errorf("restricted delete: %s", r.raw)
	}
	// Deleting the route cascades to its plugin, in one revision.
	before := s.latest()
	must(t, s.delete("/routes/r"), http.StatusNoContent)
	revs, changes := s.changes(before)
	if len(revs) != 1 || len(changes) != 2 {
		t.Fatalf("route delete: %d revisions, %d changes, want 1 and 2", len(revs), len(changes))
	}
	if changes[0].Type != "plugins" || changes[1].Type != "routes" || changes[1].ID != route.id() {
		t.Errorf("changes = %+v", changes)
	}
	// Now the service goes, with its plugin.
	must(t, s.delete("/services/svc"), http.StatusNoContent)
	if got := must(t, s.get("/plugins"), http.StatusOK).data(); len(got) != 0 {
		t.Errorf("plugins left after cascades: %v", got)
	}
	// Consumers cascade to credentials.
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	must(t, s.post("/consumers/alice/key-auth", map[string]any{"key": "k1"}), http.StatusCreated)
	must(t, s.post("/consumers/alice/basic-auth", map[string]any{"username": "a", "password": "p"}), http.StatusCreated)
	must(t, s.delete("/consumers/alice"), http.StatusNoContent)
	must(t, s.get("/key-auths/k1"), http.StatusNotFound)
	must(t, s.get("/basic-auths/a"), http.StatusNotFound)
}

func TestPluginRules(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	must(t, s.post("/services/svc/routes", map[string]any{"name": "r", "protocols": []any{"https"}, "paths": []any{"/"}}), http.StatusCreated)
	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{
			name: "route protocols", body: map[string]any{"name": "cors", "route": map[string]any{"name": "r"}, "protocols": []any{"http"}},
			want: "schema violation (protocols: must match the associated route's protocols)",
		},
		{
			name: "service protocols", body: map[string]any{"name": "cors", "service": map[string]any{"name": "svc"}, "protocols": []any{"grpc"}},
			want: "schema violation (protocols: must match the protocols of at least one route pointing to this Plugin's service)",
		},
		{
			name: "cluster policy refused", body: map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 1, "policy": "cluster"}},
			want: "schema violation (config.policy: expected one of: local, redis)",
		},
		{
			name: "unknown plugin", body: map[string]any{"name": "nope"},
			want: "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)",
		},
		{
			name: "forbidden scope", body: map[string]any{"name": "key-auth", "consumer": map[string]any{"id": "6f1f2f3f-0000-4000-8000-000000000000"}},
			want: "schema violation (consumer: value must be null)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := must(t, s.post("/plugins", tt.body), http.StatusBadRequest)
			if r.obj()["message"] != tt.want || r.obj()["code"] != json.Number("2") {
				t.Errorf("got %s, want message %q", r.raw, tt.want)
			}
		})
	}
	// The same plugin twice on the same scope is a 409.
	t.Run("duplicate", func(t *testing.T) {
		t.Parallel()
		must(t, s.post("/services/svc/plugins", map[string]any{"name": "request-termination"}), http.StatusCreated)
		r := must(t, s.post("/services/svc/plugins", map[string]any{"name": "request-termination"}), http.StatusConflict)
		if r.obj()["code"] != json.Number("5") {
			t.Errorf("duplicate plugin: %s", r.raw)
		}
	})
}
