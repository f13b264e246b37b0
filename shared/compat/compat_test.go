package compat_test

import (
	"reflect"
	"slices"
	"testing"

	"gatehouse.dev/shared/compat"
	"gatehouse.dev/shared/version"
)

// table is a made-up history: 1.1.0 added an upstream field and two
// rate-limiting fields (one nested), 1.3.0 a cors field and a nested route
// field.
var table = compat.Table{
	{
		Version:  "1.3.0",
		Entities: map[string][]string{"routes": {"tls.client_hello"}},
		Plugins:  map[string][]string{"cors": {"private_network"}},
	},
	{
		Version:  "1.1.0",
		Entities: map[string][]string{"upstreams": {"use_srv_name"}},
		Plugins:  map[string][]string{"rate_limiting": {"error_code", "redis.ssl"}},
	},
}

func rateLimiting() map[string]any {
	return map[string]any{
		"id":   "p1",
		"name": "rate-limiting",
		"config": map[string]any{
			"minute":     "5",
			"error_code": "429",
			"redis":      map[string]any{"host": "r", "ssl": true},
			"policy":     map[string]any{"kept": true},
		},
	}
}

func same(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dp, want string
	}{
		{"older than every entry", "1.0.5", "<1.1.0"},
		{"older patch", "1.0.0", "<1.1.0"},
		{"at the first entry", "1.1.0", "<1.3.0"},
		{"between entries", "1.2.999", "<1.3.0"},
		{"at the newest entry", "1.3.0", ""},
		{"newer", "1.4.2", ""},
		{"suffix ignored", "1.1.0-rc1", "<1.3.0"},
		{"unparsable counts as oldest", "banana", "<1.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := table.Level(tt.dp); got != tt.want {
				t.Errorf("Level(%q) = %q, want %q", tt.dp, got, tt.want)
			}
			if got := table.Rules(tt.dp).Level(); got != tt.want {
				t.Errorf("Rules(%q).Level() = %q, want %q", tt.dp, got, tt.want)
			}
			if (table.Rules(tt.dp) == nil) != (tt.want == "") {
				t.Errorf("Rules(%q) nil = %v, want nil only for the current level", tt.dp, table.Rules(tt.dp) == nil)
			}
		})
	}
}

func TestStrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		dp, typ     string
		entity      map[string]any
		want        map[string]any // nil: the entity itself, uncopied
		wantChanged []string
	}{
		{
			name: "nested plugin paths removed for an older data plane",
			dp:   "1.0.9", typ: "plugins", entity: rateLimiting(),
			want: map[string]any{
				"id": "p1", "name": "rate-limiting",
				"config": map[string]any{
					"minute": "5",
					"redis":  map[string]any{"host": "r"},
					"policy": map[string]any{"kept": true},
				},
			},
			wantChanged: []string{"config.error_code", "config.redis.ssl"},
		},
		{
			name: "plugin fields kept for a data plane that knows them",
			dp:   "1.1.0", typ: "plugins", entity: rateLimiting(),
		},
		{
			name: "plugin fields kept for a newer patch",
			dp:   "1.1.7", typ: "plugins", entity: rateLimiting(),
		},
		{
			name: "entity field removed",
			dp:   "1.0.0", typ: "upstreams",
			entity:      map[string]any{"id": "u1", "name": "up", "use_srv_name": false},
			want:        map[string]any{"id": "u1", "name": "up"},
			wantChanged: []string{"use_srv_name"},
		},
		{
			name: "entity field kept for 1.1.x",
			dp:   "1.1.3", typ: "upstreams",
			entity: map[string]any{"id": "u1", "name": "up", "use_srv_name": false},
		},
		{
			name: "nested entity field removed for 1.2.x",
			dp:   "1.2.0", typ: "routes",
			entity:      map[string]any{"id": "r1", "tls": map[string]any{"client_hello": "x", "other": "y"}},
			want:        map[string]any{"id": "r1", "tls": map[string]any{"other": "y"}},
			wantChanged: []string{"tls.client_hello"},
		},
		{
			name: "null value left alone, no copy",
			dp:   "1.0.0", typ: "upstreams",
			entity: map[string]any{"id": "u1", "use_srv_name": nil},
		},
		{
			name: "absent field, no copy",
			dp:   "1.0.0", typ: "upstreams",
			entity: map[string]any{"id": "u1"},
		},
		{
			name: "path through a non-object left alone",
			dp:   "1.2.0", typ: "routes",
			entity: map[string]any{"id": "r1", "tls": "not an object"},
		},
		{
			name: "other plugin untouched",
			dp:   "1.0.0", typ: "plugins",
			entity: map[string]any{"id": "p2", "name": "key-auth", "config": map[string]any{"error_code": 1}},
		},
		{
			name: "plugin without config untouched",
			dp:   "1.0.0", typ: "plugins",
			entity: map[string]any{"id": "p3", "name": "rate-limiting"},
		},
		{
			name: "every level applies to the oldest",
			dp:   "1.0.0", typ: "plugins",
			entity: map[string]any{
				"id": "p4", "name": "cors",
				"config": map[string]any{"private_network": true, "origins": []any{"*"}},
			},
			want: map[string]any{
				"id": "p4", "name": "cors",
				"config": map[string]any{"origins": []any{"*"}},
			},
			wantChanged: []string{"config.private_network"},
		},
		{
			name: "current data plane untouched",
			dp:   "1.3.0", typ: "plugins",
			entity: map[string]any{"id": "p4", "name": "cors", "config": map[string]any{"private_network": true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := deepCopy(tt.entity)
			got, changed := table.Strip(tt.dp, tt.typ, tt.entity)
			if !reflect.DeepEqual(tt.entity, before) {
				t.Fatalf("Strip modified its input: %v, was %v", tt.entity, before)
			}
			if !slices.Equal(changed, tt.wantChanged) {
				t.Errorf("changed = %q, want %q", changed, tt.wantChanged)
			}
			if tt.want == nil {
				if !same(got, tt.entity) {
					t.Errorf("Strip copied the entity although nothing changed: %v", got)
				}
				return
			}
			if same(got, tt.entity) {
				t.Fatal("Strip returned its input although it removed fields")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Strip = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStripSharesUnchanged checks the copy shares what it did not change.
func TestStripSharesUnchanged(t *testing.T) {
	t.Parallel()
	in := rateLimiting()
	got, _ := table.Strip("1.0.0", "plugins", in)
	gotConfig := got["config"].(map[string]any)
	inConfig := in["config"].(map[string]any)
	if !same(gotConfig["policy"].(map[string]any), inConfig["policy"].(map[string]any)) {
		t.Error("an unchanged nested object was copied")
	}
	if same(gotConfig["redis"].(map[string]any), inConfig["redis"].(map[string]any)) {
		t.Error("the changed nested object was not copied")
	}
}

func TestWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, typ string
		entity    map[string]any
		path      string
		want      string
	}{
		{
			"plugin config field", "plugins", rateLimiting(), "config.redis.ssl",
			"rate_limiting plugin contains configuration 'redis.ssl' which is incompatible with dataplane and will be ignored",
		},
		{
			"plugin top-level", "plugins",
			map[string]any{"name": "cors"},
			"config.private_network",
			"cors plugin contains configuration 'private_network' which is incompatible with dataplane and will be ignored",
		},
		{
			"entity field", "upstreams", nil, "use_srv_name",
			"upstreams entity contains field 'use_srv_name' which is incompatible with dataplane and will be ignored",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := compat.Warning(tt.typ, tt.entity, tt.path); got != tt.want {
				t.Errorf("Warning = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		table   compat.Table
		wantErr bool
	}{
		{"test table", table, false},
		{"shipped table", compat.Removed, false},
		{"bad version", compat.Table{{Version: "one"}}, true},
		{"empty segment", compat.Table{{Version: "1.1.0", Plugins: map[string][]string{"cors": {"a..b"}}}}, true},
		{"empty path", compat.Table{{Version: "1.1.0", Entities: map[string][]string{"routes": {""}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.table.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestShipped pins that 1.0.0, the first version, removes nothing.
func TestShipped(t *testing.T) {
	t.Parallel()
	e := rateLimiting()
	for _, dp := range []string{version.Version, "1.0.0", "0.9.0"} {
		if got := compat.Level(dp); got != "" {
			t.Errorf("Level(%q) = %q, want \"\"", dp, got)
		}
		got, changed := compat.Strip(dp, "plugins", e)
		if !same(got, e) || changed != nil {
			t.Errorf("Strip(%q) changed %v", dp, changed)
		}
	}
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = deepCopy(sub)
		}
		out[k] = v
	}
	return out
}
