package plugin_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/version"
)

var allNames = []string{
	"acl", "basic-auth", "correlation-id", "cors", "ip-restriction", "key-auth", "opentelemetry",
	"prometheus", "rate-limiting", "request-termination", "request-transformer", "response-transformer",
}

const bundledList = "acl, basic-auth, correlation-id, cors, ip-restriction, key-auth, opentelemetry, " +
	"prometheus, rate-limiting, request-termination, request-transformer, response-transformer"

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []string
		wantErr string
	}{
		{spec: "bundled", want: allNames},
		{spec: "", want: allNames},
		{spec: "  ", want: allNames},
		{spec: "off", want: []string{}},
		{spec: " off ", want: []string{}},
		{spec: "key-auth", want: []string{"key-auth"}},
		{spec: "rate-limiting, key-auth ,acl", want: []string{"acl", "key-auth", "rate-limiting"}},
		{spec: "key-auth,key-auth", want: []string{"key-auth"}},
		{spec: "key-auth,,acl,", want: []string{"acl", "key-auth"}},
		{spec: "bundled,key-auth", want: allNames},
		{spec: "key-auth,bundled", want: allNames},
		{spec: "x", wantErr: "plugin 'x' is not available; bundled plugins are: " + bundledList},
		{spec: "key-auth,jwt,x,jwt", wantErr: "plugins 'jwt', 'x' are not available; bundled plugins are: " + bundledList},
		{spec: "Key-Auth", wantErr: "plugin 'Key-Auth' is not available"},
		{spec: "off,key-auth", wantErr: `"off" cannot be combined with other plugins`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			set, err := plugin.Load(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load(%q) error = %v; want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.spec, err)
			}
			if got := set.Names(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Names() = %q; want %q", got, tt.want)
			}
			list := set.List()
			if len(list) != len(tt.want) {
				t.Fatalf("List() has %d plugins; want %d", len(list), len(tt.want))
			}
			for i, p := range list {
				if p.Name != tt.want[i] || set.Get(p.Name) != p || set.PluginSchema(p.Name) != p.Schema {
					t.Errorf("plugin %d: %s; Get and PluginSchema must find it", i, p.Name)
				}
			}
		})
	}
}

func TestSetLookups(t *testing.T) {
	t.Parallel()
	set, err := plugin.Load("key-auth,rate-limiting")
	if err != nil {
		t.Fatal(err)
	}
	// The plugins entity reaches subschemas through this interface.
	var schemas interface {
		PluginSchema(name string) *schema.Schema
	} = set
	if schemas.PluginSchema("acl") != nil || set.Get("acl") != nil {
		t.Error("a bundled plugin that is not loaded must not be found")
	}
	if schemas.PluginSchema("key-auth") == nil {
		t.Error("PluginSchema(key-auth) = nil")
	}
	list := set.List()
	list[0] = nil
	if set.List()[0] == nil {
		t.Error("List must return a copy")
	}

	var empty *plugin.Set
	if empty.Get("key-auth") != nil || empty.PluginSchema("key-auth") != nil || empty.Names() != nil ||
		empty.List() != nil || len(empty.AvailableOnServer()) != 0 {
		t.Error("a nil Set must behave as an empty one")
	}

	var other *plugin.Plugin
	for _, p := range plugin.Bundled() {
		if p.Name == "key-auth" {
			other = p
		}
	}
	dup := plugin.NewSet(set.Get("key-auth"), other)
	if got := dup.Names(); !reflect.DeepEqual(got, []string{"key-auth"}) || dup.Get("key-auth") != set.Get("key-auth") {
		t.Errorf("NewSet must keep the first of two plugins with one name: %q", got)
	}
}

func TestAvailableOnServer(t *testing.T) {
	t.Parallel()
	set, err := plugin.Load("key-auth,rate-limiting")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(set.AvailableOnServer())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"key-auth":{"version":"` + version.Version + `","priority":1250},` +
		`"rate-limiting":{"version":"` + version.Version + `","priority":910}}`
	if string(b) != want {
		t.Errorf("available_on_server = %s; want %s", b, want)
	}
}
