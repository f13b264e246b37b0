package entity_test

import (
	"reflect"
	"testing"
	"time"

	"gatehouse.dev/shared/schema"
)

var later = now.Add(time.Hour)

// write stores input with Write(Insert) or fails the test.
func write(t *testing.T, typ string, input map[string]any) map[string]any {
	t.Helper()
	out, err := newCatalog(t).Type(typ).Write(input, schema.Insert, now)
	if err != nil {
		t.Fatalf("Write %s: %s", typ, err.Message)
	}
	return out
}

// TestUpdateUpstreamHealthchecks checks that a PATCH deep-merges the
// healthchecks record and keeps every default.
func TestUpdateUpstreamHealthchecks(t *testing.T) {
	t.Parallel()
	upstreams := newCatalog(t).Type("upstreams")
	stored := write(t, "upstreams", map[string]any{"name": "u", "healthchecks": map[string]any{"threshold": 10}})
	patch := mustJSON(t, `{"healthchecks":{"active":{"healthy":{"interval":5},"https_sni":"example.com"}}}`)
	got, err := upstreams.Update(patch, stored, later)
	if err != nil {
		t.Fatal(err.Message)
	}
	hc := got["healthchecks"].(map[string]any)
	active := hc["active"].(map[string]any)
	healthy := active["healthy"].(map[string]any)
	if healthy["interval"] != float64(5) || !reflect.DeepEqual(healthy["http_statuses"], []any{int64(200), int64(302)}) {
		t.Errorf("active.healthy = %v; want interval 5 and the default statuses", healthy)
	}
	if active["https_sni"] != "example.com" || active["timeout"] != float64(1) || active["type"] != "http" {
		t.Errorf("active = %v", active)
	}
	if hc["threshold"] != float64(10) {
		t.Errorf("threshold = %v; want the stored 10", hc["threshold"])
	}
	if !reflect.DeepEqual(hc["passive"], stored["healthchecks"].(map[string]any)["passive"]) {
		t.Errorf("passive changed: %v", hc["passive"])
	}
	if got["updated_at"] != later.Unix() || got["created_at"] != now.Unix() {
		t.Errorf("created_at=%v updated_at=%v; want %d %d", got["created_at"], got["updated_at"], now.Unix(), later.Unix())
	}
	if _, err := upstreams.Update(mustJSON(t, `{"healthchecks":{"passive":{"type":"udp"}}}`), stored, later); err == nil ||
		err.Message != "schema violation (healthchecks.passive.type: expected one of: tcp, http, https, grpc, grpcs)" {
		t.Errorf("invalid nested value: %v", err)
	}
}

// TestUpdateUpstreamHashCoupling checks that the algorithm/hash_on
// coupling applies to a PATCH that gives either field.
func TestUpdateUpstreamHashCoupling(t *testing.T) {
	t.Parallel()
	upstreams := newCatalog(t).Type("upstreams")
	stored := write(t, "upstreams", map[string]any{"name": "u", "hash_on": "ip"})
	if stored["algorithm"] != "consistent-hashing" {
		t.Fatalf("algorithm = %v", stored["algorithm"])
	}
	tests := []struct {
		patch     string
		algorithm string
		hashOn    string
	}{
		{`{"hash_on":"none"}`, "round-robin", "none"},
		{`{"algorithm":"least-connections"}`, "least-connections", "none"},
		{`{"slots":100}`, "consistent-hashing", "ip"},
		{`{"hash_on":"consumer"}`, "consistent-hashing", "consumer"},
	}
	for _, tt := range tests {
		got, err := upstreams.Update(mustJSON(t, tt.patch), stored, later)
		if err != nil {
			t.Errorf("%s: %s", tt.patch, err.Message)
			continue
		}
		if got["algorithm"] != tt.algorithm || got["hash_on"] != tt.hashOn {
			t.Errorf("%s: algorithm=%v hash_on=%v; want %s %s", tt.patch, got["algorithm"], got["hash_on"], tt.algorithm, tt.hashOn)
		}
	}
}

// TestUpdatePluginConfig checks that a PATCH deep-merges a plugin's
// config with the plugin's schema.
func TestUpdatePluginConfig(t *testing.T) {
	t.Parallel()
	plugins := newCatalog(t).Type("plugins")
	stored := write(t, "plugins", mustJSON(t, `{"name":"rate-limiting","config":{"minute":5,"redis":{"host":"redis.internal"}}}`))
	got, err := plugins.Update(mustJSON(t, `{"config":{"hour":100,"redis":{"port":6380}},"enabled":false}`), stored, later)
	if err != nil {
		t.Fatal(err.Message)
	}
	want := map[string]any{
		"minute": float64(5), "hour": float64(100), "policy": "local",
		"redis": map[string]any{"host": "redis.internal", "port": int64(6380)},
	}
	if !reflect.DeepEqual(got["config"], want) {
		t.Errorf("config = %#v; want %#v", got["config"], want)
	}
	if got["enabled"] != false || got["name"] != "rate-limiting" || got["id"] != stored["id"] {
		t.Errorf("enabled=%v name=%v id=%v", got["enabled"], got["name"], got["id"])
	}
	// null clears a config field; the merged config is validated.
	if _, err := plugins.Update(mustJSON(t, `{"config":{"minute":null}}`), stored, later); err == nil ||
		err.Message != "schema violation (config: at least one of these fields must be non-empty: 'minute', 'hour')" {
		t.Errorf("clearing the only limit: %v", err)
	}
	// A PATCH that narrows the scope is checked against the plugin's schema.
	keyAuth := write(t, "plugins", map[string]any{"name": "key-auth"})
	if _, err := plugins.Update(mustJSON(t, `{"consumer":{"id":"`+consumerID+`"}}`), keyAuth, later); err == nil ||
		err.Message != "schema violation (consumer: value must be null)" {
		t.Errorf("scoping key-auth to a consumer: %v", err)
	}
}

// TestUpdateRoutes checks that a PATCH is validated with the subschema of
// the merged protocols, and that protocols the data plane does not serve
// are refused on update too.
func TestUpdateRoutes(t *testing.T) {
	t.Parallel()
	routes := newCatalog(t).Type("routes")
	stored := write(t, "routes", mustJSON(t, `{"paths":["/"],"service":{"id":"`+serviceID+`"}}`))
	if _, err := routes.Update(mustJSON(t, `{"paths":null}`), stored, later); err == nil ||
		err.Message != "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')" {
		t.Errorf("clearing paths: %v", err)
	}
	if _, err := routes.Update(mustJSON(t, `{"protocols":["grpc"]}`), stored, later); err == nil ||
		err.Message != "2 schema violations (protocols: 'grpc' routes are not supported yet (only http and https); "+
			"strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs')" {
		t.Errorf("switching to grpc: %v", err)
	}
	got, err := routes.Update(mustJSON(t, `{"hosts":["example.com"],"paths":null}`), stored, later)
	if err != nil {
		t.Fatal(err.Message)
	}
	if got["paths"] != nil || !reflect.DeepEqual(got["hosts"], []any{"example.com"}) {
		t.Errorf("paths=%v hosts=%v", got["paths"], got["hosts"])
	}
}

// TestUpdateKeepsStoredValues checks the general PATCH rules on a
// service: absent fields keep their stored value, null clears, input
// maps are not modified, and shorthands apply.
func TestUpdateKeepsStoredValues(t *testing.T) {
	t.Parallel()
	services := newCatalog(t).Type("services")
	stored := write(t, "services", mustJSON(t, `{"name":"s","host":"a.com","path":"/x","tags":["t"]}`))
	patch := mustJSON(t, `{"url":"https://b.com:8443"}`)
	got, err := services.Update(patch, stored, later)
	if err != nil {
		t.Fatal(err.Message)
	}
	if got["host"] != "b.com" || got["port"] != int64(8443) || got["protocol"] != "https" || got["path"] != nil {
		t.Errorf("url shorthand on update: %v", got)
	}
	if got["name"] != "s" || !reflect.DeepEqual(got["tags"], []any{"t"}) {
		t.Errorf("absent fields must keep their value: name=%v tags=%v", got["name"], got["tags"])
	}
	if _, ok := patch["host"]; ok || stored["host"] != "a.com" {
		t.Error("Update modified its inputs")
	}
}

// TestNoImmutableFields documents that none of Kong's entities declares
// an immutable field, so PATCH may change any field.
func TestNoImmutableFields(t *testing.T) {
	t.Parallel()
	for _, typ := range newCatalog(t).Types() {
		for _, f := range typ.Schema.Fields {
			if f.Immutable {
				t.Errorf("%s.%s is immutable; Kong's is not", typ.Name, f.Name)
			}
		}
	}
}
