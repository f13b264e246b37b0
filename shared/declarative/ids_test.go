package declarative_test

import (
	"testing"

	"gatehouse.dev/shared/declarative"
)

// The ids below were computed outside Go, with Python's uuid.uuid5 over
// Kong's scheme: uuid5(uuid5(fd02801f-0957-4a15-a55a-c8d9606f30b5, table), key).
func TestGenerateIDPinned(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ typ, key, want string }{
		{"services", "svc1", "2254ba65-245b-5b72-a0b8-7341d45f5e77"},
		{"routes", "r1", "4726a05a-d550-537e-9fc3-a07c7a1188c7"},
		{"consumers", "alice", "b32379d9-3d28-5683-a79c-72139be6e34f"},
		{"plugins", "plugins:*:key-auth::::", "ea8e8917-d7b1-5995-88ee-38970d598c19"},
		{"snis", "example.com", "1944977b-55fa-5e55-99c8-9160e78bbbb4"},
	} {
		if got := declarative.GenerateID(tc.typ, tc.key); got != tc.want {
			t.Errorf("GenerateID(%s, %s) = %s, want %s", tc.typ, tc.key, got, tc.want)
		}
	}
}

func TestDeterministicIDs(t *testing.T) {
	t.Parallel()
	const src = `
_format_version: "3.0"
services:
- name: svc1
  host: example.com
  routes:
  - name: r1
    paths: [/]
  plugins:
  - name: rate-limiting
    config: {minute: 1}
plugins:
- name: key-auth
- name: rate-limiting
  service: svc1
  route: r1
  config: {minute: 1}
consumers:
- username: alice
  basicauth_credentials: [{username: alice, password: pw}]
consumer_groups:
- name: gold
upstreams:
- name: up1
  targets: [{target: 10.0.0.1}]
certificates: []
`
	// Pinned with Python as above; each key follows Kong's
	// get_key_for_uuid_gen for the entity.
	want := map[string]map[any]string{
		"services":        {"svc1": "2254ba65-245b-5b72-a0b8-7341d45f5e77"},
		"routes":          {"r1": "4726a05a-d550-537e-9fc3-a07c7a1188c7"},
		"consumers":       {"alice": "b32379d9-3d28-5683-a79c-72139be6e34f"},
		"consumer_groups": {"gold": "292e2838-e71a-5766-868d-840f7af2afa2"},
		"upstreams":       {"up1": "85b92587-e1f9-522f-9495-6e2d3b1f379e"},
		// "targets:*:<upstream id>:10.0.0.1": the target as written.
		"targets": {"10.0.0.1:8000": "58b6ef1e-3e2f-5791-a96d-4fbcd89d405c"},
		// "basicauth_credentials:*:alice".
		"basicauth_credentials": {"alice": "1ee08b36-0e31-553f-bc05-85227e1a7ca8"},
	}
	name := map[string]string{
		"services": "name", "routes": "name", "consumers": "username", "consumer_groups": "name",
		"upstreams": "name", "targets": "target", "basicauth_credentials": "username",
	}
	first := parse(t, src)
	for typ, ids := range want {
		for key, id := range ids {
			if got := byName(t, first, typ, name[typ], key)["id"]; got != id {
				t.Errorf("%s %v id = %v, want %s", typ, key, got, id)
			}
		}
	}
	// Plugins: "plugins:*:key-auth::::" (global), "plugins:*:rate-limiting::<svc1 id>::"
	// (nested in the service), and "plugins:*:rate-limiting:r1:svc1::" (foreign keys as
	// written, as Kong does).
	plugins := map[string]bool{
		"ea8e8917-d7b1-5995-88ee-38970d598c19":                                 true,
		"be933198-581f-549d-a765-d3a56209dee2":                                 true,
		declarative.GenerateID("plugins", "plugins:*:rate-limiting:r1:svc1::"): true,
	}
	for _, p := range first.Entities("plugins") {
		if !plugins[p["id"].(string)] {
			t.Errorf("plugin %v %v has unexpected id %v", p["name"], p["service"], p["id"])
		}
	}
	second := parse(t, src)
	if a, b := canonical(t, first.AsMap()), canonical(t, second.AsMap()); a != b {
		t.Errorf("two parses of the same file differ:\n%s\n%s", a, b)
	}
}

func TestRandomIDsWhereKongUsesRandom(t *testing.T) {
	t.Parallel()
	const src = `
_format_version: "3.0"
consumers:
- username: alice
  keyauth_credentials: [{key: k1}]
`
	// The key-auth cache key is the auto-generated "key": Kong gives up
	// and uses a random id.
	a := parse(t, src).Entities("keyauth_credentials")[0]["id"]
	b := parse(t, src).Entities("keyauth_credentials")[0]["id"]
	if a == b {
		t.Errorf("key-auth credential ids %v and %v, want random ids", a, b)
	}
}

func TestGivenIDsAreKept(t *testing.T) {
	t.Parallel()
	const id = "5b1d3c9e-7a42-4e0b-8f16-2c3d4e5f6a7b"
	cfg := parse(t, `
_format_version: "3.0"
services:
- id: `+id+`
  name: svc1
  host: example.com
  routes: [{name: r1, paths: [/]}]
`)
	if got := cfg.Entities("services")[0]["id"]; got != id {
		t.Errorf("service id = %v, want %s", got, id)
	}
}
