package plugin_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/version"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Unix(1700000000, 0)

// pluginsSchema is a small stand-in for the plugins entity: the fields a
// plugin subschema specializes, with the subschema chosen by name.
func pluginsSchema(set *plugin.Set) *schema.Schema {
	return &schema.Schema{
		Name:       "plugins",
		PrimaryKey: []string{"id"},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Required: true},
			schema.CreatedAt(),
			schema.ForeignKey("route", "routes"),
			schema.ForeignKey("service", "services"),
			schema.ForeignKey("consumer", "consumers"),
			schema.ForeignKey("consumer_group", "consumer_groups"),
			{Name: "config", Type: schema.Record, Abstract: true},
			schema.Protocols(),
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
			schema.Tags(),
		},
		SubschemaKey:   "name",
		Subschemas:     set.PluginSchema,
		SubschemaError: "plugin '%s' not enabled; add it to the 'plugins' configuration property",
	}
}

func bundledSet(tb testing.TB) *plugin.Set {
	tb.Helper()
	set, err := plugin.Load("bundled")
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// decode reads JSON the way the Admin API does (numbers as json.Number).
func decode(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// golden compares got with testdata/<path>, or rewrites it with -update.
func golden(t *testing.T, path string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	file := filepath.Join("testdata", path)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := fs.ReadFile(os.DirFS("testdata"), filepath.ToSlash(path))
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", file, b)
	}
}

// kongPriorities are the PRIORITY values of Kong 3.10's handlers.
var kongPriorities = map[string]int{
	"acl":                  950,
	"basic-auth":           1100,
	"correlation-id":       100001,
	"cors":                 2000,
	"ip-restriction":       990,
	"key-auth":             1250,
	"opentelemetry":        14,
	"prometheus":           13,
	"rate-limiting":        910,
	"request-termination":  2,
	"request-transformer":  801,
	"response-transformer": 800,
}

func TestBundled(t *testing.T) {
	t.Parallel()
	list := plugin.Bundled()
	got := map[string]int{}
	var names []string
	for _, p := range list {
		got[p.Name] = p.Priority
		names = append(names, p.Name)
		if p.Version != version.Version {
			t.Errorf("%s: version %q; want the build's version %q", p.Name, p.Version, version.Version)
		}
		if p.Schema.Name != p.Name {
			t.Errorf("%s: schema named %q", p.Name, p.Schema.Name)
		}
	}
	if !reflect.DeepEqual(got, kongPriorities) {
		t.Errorf("priorities = %v; want Kong's %v", got, kongPriorities)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Bundled is not sorted by name: %v", names)
	}
	if again := plugin.Bundled(); again[0] == list[0] {
		t.Error("Bundled should build new values on each call")
	}
}

func TestSchemasAreValid(t *testing.T) {
	t.Parallel()
	for _, p := range plugin.Bundled() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			if err := p.Schema.Check(); err != nil {
				t.Fatalf("subschema: %v", err)
			}
			cfg := p.Schema.Field("config")
			if cfg == nil || cfg.Type != schema.Record || !cfg.Required {
				t.Fatalf("config must be a required record: %+v", cfg)
			}
			protocols := p.Schema.Field("protocols")
			if protocols == nil || !protocols.Required || protocols.Elements == nil {
				t.Fatalf("protocols must be a required set: %+v", protocols)
			}
			var accepted []string
			for _, v := range protocols.Elements.OneOf {
				accepted = append(accepted, v.(string))
			}
			if !reflect.DeepEqual(accepted, p.Protocols) {
				t.Errorf("Protocols = %v; the schema accepts %v", p.Protocols, accepted)
			}
			// The subschema must also fit the plugins entity it specializes.
			entity := pluginsSchema(plugin.NewSet(p))
			if err := entity.Check(); err != nil {
				t.Errorf("plugins entity: %v", err)
			}
			for _, f := range p.Schema.Fields {
				if entity.Field(f.Name) == nil {
					t.Errorf("subschema field %q is not a field of the plugins entity", f.Name)
				}
			}
		})
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	set := bundledSet(t)
	tests := []struct {
		plugin string
		scope  plugin.Scope
		want   bool
	}{
		{"key-auth", plugin.ScopeConsumer, false},
		{"key-auth", plugin.ScopeConsumerGroup, false},
		{"key-auth", plugin.ScopeRoute, true},
		{"basic-auth", plugin.ScopeConsumer, false},
		{"acl", plugin.ScopeConsumer, false},
		{"cors", plugin.ScopeConsumer, false},
		{"cors", plugin.ScopeService, true},
		{"rate-limiting", plugin.ScopeConsumer, true},
		{"rate-limiting", plugin.ScopeConsumerGroup, true},
		{"request-termination", plugin.ScopeConsumer, true},
	}
	for _, tt := range tests {
		p := set.Get(tt.plugin)
		if got := p.Allows(tt.scope); got != tt.want {
			t.Errorf("%s.Allows(%s) = %v; want %v", tt.plugin, tt.scope, got, tt.want)
		}
		f := p.Schema.Field(string(tt.scope))
		if restricted := f != nil && f.EqNull; restricted == tt.want {
			t.Errorf("%s: the schema's %s field (%+v) disagrees with Allows = %v", tt.plugin, tt.scope, f, tt.want)
		}
	}
}

func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	for _, p := range plugin.Bundled() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			full := p.KongJSON()
			golden(t, filepath.Join("schemas", p.Name+".json"), full)

			// The deprecated /plugins/schema/{name} is the config record alone.
			var config map[string]any
			for _, f := range full["fields"].([]any) {
				if c, ok := f.(map[string]any)["config"]; ok {
					config = c.(map[string]any)
				}
			}
			legacy := p.ConfigKongJSON()
			for _, key := range []string{"fields", "entity_checks", "shorthand_fields"} {
				if !reflect.DeepEqual(legacy[key], config[key]) {
					t.Errorf("ConfigKongJSON()[%q] = %v; want the config record's %v", key, legacy[key], config[key])
				}
			}
			if _, ok := legacy["type"]; ok {
				t.Errorf("ConfigKongJSON should hold only the record's contents: %v", legacy)
			}
		})
	}
}

// minimalConfigs are the smallest valid configurations of each plugin.
var minimalConfigs = map[string]string{
	"acl":                  `{"allow":["admins"]}`,
	"basic-auth":           `{}`,
	"correlation-id":       `{}`,
	"cors":                 `{}`,
	"ip-restriction":       `{"allow":["10.0.0.0/8"]}`,
	"key-auth":             `{}`,
	"opentelemetry":        `{"traces_endpoint":"http://otel-collector:4318/v1/traces"}`,
	"prometheus":           `{}`,
	"rate-limiting":        `{"minute":5}`,
	"request-termination":  `{}`,
	"request-transformer":  `{}`,
	"response-transformer": `{}`,
}

// TestDefaultsGolden pins the entity an insert with a minimal config
// stores and shows: every default filled, deprecated fields echoed.
func TestDefaultsGolden(t *testing.T) {
	t.Parallel()
	set := bundledSet(t)
	entity := pluginsSchema(set)
	if len(minimalConfigs) != len(set.Names()) {
		t.Fatalf("minimalConfigs covers %d plugins; %d are bundled", len(minimalConfigs), len(set.Names()))
	}
	for _, name := range set.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := map[string]any{"name": name, "config": decode(t, minimalConfigs[name])}
			out := entity.Process(in, schema.Insert, now)
			if errs := entity.Validate(out, schema.Full); errs != nil {
				t.Fatalf("minimal config refused: %s", schema.SchemaViolation(errs).Message)
			}
			shown := entity.Present(out)
			delete(shown, "id")
			golden(t, filepath.Join("config", name+".json"), shown)

			// A stored entity read back as JSON is still valid and unchanged.
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			back := entity.Process(decode(t, string(b)), schema.Select, now)
			if errs := entity.Validate(back, schema.Full); errs != nil {
				t.Fatalf("stored entity became invalid: %s", schema.SchemaViolation(errs).Message)
			}
			// What GET returns, sent back as is (decK), is accepted.
			resent := entity.Process(decode(t, mustJSON(t, shown)), schema.Upsert, now)
			if errs := entity.Validate(resent, schema.Full); errs != nil {
				t.Fatalf("the entity as shown is refused: %s", schema.SchemaViolation(errs).Message)
			}
			if !reflect.DeepEqual(resent["config"], out["config"]) {
				t.Errorf("resending the shown entity changed its config:\n%v\nwant\n%v", resent["config"], out["config"])
			}
		})
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
