package declarative_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"gatehouse.dev/shared/declarative"
)

// exportYAML is a file whose ids are all deterministic, for the golden
// exports.
const exportYAML = `
_format_version: "3.0"
services:
- name: svc1
  url: https://example.com/api
  tags: [team-a]
  routes:
  - name: r1
    paths: ["~/users/\\d+$", /static]
    methods: [GET]
    headers: {x-version: ["1", "2"]}
    plugins:
    - name: request-termination
      config: {status_code: 403, message: "no <access> & co"}
  plugins:
  - name: rate-limiting
    config: {minute: 5, policy: local}
consumers:
- username: alice
  basicauth_credentials: [{username: alice, password: s3cret}]
  groups: [{name: gold}]
consumer_groups:
- name: gold
  plugins:
  - name: rate-limiting
    config: {hour: 100}
upstreams:
- name: up1
  algorithm: least-connections
  targets:
  - {target: 10.0.0.1, weight: 10}
  - {target: "[::1]:8080"}
`

func TestMarshalGolden(t *testing.T) {
	t.Parallel()
	cfg := parse(t, exportYAML)
	for _, f := range []declarative.Format{declarative.JSON, declarative.YAML} {
		out, err := cfg.Marshal(f)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", f, err)
		}
		golden(t, "export.golden."+f.String(), out)
	}
}

func TestMarshalShape(t *testing.T) {
	t.Parallel()
	cfg := parse(t, exportYAML)
	out, err := cfg.Marshal(declarative.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["_format_version"] != "3.0" || doc["_transform"] != false {
		t.Errorf("header = %v %v, want 3.0 and false", doc["_format_version"], doc["_transform"])
	}
	route := doc["routes"].([]any)[0].(map[string]any)
	if route["service"] != declarative.GenerateID("services", "svc1") {
		t.Errorf("route.service = %v, want the plain id", route["service"])
	}
	if v, ok := route["hosts"]; !ok || v != nil {
		t.Errorf("route.hosts = %v (present %v), want an explicit null", v, ok)
	}
	if !strings.Contains(string(out), `"no <access> & co"`) {
		t.Errorf("HTML characters are escaped in %s", out)
	}
	// Top-level keys in order: the header, then types parents first.
	order := []string{`"_format_version"`, `"_transform"`, `"services"`, `"routes"`, `"consumers"`, `"plugins"`, `"targets"`}
	last := -1
	for _, k := range order {
		i := strings.Index(string(out), "\n  "+k)
		if i < last {
			t.Errorf("%s comes before an earlier key", k)
		}
		last = i
	}
	// Entity fields follow the schema: id first.
	if !strings.Contains(string(out), "{\n      \"id\":") {
		t.Errorf("entities do not start with their id:\n%s", out[:200])
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	cert, key := testCert()
	certDoc, err := json.Marshal(map[string]any{
		"_format_version": "3.0",
		"certificates": []any{map[string]any{
			"cert": cert, "key": key, "tags": []any{"c"},
			"snis": []any{map[string]any{"name": "example.com"}},
		}},
		"ca_certificates": []any{},
		"consumers": []any{map[string]any{
			"username":            "bob",
			"keyauth_credentials": []any{map[string]any{"key": "k1", "ttl": 60}, map[string]any{}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, src string }{
		{"deterministic", exportYAML},
		{"random ids and certificates", string(certDoc)},
		{"nested", nestedYAML},
	} {
		for _, f := range []declarative.Format{declarative.JSON, declarative.YAML} {
			t.Run(tc.name+"/"+f.String(), func(t *testing.T) {
				t.Parallel()
				first := parse(t, tc.src)
				out, err := first.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				second := parse(t, string(out))
				if a, b := canonical(t, first.AsMap()), canonical(t, second.AsMap()); a != b {
					t.Fatalf("round trip through %v changed the entities:\n%s\n%s\nexport:\n%s", f, a, b, out)
				}
				again, err := second.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, again) {
					t.Errorf("second export differs from the first")
				}
			})
		}
	}
}

func TestRoundTripKeepsStoredPasswords(t *testing.T) {
	t.Parallel()
	first := parse(t, exportYAML)
	hashed := first.Entities("basicauth_credentials")[0]["password"]
	out, err := first.Marshal(declarative.YAML)
	if err != nil {
		t.Fatal(err)
	}
	second := parse(t, string(out))
	if got := second.Entities("basicauth_credentials")[0]["password"]; got != hashed {
		t.Errorf("password after round trip = %v, want the stored hash %v (not hashed again)", got, hashed)
	}
}

func TestFromEntities(t *testing.T) {
	t.Parallel()
	cfg := parse(t, exportYAML)
	m := cfg.AsMap()
	// Shuffle one list: FromEntities orders by primary key.
	plugins := append([]map[string]any(nil), m["plugins"]...)
	for i, j := 0, len(plugins)-1; i < j; i, j = i+1, j-1 {
		plugins[i], plugins[j] = plugins[j], plugins[i]
	}
	m["plugins"] = plugins
	m["snis"] = nil
	rebuilt, err := declarative.FromEntities(catalog(t), m)
	if err != nil {
		t.Fatalf("FromEntities: %v", err)
	}
	a, _ := cfg.Marshal(declarative.JSON)
	b, _ := rebuilt.Marshal(declarative.JSON)
	if !bytes.Equal(a, b) {
		t.Errorf("FromEntities(AsMap()) exports differently")
	}
	if rebuilt.Len() != cfg.Len() || strings.Join(rebuilt.Types(), ",") != strings.Join(cfg.Types(), ",") {
		t.Errorf("Len %d Types %v, want %d %v", rebuilt.Len(), rebuilt.Types(), cfg.Len(), cfg.Types())
	}
	for _, tc := range []struct {
		name string
		m    map[string][]map[string]any
		want string
	}{
		{"unknown type", map[string][]map[string]any{"servics": {{"id": "x"}}}, `unknown type "servics"`},
		{"no primary key", map[string][]map[string]any{"services": {{"name": "x"}}}, "services[0] has no id"},
		{"null entity", map[string][]map[string]any{"services": {nil}}, "services[0] is null"},
	} {
		if _, err := declarative.FromEntities(catalog(t), tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestMarshalLeavesTransientFieldsOut(t *testing.T) {
	t.Parallel()
	cert, key := testCert()
	id := "3d5b8f0c-2a4e-4c6f-8b1d-9e7a6c5b4d3f"
	cfg, err := declarative.FromEntities(catalog(t), map[string][]map[string]any{
		"certificates": {{"id": id, "cert": cert, "key": key, "snis": []any{"example.com"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Marshal(declarative.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "snis") {
		t.Errorf("export carries the transient snis field:\n%s", out)
	}
}

func TestMarshalUnknownFormat(t *testing.T) {
	t.Parallel()
	if _, err := parse(t, exportYAML).Marshal(declarative.Format(9)); err == nil {
		t.Error("Marshal(Format(9)) succeeded")
	}
	if got := declarative.Format(9).String(); got != "Format(9)" {
		t.Errorf("String = %q", got)
	}
}
