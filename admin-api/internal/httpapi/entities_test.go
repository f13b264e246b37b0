package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse.dev/admin-api/internal/admin"
)

func TestCertificatesAndSNIs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	cert, key := certPEM(t, false)
	// snis are stored as sni rows and shown sorted.
	c := must(t, s.post("/certificates", map[string]any{"cert": cert, "key": key, "snis": []any{"b.example.com", "a.example.com"}}), http.StatusCreated)
	if !jsonEqual(c.obj()["snis"], []any{"a.example.com", "b.example.com"}) {
		t.Errorf("snis: %s", c.raw)
	}
	if r := must(t, s.get("/snis"), http.StatusOK); len(r.data()) != 2 {
		t.Errorf("/snis: %s", r.raw)
	}
	// A certificate is reachable by one of its SNI names.
	if r := must(t, s.get("/certificates/a.example.com"), http.StatusOK); r.id() != c.id() {
		t.Errorf("by SNI: %s", r.raw)
	}
	if r := must(t, s.get("/certificates/nope.example.com"), http.StatusNotFound); string(r.raw) != `{"message":"SNI not found"}` {
		t.Errorf("unknown SNI: %s", r.raw)
	}
	if r := must(t, s.get("/certificates/"+c.id()+"/snis"), http.StatusOK); len(r.data()) != 2 {
		t.Errorf("nested snis: %s", r.raw)
	}
	// Lists carry snis too; certificates without any show [].
	c2 := must(t, s.post("/certificates", map[string]any{"cert": cert, "key": key}), http.StatusCreated)
	if !jsonEqual(c2.obj()["snis"], []any{}) {
		t.Errorf("no snis: %s", c2.raw)
	}
	for _, e := range must(t, s.get("/certificates"), http.StatusOK).data() {
		if _, ok := e.(map[string]any)["snis"].([]any); !ok {
			t.Errorf("listed certificate without snis: %v", e)
		}
	}
	// A name owned by another certificate is refused.
	r := must(t, s.patch("/certificates/"+c2.id(), map[string]any{"snis": []any{"a.example.com"}}), http.StatusBadRequest)
	if r.obj()["message"] != "schema violation (snis: a.example.com already associated with existing certificate '"+c.id()+"')" {
		t.Errorf("owned sni: %s", r.raw)
	}
	r = must(t, s.post("/certificates", map[string]any{"cert": cert, "key": key, "snis": []any{"x.example.com", "x.example.com"}}), http.StatusBadRequest)
	if r.obj()["message"] != "schema violation (snis: x.example.com is duplicated)" {
		t.Errorf("duplicate sni: %s", r.raw)
	}
	// PATCH replaces the set of names; without snis it keeps them.
	r = must(t, s.patch("/certificates/"+c.id(), map[string]any{"snis": []any{"c.example.com", "a.example.com"}}), http.StatusOK)
	if !jsonEqual(r.obj()["snis"], []any{"a.example.com", "c.example.com"}) {
		t.Errorf("patched snis: %s", r.raw)
	}
	must(t, s.get("/snis/b.example.com"), http.StatusNotFound)
	r = must(t, s.patch("/certificates/"+c.id(), map[string]any{"tags": []any{"t"}}), http.StatusOK)
	if !jsonEqual(r.obj()["snis"], []any{"a.example.com", "c.example.com"}) {
		t.Errorf("snis lost by a PATCH without them: %s", r.raw)
	}
	// PUT by an unknown SNI name creates a certificate with that name.
	r = must(t, s.put("/certificates/new.example.com", map[string]any{"cert": cert, "key": key}), http.StatusOK)
	if !jsonEqual(r.obj()["snis"], []any{"new.example.com"}) {
		t.Errorf("PUT by new SNI: %s", r.raw)
	}
	// A key that does not match is refused.
	_, other := certPEM(t, false)
	r = must(t, s.post("/certificates", map[string]any{"cert": cert, "key": other}), http.StatusBadRequest)
	if !strings.Contains(r.str("message"), "certificate does not match key") {
		t.Errorf("mismatched key: %s", r.raw)
	}
	// /snis/{s}/certificate is disabled, as in Kong.
	must(t, s.get("/snis/a.example.com/certificate"), http.StatusNotFound)
	// Deleting the certificate deletes its SNIs.
	must(t, s.delete("/certificates/"+c.id()), http.StatusNoContent)
	must(t, s.get("/snis/a.example.com"), http.StatusNotFound)
	// A certificate used by a service cannot go.
	must(t, s.post("/services", map[string]any{"name": "tls", "url": "https://a.example", "client_certificate": map[string]any{"id": c2.id()}}), http.StatusCreated)
	r = must(t, s.delete("/certificates/"+c2.id()), http.StatusBadRequest)
	if r.obj()["code"] != json.Number("4") {
		t.Errorf("restricted certificate delete: %s", r.raw)
	}
	if r := must(t, s.get("/certificates/"+c2.id()+"/services"), http.StatusOK); len(r.data()) != 1 {
		t.Errorf("/certificates/{c}/services: %s", r.raw)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/upstreams", map[string]any{"name": "up"}), http.StatusCreated)
	tg := must(t, s.post("/upstreams/up/targets", map[string]any{"target": "10.0.0.1"}), http.StatusCreated)
	// A missing port becomes 8000; timestamps have a millisecond fraction.
	if tg.str("target") != "10.0.0.1:8000" || !jsonEqual(tg.obj()["weight"], 100) {
		t.Errorf("target: %s", tg.raw)
	}
	if _, err := tg.obj()["created_at"].(json.Number).Float64(); err != nil {
		t.Errorf("created_at: %s", tg.raw)
	}
	r := must(t, s.post("/upstreams/up/targets", map[string]any{"target": "10.0.0.1:8000"}), http.StatusConflict)
	if r.obj()["code"] != json.Number("5") {
		t.Errorf("duplicate target: %s", r.raw)
	}
	// By id or by address, as given or normalized.
	for _, key := range []string{tg.id(), "10.0.0.1:8000", "10.0.0.1"} {
		if r := must(t, s.get("/upstreams/up/targets/"+key), http.StatusOK); r.id() != tg.id() {
			t.Errorf("GET target %s: %s", key, r.raw)
		}
	}
	// PUT and PATCH update; PUT of a missing target is 404 (not an upsert).
	if r := must(t, s.put("/upstreams/up/targets/10.0.0.1:8000", map[string]any{"weight": 5}), http.StatusOK); !jsonEqual(r.obj()["weight"], 5) {
		t.Errorf("PUT target: %s", r.raw)
	}
	if r := must(t, s.patch("/upstreams/up/targets/"+tg.id(), map[string]any{"weight": 0}), http.StatusOK); !jsonEqual(r.obj()["weight"], 0) {
		t.Errorf("PATCH target: %s", r.raw)
	}
	must(t, s.put("/upstreams/up/targets/10.9.9.9:80", map[string]any{"weight": 5}), http.StatusNotFound)
	// go-kong's fallback: POST with the id in the body.
	id := "0b3b2b1b-0000-4000-8000-000000000001"
	if r := must(t, s.post("/upstreams/up/targets", map[string]any{"id": id, "target": "10.0.0.2:80"}), http.StatusCreated); r.id() != id {
		t.Errorf("POST with id: %s", r.raw)
	}
	if r := must(t, s.get("/upstreams/up/targets"), http.StatusOK); len(r.data()) != 2 {
		t.Errorf("targets: %s", r.raw)
	}
	if r := must(t, s.get("/upstreams/up/targets/all"), http.StatusOK); len(r.data()) != 2 {
		t.Errorf("targets/all: %s", r.raw)
	}
	// Top-level target endpoints are disabled, as in Kong.
	must(t, s.get("/targets"), http.StatusNotFound)
	must(t, s.get("/targets/"+id), http.StatusNotFound)
	must(t, s.get("/targets/"+id+"/upstream"), http.StatusNotFound)
	// Another upstream's targets are not found under this one.
	must(t, s.post("/upstreams", map[string]any{"name": "other"}), http.StatusCreated)
	must(t, s.get("/upstreams/other/targets/"+id), http.StatusNotFound)
	must(t, s.delete("/upstreams/other/targets/"+id), http.StatusNotFound)
	// DELETE of a missing target is 404 in Kong's upstreams.lua.
	must(t, s.delete("/upstreams/up/targets/10.0.0.2:80"), http.StatusNoContent)
	must(t, s.delete("/upstreams/up/targets/10.0.0.2:80"), http.StatusNotFound)
	// Deleting the upstream deletes its targets.
	must(t, s.delete("/upstreams/up"), http.StatusNoContent)
	if n, err := s.store.Count(context.Background(), "targets"); err != nil || n != 0 {
		t.Errorf("%d targets left (%v)", n, err)
	}
}

func TestConsumerGroups(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	g := must(t, s.post("/consumer_groups", map[string]any{"name": "gold"}), http.StatusCreated)
	alice := must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	must(t, s.post("/consumers", map[string]any{"username": "bob", "custom_id": "b-1"}), http.StatusCreated)
	// go-kong sends {"consumer": ["name"]}; a string works as well.
	r := must(t, s.post("/consumer_groups/gold/consumers", map[string]any{"consumer": []any{"alice"}}), http.StatusCreated)
	if r.obj()["consumer_group"].(map[string]any)["id"] != g.id() || len(r.obj()["consumers"].([]any)) != 1 {
		t.Errorf("add member: %s", r.raw)
	}
	must(t, s.post("/consumer_groups/"+g.id()+"/consumers", map[string]any{"consumer": "bob"}), http.StatusCreated)
	r = must(t, s.post("/consumer_groups/gold/consumers", map[string]any{"consumer": alice.id()}), http.StatusConflict)
	if r.str("message") != "Consumer 'alice' already in group 'gold'" {
		t.Errorf("duplicate member: %s", r.raw)
	}
	if r = must(t, s.post("/consumer_groups/gold/consumers", map[string]any{"consumer": "carol"}), http.StatusNotFound); r.str("message") != "Consumer 'carol' not found" {
		t.Errorf("unknown consumer: %s", r.raw)
	}
	must(t, s.post("/consumer_groups/gold/consumers", map[string]any{}), http.StatusBadRequest)
	must(t, s.post("/consumer_groups/nope/consumers", map[string]any{"consumer": "alice"}), http.StatusNotFound)
	// Lists.
	if r = must(t, s.get("/consumer_groups/gold/consumers"), http.StatusOK); len(r.data()) != 2 {
		t.Errorf("members: %s", r.raw)
	}
	if r = must(t, s.get("/consumers/alice/consumer_groups"), http.StatusOK); len(r.data()) != 1 {
		t.Errorf("groups of alice: %s", r.raw)
	}
	must(t, s.get("/consumer_groups/gold/consumers/alice"), http.StatusOK)
	// Group-scoped plugins.
	must(t, s.post("/consumer_groups/gold/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}}), http.StatusCreated)
	r = must(t, s.get("/consumer_groups/gold"), http.StatusOK)
	if r.obj()["consumer_group"].(map[string]any)["name"] != "gold" || len(r.obj()["consumers"].([]any)) != 2 || len(r.obj()["plugins"].([]any)) != 1 {
		t.Errorf("GET group: %s", r.raw)
	}
	if r = must(t, s.get("/consumer_groups/gold?list_consumers=false"), http.StatusOK); r.obj()["consumers"] != nil {
		t.Errorf("list_consumers=false: %s", r.raw)
	}
	// Removal.
	must(t, s.delete("/consumer_groups/gold/consumers/alice"), http.StatusNoContent)
	must(t, s.get("/consumer_groups/gold/consumers/alice"), http.StatusNotFound)
	must(t, s.delete("/consumer_groups/gold/consumers/nobody"), http.StatusNotFound)
	must(t, s.post("/consumers/alice/consumer_groups", map[string]any{"group": "gold"}), http.StatusCreated)
	must(t, s.delete("/consumers/alice/consumer_groups/gold"), http.StatusNoContent)
	must(t, s.delete("/consumer_groups/gold/consumers"), http.StatusNoContent)
	if r = must(t, s.get("/consumer_groups/gold/consumers"), http.StatusOK); len(r.data()) != 0 {
		t.Errorf("group not emptied: %s", r.raw)
	}
	// A plugin scoped to a consumer and a group at once is refused.
	r = must(t, s.post("/plugins", map[string]any{"name": "cors", "consumer": map[string]any{"username": "alice"}, "consumer_group": map[string]any{"name": "gold"}}), http.StatusBadRequest)
	if r.obj()["code"] != json.Number("2") {
		t.Errorf("consumer and group: %s", r.raw)
	}
	// Deleting the group deletes its memberships and plugins.
	must(t, s.post("/consumer_groups/gold/consumers", map[string]any{"consumer": "bob"}), http.StatusCreated)
	must(t, s.delete("/consumer_groups/gold"), http.StatusNoContent)
	for _, typ := range []string{"consumer_group_consumers", "plugins"} {
		if n, err := s.store.Count(context.Background(), typ); err != nil || n != 0 {
			t.Errorf("%d %s left (%v)", n, typ, err)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(c.now.Load(), 0) }
func (c *fakeClock) Add(d time.Duration) { c.now.Add(int64(d / time.Second)) }

func TestTTL(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	clock.now.Store(time.Now().Unix())
	s := newServerWith(t, serverOptions{now: clock.Now})
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	k := must(t, s.post("/consumers/alice/key-auth", map[string]any{"key": "k1", "ttl": 3600}), http.StatusCreated)
	if !jsonEqual(k.obj()["ttl"], 3600) || k.obj()["expires_at"] == nil {
		t.Errorf("created with ttl: %s", k.raw)
	}
	// Reads show the seconds left.
	clock.Add(100 * time.Second)
	if r := must(t, s.get("/key-auths/k1"), http.StatusOK); !jsonEqual(r.obj()["ttl"], 3500) {
		t.Errorf("ttl after 100 s: %s", r.raw)
	}
	// A PATCH without ttl keeps the expiry; ttl 0 removes it.
	if r := must(t, s.patch("/key-auths/k1", map[string]any{"tags": []any{"x"}}), http.StatusOK); !jsonEqual(r.obj()["ttl"], 3500) {
		t.Errorf("ttl after PATCH: %s", r.raw)
	}
	if r := must(t, s.patch("/key-auths/k1", map[string]any{"ttl": 0}), http.StatusOK); r.obj()["ttl"] != nil || r.obj()["expires_at"] != nil {
		t.Errorf("ttl 0: %s", r.raw)
	}
	// Invalid ttl values are option errors.
	for body, want := range map[string]string{
		`{"key":"k2","ttl":"x"}`:       "invalid option (ttl: must be a number)",
		`{"key":"k2","ttl":-1}`:        "invalid option (ttl: must be an integer between 0 and 100000000)",
		`{"key":"k2","ttl":100000001}`: "invalid option (ttl: must be an integer between 0 and 100000000)",
	} {
		r := must(t, s.request(http.MethodPost, "/consumers/alice/key-auth", body, "application/json"), http.StatusBadRequest)
		if r.str("message") != want || r.obj()["code"] != json.Number("11") {
			t.Errorf("%s: %s", body, r.raw)
		}
	}
	// Other types do not take a ttl.
	r := must(t, s.post("/consumers", map[string]any{"username": "bob", "ttl": 5}), http.StatusBadRequest)
	if r.str("message") != "schema violation (ttl: unknown field)" {
		t.Errorf("ttl on consumers: %s", r.raw)
	}

	// The maintenance job removes expired credentials as logged deletes.
	clock.now.Store(time.Now().Unix())
	must(t, s.post("/consumers/alice/key-auth", map[string]any{"key": "short", "ttl": 1}), http.StatusCreated)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The store hides expired credentials from then on (its SQL uses
		// the database's clock).
		if r := s.get("/key-auths/short"); r.status == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the credential never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := s.latest()
	res, err := s.svc.Maintain(context.Background(), admin.MaintenanceOptions{})
	if err != nil || res.Expired != 1 || res.Revision != before+1 {
		t.Fatalf("Maintain = %+v, %v", res, err)
	}
	_, changes := s.changes(before)
	if len(changes) != 1 || changes[0].Op != "delete" || changes[0].Type != "keyauth_credentials" {
		t.Errorf("changes = %+v", changes)
	}
	if r := must(t, s.get("/consumers/alice/key-auth"), http.StatusOK); len(r.data()) != 1 {
		t.Errorf("credentials left: %s", r.raw)
	}
}
