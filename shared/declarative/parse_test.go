package declarative_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"gatehouse.dev/shared/declarative"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

const nestedYAML = `
_format_version: "3.0"
_comment: a file with a bit of everything
_ignore: [anything, {goes: here}]
services:
- name: svc1
  url: http://example.com:8080/api
  _comment: the main service
  routes:
  - name: r1
    paths: [/a]
    plugins:
    - name: key-auth
  plugins:
  - name: rate-limiting
    config: {minute: 5}
consumers:
- username: alice
  custom_id: A-1
  keyauth_credentials:
  - key: secret
  acls:
  - group: admins
upstreams:
- name: up1
  targets:
  - target: 10.0.0.1
  - target: 10.0.0.2:81
    weight: 50
`

func TestParseNested(t *testing.T) {
	t.Parallel()
	cfg := parse(t, nestedYAML)
	want := map[string]int{
		"services": 1, "routes": 1, "plugins": 2, "consumers": 1, "keyauth_credentials": 1,
		"acls": 1, "upstreams": 1, "targets": 2,
	}
	got := map[string]int{}
	for _, typ := range cfg.Types() {
		got[typ] = len(cfg.Entities(typ))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entities per type = %v, want %v", got, want)
	}
	if cfg.Len() != 10 {
		t.Errorf("Len = %d, want 10", cfg.Len())
	}

	svc := byName(t, cfg, "services", "name", "svc1")
	for field, value := range map[string]any{
		"protocol": "http", "host": "example.com", "port": int64(8080), "path": "/api",
		"retries": int64(5), "created_at": now.Unix(), "updated_at": now.Unix(), "enabled": true,
	} {
		if !schema.Equal(svc[field], value) {
			t.Errorf("service %s = %#v, want %#v", field, svc[field], value)
		}
	}
	for _, k := range []string{"_comment", "_ignore", "url", "routes", "plugins"} {
		if _, ok := svc[k]; ok {
			t.Errorf("service keeps %q", k)
		}
	}

	route := byName(t, cfg, "routes", "name", "r1")
	if fkID(t, route, "service") != svc["id"] {
		t.Errorf("route.service = %v, want the service's id %v", route["service"], svc["id"])
	}
	keyAuth := byName(t, cfg, "plugins", "name", "key-auth")
	if fkID(t, keyAuth, "route") != route["id"] || keyAuth["service"] != nil {
		t.Errorf("key-auth scope = route %v service %v, want the route only", keyAuth["route"], keyAuth["service"])
	}
	rl := byName(t, cfg, "plugins", "name", "rate-limiting")
	if fkID(t, rl, "service") != svc["id"] || rl["route"] != nil {
		t.Errorf("rate-limiting scope = service %v route %v, want the service only", rl["service"], rl["route"])
	}
	if cfgMap, _ := rl["config"].(map[string]any); !schema.Equal(cfgMap["minute"], 5) || cfgMap["policy"] != "local" {
		t.Errorf("rate-limiting config = %v, want minute 5 and the defaults", rl["config"])
	}

	alice := byName(t, cfg, "consumers", "username", "alice")
	if key := cfg.Entities("keyauth_credentials")[0]; fkID(t, key, "consumer") != alice["id"] || key["key"] != "secret" {
		t.Errorf("key-auth credential = %v, want key secret of alice", key)
	}
	if acl := cfg.Entities("acls")[0]; fkID(t, acl, "consumer") != alice["id"] {
		t.Errorf("acl consumer = %v, want alice", acl["consumer"])
	}
	up := byName(t, cfg, "upstreams", "name", "up1")
	for _, target := range []string{"10.0.0.1:8000", "10.0.0.2:81"} {
		tg := byName(t, cfg, "targets", "target", target)
		if fkID(t, tg, "upstream") != up["id"] {
			t.Errorf("target %s upstream = %v, want %v", target, tg["upstream"], up["id"])
		}
	}
}

func TestParseOrdersByID(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
_format_version: "3.0"
services:
- {name: c, host: c.test}
- {name: a, host: a.test}
- {name: b, host: b.test}
`)
	list := cfg.Entities("services")
	for i := 1; i < len(list); i++ {
		if list[i-1]["id"].(string) >= list[i]["id"].(string) {
			t.Fatalf("services not ordered by id: %v then %v", list[i-1]["id"], list[i]["id"])
		}
	}
	if got := cfg.Types(); !reflect.DeepEqual(got, []string{"services"}) {
		t.Errorf("Types = %v, want [services]", got)
	}
	if cfg.Entities("routes") != nil {
		t.Errorf("Entities(routes) = %v, want nil", cfg.Entities("routes"))
	}
}

func TestParseForeignKeyForms(t *testing.T) {
	t.Parallel()
	const svcID = "0b5c2a6e-5f4b-4c59-9a7e-3f1b8d7c6e5a"
	for _, tc := range []struct {
		name, ref string
	}{
		{"endpoint key", `service: svc1`},
		{"id string", `service: ` + svcID},
		{"id object", `service: {id: ` + svcID + `}`},
		{"name object", `service: {name: svc1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, `
_format_version: "3.0"
services:
- {id: `+svcID+`, name: svc1, host: example.com}
routes:
- name: r1
  paths: [/]
  `+tc.ref+`
plugins:
- name: key-auth
  route: r1
`)
			route := byName(t, cfg, "routes", "name", "r1")
			if got := fkID(t, route, "service"); got != svcID {
				t.Errorf("route.service.id = %s, want %s", got, svcID)
			}
			plugin := cfg.Entities("plugins")[0]
			if fkID(t, plugin, "route") != route["id"] {
				t.Errorf("plugin.route = %v, want %v", plugin["route"], route["id"])
			}
		})
	}
}

func TestParseJSONAndYAMLAgree(t *testing.T) {
	t.Parallel()
	fromYAML := parse(t, nestedYAML)
	fromJSON := parse(t, nestedJSON)
	if a, b := stripRandom(t, fromYAML), stripRandom(t, fromJSON); a != b {
		t.Fatalf("YAML and JSON disagree:\n%s\n%s", a, b)
	}
}

// nestedJSON is nestedYAML written in JSON.
const nestedJSON = `{
  "_format_version": "3.0",
  "_comment": "a file with a bit of everything",
  "_ignore": ["anything", {"goes": "here"}],
  "services": [{"name": "svc1", "url": "http://example.com:8080/api", "_comment": "the main service",
    "routes": [{"name": "r1", "paths": ["/a"], "plugins": [{"name": "key-auth"}]}],
    "plugins": [{"name": "rate-limiting", "config": {"minute": 5}}]}],
  "consumers": [{"username": "alice", "custom_id": "A-1",
    "keyauth_credentials": [{"key": "secret"}], "acls": [{"group": "admins"}]}],
  "upstreams": [{"name": "up1", "targets": [{"target": "10.0.0.1"}, {"target": "10.0.0.2:81", "weight": 50}]}]
}`

// stripRandom is the canonical JSON of cfg without the ids Kong generates
// at random (key-auth credentials).
func stripRandom(t *testing.T, cfg *declarative.Config) string {
	t.Helper()
	m := cfg.AsMap()
	creds := make([]map[string]any, 0, len(m["keyauth_credentials"]))
	for _, c := range m["keyauth_credentials"] {
		c = schema.CopyMap(c)
		delete(c, "id")
		creds = append(creds, c)
	}
	m["keyauth_credentials"] = creds
	return canonical(t, m)
}

func TestParseTransform(t *testing.T) {
	t.Parallel()
	const src = `
_format_version: "3.0"
_transform: %s
consumers:
- username: alice
  basicauth_credentials:
  - username: alice
    password: %s
`
	stored := entity.HashBasicAuthPassword(declarative.GenerateID("consumers", "alice"), "s3cret")
	for _, tc := range []struct {
		name, transform, password, want string
	}{
		{"default hashes", "true", "s3cret", stored},
		{"false keeps a stored hash", "false", stored, stored},
		{"false keeps plain text as given", "false", "s3cret", "s3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, sprintf(src, tc.transform, tc.password))
			cred := cfg.Entities("basicauth_credentials")[0]
			if cred["password"] != tc.want {
				t.Errorf("password = %v, want %v", cred["password"], tc.want)
			}
		})
	}
	t.Run("omitted means true", func(t *testing.T) {
		t.Parallel()
		cfg := parse(t, `
_format_version: "3.0"
consumers:
- username: alice
  basicauth_credentials: [{username: alice, password: s3cret}]
`)
		if got := cfg.Entities("basicauth_credentials")[0]["password"]; got != stored {
			t.Errorf("password = %v, want the hash %v", got, stored)
		}
	})
}

func TestParseMigratesOldFormats(t *testing.T) {
	t.Parallel()
	const src = `
_format_version: "%s"
services:
- name: svc1
  host: example.com
  routes:
  - name: nested
    paths: ["/users/(?<id>\\d+)", "/plain/./x"]
routes:
- name: top
  service: svc1
  paths: ["/a%%7Eb", "/files/\\d+%%2E%%2Fjson"]
`
	for _, tc := range []struct {
		version     string
		nested, top []any
	}{
		{"2.1", []any{`~/users/(?<id>\d+)`, "/plain/x"}, []any{"/a~b", `~/files/\d+\.%2Fjson`}},
		{"1.1", []any{`~/users/(?<id>\d+)`, "/plain/x"}, []any{"/a~b", `~/files/\d+\.%2Fjson`}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, sprintf(src, tc.version))
			if got := byName(t, cfg, "routes", "name", "nested")["paths"]; !schema.Equal(got, tc.nested) {
				t.Errorf("nested paths = %v, want %v", got, tc.nested)
			}
			if got := byName(t, cfg, "routes", "name", "top")["paths"]; !schema.Equal(got, tc.top) {
				t.Errorf("top paths = %v, want %v", got, tc.top)
			}
		})
	}
	t.Run("3.0 is not migrated", func(t *testing.T) {
		t.Parallel()
		cfg := parse(t, `
_format_version: "3.0"
routes:
- name: top
  paths: ["~/users/\\d+", "/x(y)"]
`)
		if got := cfg.Entities("routes")[0]["paths"]; !schema.Equal(got, []any{`~/users/\d+`, "/x(y)"}) {
			t.Errorf("paths = %v, want them as given", got)
		}
	})
}

func TestParseConsumerGroups(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
_format_version: "3.0"
consumer_groups:
- name: gold
  consumers:
  - username: alice
  - bob
  plugins:
  - name: rate-limiting
    config: {minute: 10}
- name: silver
consumers:
- username: alice
  groups:
  - name: gold
  - silver
- username: bob
- username: carol
  groups: [{id: `+declarative.GenerateID("consumer_groups", "silver")+`}]
`)
	gold := byName(t, cfg, "consumer_groups", "name", "gold")
	silver := byName(t, cfg, "consumer_groups", "name", "silver")
	ids := map[string]string{}
	for _, c := range cfg.Entities("consumers") {
		ids[c["username"].(string)] = c["id"].(string)
	}
	want := map[string]bool{
		entity.MembershipID(gold["id"].(string), ids["alice"]):   true,
		entity.MembershipID(gold["id"].(string), ids["bob"]):     true,
		entity.MembershipID(silver["id"].(string), ids["alice"]): true,
		entity.MembershipID(silver["id"].(string), ids["carol"]): true,
	}
	members := cfg.Entities("consumer_group_consumers")
	if len(members) != len(want) {
		t.Fatalf("%d memberships, want %d (alice-gold declared twice counts once): %v", len(members), len(want), members)
	}
	for _, m := range members {
		if !want[m["id"].(string)] {
			t.Errorf("unexpected membership %v", m)
		}
		if want := entity.MembershipID(fkID(t, m, "consumer_group"), fkID(t, m, "consumer")); m["id"] != want {
			t.Errorf("membership id %v, want MembershipID %v", m["id"], want)
		}
	}
	rl := cfg.Entities("plugins")[0]
	if fkID(t, rl, "consumer_group") != gold["id"] {
		t.Errorf("group plugin consumer_group = %v, want gold", rl["consumer_group"])
	}
}

func TestParseMembershipRecords(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
_format_version: "3.0"
consumer_groups:
- name: gold
  consumer_group_consumers:
  - consumer: alice
consumers:
- username: alice
- username: bob
consumer_group_consumers:
- consumer_group: gold
  consumer: {username: bob}
`)
	if n := len(cfg.Entities("consumer_group_consumers")); n != 2 {
		t.Fatalf("%d memberships, want 2", n)
	}
}

func TestParseCertificatesWithSNIs(t *testing.T) {
	t.Parallel()
	cert, key := testCert()
	doc := map[string]any{
		"_format_version": "3.0",
		"certificates": []any{map[string]any{
			"cert": cert, "key": key,
			"snis": []any{map[string]any{"name": "example.com"}, map[string]any{"name": "*.example.org", "tags": []any{"t"}}},
		}},
		"services": []any{map[string]any{"name": "tls", "url": "https://example.com", "client_certificate": map[string]any{"id": "c9f3e0f1-5a37-4c4b-9a34-5bb4c59d3f11"}}},
	}
	doc["certificates"].([]any)[0].(map[string]any)["id"] = "c9f3e0f1-5a37-4c4b-9a34-5bb4c59d3f11"
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, string(b))
	c := cfg.Entities("certificates")[0]
	if _, ok := c["snis"]; ok {
		t.Errorf("certificate keeps the transient snis field: %v", c["snis"])
	}
	snis := cfg.Entities("snis")
	if len(snis) != 2 {
		t.Fatalf("%d snis, want 2", len(snis))
	}
	for _, s := range snis {
		if fkID(t, s, "certificate") != c["id"] {
			t.Errorf("sni %v certificate = %v, want %v", s["name"], s["certificate"], c["id"])
		}
	}
	if got := byName(t, cfg, "snis", "name", "example.com")["id"]; got != declarative.GenerateID("snis", "example.com") {
		t.Errorf("nested sni id = %v, want the name-derived one", got)
	}
	if fkID(t, cfg.Entities("services")[0], "client_certificate") != c["id"] {
		t.Errorf("service client_certificate = %v", cfg.Entities("services")[0]["client_certificate"])
	}
}

func TestParseTTL(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
_format_version: "3.0"
consumers:
- username: alice
  keyauth_credentials:
  - {key: k1, ttl: 3600}
`)
	if got := cfg.Entities("keyauth_credentials")[0]["ttl"]; !schema.Equal(got, 3600) {
		t.Errorf("ttl = %v, want 3600", got)
	}
}

func TestParseEmptyAndNullSections(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `{"_format_version": "3.0", "services": null, "routes": []}`)
	if cfg.Len() != 0 || len(cfg.Types()) != 0 {
		t.Errorf("Len %d Types %v, want an empty config", cfg.Len(), cfg.Types())
	}
}

func TestParseDocumentLeavesInputAlone(t *testing.T) {
	t.Parallel()
	src := `{"_format_version": "2.1", "services": [{"name": "s", "host": "h",
	  "routes": [{"name": "r", "paths": ["/x(y)"], "plugins": [{"name": "key-auth"}]}]}]}`
	var doc, before map[string]any
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(src), &before); err != nil {
		t.Fatal(err)
	}
	cfg, err := declarative.ParseDocument(doc, catalog(t), declarative.Options{Now: now})
	if err != nil {
		t.Fatalf("ParseDocument: %v", err)
	}
	if !reflect.DeepEqual(doc, before) {
		t.Errorf("ParseDocument modified its input:\n%v\n%v", doc, before)
	}
	if got := cfg.Entities("routes")[0]["paths"]; !schema.Equal(got, []any{"~/x(y)"}) {
		t.Errorf("paths = %v, want the migrated regex", got)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
