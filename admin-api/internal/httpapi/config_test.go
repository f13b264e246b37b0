package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/store"
)

const declarativeYAML = `_format_version: "3.0"
services:
- name: svc
  url: http://a.example:8080
  routes:
  - name: r1
    paths: [/a]
    plugins:
    - name: cors
consumers:
- username: alice
  keyauth_credentials:
  - key: k1
    ttl: 3600
consumer_groups:
- name: gold
  consumers:
  - username: alice
upstreams:
- name: up
  targets:
  - target: 10.0.0.1
`

func TestPostConfig(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.post("/services", map[string]any{"name": "old", "host": "old.example"}), http.StatusCreated)
	old := must(t, s.get("/services/old"), http.StatusOK).id()
	before := s.latest()

	// A raw YAML body replaces everything, as one revision.
	r := must(t, s.request(http.MethodPost, "/config", declarativeYAML, "application/yaml"), http.StatusCreated)
	services, _ := r.obj()["services"].(map[string]any)
	if len(services) != 1 {
		t.Fatalf("answer: %s", r.raw)
	}
	revs, changes := s.changes(before)
	if len(revs) != 1 {
		t.Fatalf("%d revisions, want 1", len(revs))
	}
	deletes, upserts := 0, 0
	for _, c := range changes {
		switch {
		case c.Op == store.OpDelete && c.ID == old:
			deletes++
		case c.Op == store.OpUpsert:
			upserts++
		}
	}
	// service, route, plugin, consumer, credential, group, membership, upstream, target.
	if deletes != 1 || upserts != 9 {
		t.Errorf("changes: %d deletes of the old service, %d upserts; want 1 and 9", deletes, upserts)
	}
	must(t, s.get("/services/old"), http.StatusNotFound)
	must(t, s.get("/routes/r1"), http.StatusOK)
	if k := must(t, s.get("/key-auths/k1"), http.StatusOK); k.obj()["ttl"] == nil {
		t.Errorf("ttl lost on import: %s", k.raw)
	}
	if m := must(t, s.get("/consumer_groups/gold/consumers"), http.StatusOK); len(m.data()) != 1 {
		t.Errorf("membership: %s", m.raw)
	}
	if tg := must(t, s.get("/upstreams/up/targets/10.0.0.1:8000"), http.StatusOK); tg.str("target") != "10.0.0.1:8000" {
		t.Errorf("target: %s", tg.raw)
	}

	// Kong's other body forms: a JSON object, and a config string.
	doc := map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "j", "host": "j.example"}}}
	must(t, s.post("/config", doc), http.StatusCreated)
	must(t, s.get("/services/j"), http.StatusOK)
	must(t, s.get("/routes/r1"), http.StatusNotFound)
	must(t, s.post("/config", map[string]any{"config": declarativeYAML}), http.StatusCreated)
	must(t, s.get("/services/svc"), http.StatusOK)
	must(t, s.form(http.MethodPost, "/config", url.Values{"config": {declarativeYAML}}), http.StatusCreated)

	// check_hash: the text imported last, with nothing changed since,
	// changes nothing (304); any change since makes it count again.
	rev := s.latest()
	must(t, s.request(http.MethodPost, "/config?check_hash=1", declarativeYAML, "application/yaml"), http.StatusNotModified)
	must(t, s.request(http.MethodPost, "/config?check_hash=true", declarativeYAML, "application/yaml"), http.StatusNotModified)
	if s.latest() != rev {
		t.Error("304 made a revision")
	}
	must(t, s.patch("/services/svc", map[string]any{"retries": 1}), http.StatusOK)
	must(t, s.request(http.MethodPost, "/config?check_hash=1", declarativeYAML, "application/yaml"), http.StatusCreated)
	if s.latest() != rev+2 {
		t.Errorf("revision %d after a patch and an import from %d", s.latest(), rev)
	}
	must(t, s.request(http.MethodPost, "/config?check_hash=1", declarativeYAML+"# changed\n", "application/yaml"), http.StatusCreated)

	// Invalid files change nothing.
	rev = s.latest()
	bad := `_format_version: "3.0"
services:
- name: a
  host: a.example
  routes:
  - paths: [bad]
`
	r = must(t, s.request(http.MethodPost, "/config?flatten_errors=1", bad, "application/yaml"), http.StatusBadRequest)
	if r.obj()["code"] == nil || r.obj()["flattened_errors"] == nil {
		t.Errorf("invalid file: %s", r.raw)
	}
	r = must(t, s.request(http.MethodPost, "/config", "{{{", "application/yaml"), http.StatusBadRequest)
	if !strings.HasPrefix(r.str("message"), "declarative config is invalid") {
		t.Errorf("unparsable file: %s", r.raw)
	}
	if r = must(t, s.post("/config", map[string]any{}), http.StatusBadRequest); r.str("message") != "expected a declarative configuration" {
		t.Errorf("no file: %s", r.raw)
	}
	if s.latest() != rev {
		t.Error("an invalid file made a revision")
	}
	must(t, s.get("/services/svc"), http.StatusOK)
}

func TestGetConfig(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	must(t, s.request(http.MethodPost, "/config", declarativeYAML, "application/yaml"), http.StatusCreated)
	r := must(t, s.get("/config"), http.StatusOK)
	text := r.str("config")
	if !strings.HasPrefix(text, `_format_version: "3.0"`) || !strings.Contains(text, "name: svc") {
		t.Fatalf("GET /config: %s", r.raw)
	}
	if r := must(t, s.get("/config?format=json"), http.StatusOK); !strings.HasPrefix(r.str("config"), "{") {
		t.Errorf("format=json: %s", r.raw)
	}
	raw := s.request(http.MethodGet, "/config", nil, "", "Accept", "application/yaml")
	if raw.status != http.StatusOK || !strings.HasPrefix(raw.header.Get("Content-Type"), "application/yaml") || string(raw.raw) != text {
		t.Errorf("raw YAML: %d %s", raw.status, raw.header)
	}
	must(t, s.get("/config?format=xml"), http.StatusBadRequest)

	// The export imports back to the same entities.
	before := must(t, s.get("/services/svc"), http.StatusOK)
	must(t, s.request(http.MethodPost, "/config", text, "application/yaml"), http.StatusCreated)
	after := must(t, s.get("/services/svc"), http.StatusOK)
	// Like Kong's, an import stamps updated_at.
	delete(before.obj(), "updated_at")
	delete(after.obj(), "updated_at")
	if !jsonEqual(before.body, after.body) {
		t.Errorf("round trip changed the service:\n%s\n%s", before.raw, after.raw)
	}
}

func TestClusteringEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if r := must(t, s.get("/clustering/data-planes"), http.StatusOK); string(r.raw) != `{"data":[],"next":null}` {
		t.Errorf("empty: %s", r.raw)
	}
	ids := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"}
	for i, id := range ids {
		err := s.store.UpsertDataPlane(context.Background(), store.DataPlane{
			ID: id, Hostname: "dp-" + id[:1], IP: "10.0.0.1", Version: "1.0.0", SyncStatus: "normal",
			ConfigHash: strings.Repeat("0", 32), Revision: int64(i), Labels: map[string]string{"region": "eu"},
			CertDetails: map[string]any{"expiry_timestamp": 1888983905}, Connected: i != 2, HubID: "hub-1", SessionID: "s",
			LastError: map[bool]string{true: "boom"}[i == 2],
		}, 14*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
	}
	r := must(t, s.get("/clustering/data-planes?size=2"), http.StatusOK)
	if len(r.data()) != 2 || !strings.HasPrefix(r.str("next"), "/clustering/data-planes?offset=") {
		t.Fatalf("page 1: %s", r.raw)
	}
	dp := r.data()[0].(map[string]any)
	for _, k := range []string{
		"id", "hostname", "ip", "version", "sync_status", "config_hash", "last_seen", "updated_at",
		"labels", "cert_details", "rpc_capabilities", "ttl", "connected", "revision", "last_error", "hub_id",
	} {
		if _, ok := dp[k]; !ok {
			t.Errorf("data plane lacks %s: %v", k, dp)
		}
	}
	if ttl, _ := dp["ttl"].(interface{ Int64() (int64, error) }); ttl == nil {
		t.Errorf("ttl: %v", dp["ttl"])
	} else if n, _ := ttl.Int64(); n < 14*86400-5 || n > 14*86400 {
		t.Errorf("ttl = %d", n)
	}
	r = must(t, s.get(r.str("next")), http.StatusOK)
	if len(r.data()) != 1 || r.data()[0].(map[string]any)["last_error"] != "boom" || r.obj()["next"] != nil {
		t.Errorf("page 2: %s", r.raw)
	}
	must(t, s.get("/clustering/data-planes?offset=bad"), http.StatusBadRequest)
	st := must(t, s.get("/clustering/status"), http.StatusOK)
	if st.header.Get("Deprecation") != "true" || len(st.obj()) != 3 {
		t.Errorf("status: %s", st.raw)
	}
	if one, _ := st.obj()[ids[0]].(map[string]any); one["hostname"] != "dp-1" || one["ip"] != "10.0.0.1" {
		t.Errorf("status entry: %v", one)
	}
	must(t, s.delete("/clustering/data-planes/"+ids[0]), http.StatusNotFound)
	must(t, s.patch("/clustering/data-planes/"+ids[0], map[string]any{}), http.StatusNotFound)
	must(t, s.get("/clustering_data_planes"), http.StatusNotFound)
}
