package entity_test

import (
	"slices"
	"testing"

	"gatehouse.dev/shared/entity"
)

// TestCatalog checks every schema definition, the parents-first order and
// the Admin API names.
func TestCatalog(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	want := []string{
		entity.Services, entity.Routes, entity.Consumers, entity.Plugins, entity.Upstreams, entity.Targets,
		entity.Certificates, entity.SNIs, entity.CACertificates, entity.KeyAuthCredentials,
		entity.BasicAuthCredentials, entity.ACLs, entity.ConsumerGroups, entity.ConsumerGroupConsumers,
	}
	var names []string
	seen := map[string]bool{}
	for _, typ := range c.Types() {
		if err := typ.Schema.Check(); err != nil {
			t.Errorf("%s: %v", typ.Name, err)
		}
		if typ.Schema.Name != typ.Name || !slices.Equal(typ.Schema.PrimaryKey, []string{"id"}) {
			t.Errorf("%s: schema name %q, primary key %v", typ.Name, typ.Schema.Name, typ.Schema.PrimaryKey)
		}
		for _, fk := range typ.ForeignKeys() {
			if !seen[fk.Reference] {
				t.Errorf("%s comes before %s, which its field %s references", typ.Name, fk.Reference, fk.Field)
			}
		}
		seen[typ.Name] = true
		names = append(names, typ.Name)
		for _, f := range []string{"id", "created_at", "tags"} {
			if typ.Schema.Field(f) == nil && (f != "tags" || typ.Name != entity.ConsumerGroupConsumers) {
				t.Errorf("%s has no %s", typ.Name, f)
			}
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("types = %v; want %v", names, want)
	}

	admin := map[string]string{
		"services": entity.Services, "routes": entity.Routes, "consumers": entity.Consumers,
		"plugins": entity.Plugins, "upstreams": entity.Upstreams, "targets": entity.Targets,
		"certificates": entity.Certificates, "snis": entity.SNIs, "ca_certificates": entity.CACertificates,
		"key-auths": entity.KeyAuthCredentials, "basic-auths": entity.BasicAuthCredentials,
		"acls": entity.ACLs, "consumer_groups": entity.ConsumerGroups, "consumer_group_consumers": "",
	}
	for path, name := range admin {
		got := c.ByAdminName(path)
		switch {
		case name == "" && got != nil:
			t.Errorf("/%s must not be generated, got %s", path, got.Name)
		case name != "" && (got == nil || got.Name != name):
			t.Errorf("/%s = %v; want %s", path, got, name)
		}
	}
	if typ := c.Type(entity.KeyAuthCredentials); typ.NestedName != "key-auth" || !typ.TTL {
		t.Errorf("key-auth nested name %q, ttl %v", typ.NestedName, typ.TTL)
	}
	if typ := c.Type(entity.BasicAuthCredentials); typ.NestedName != "basic-auth" {
		t.Errorf("basic-auth nested name %q", typ.NestedName)
	}
}

// TestKeys pins the endpoint keys, cache keys and uniques of every type.
func TestKeys(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	tests := []struct {
		typ         string
		endpointKey string
		cacheKey    []string
		uniques     []string
	}{
		{entity.Services, "name", nil, []string{"name"}},
		{entity.Routes, "name", nil, []string{"name"}},
		{entity.Consumers, "username", nil, []string{"username", "custom_id"}},
		{entity.Plugins, "instance_name", []string{"name", "route", "service", "consumer", "consumer_group"}, []string{"instance_name"}},
		{entity.Upstreams, "name", nil, []string{"name"}},
		{entity.Targets, "target", []string{"upstream", "target"}, nil},
		{entity.Certificates, "", nil, nil},
		{entity.SNIs, "name", nil, []string{"name"}},
		{entity.CACertificates, "", nil, []string{"cert_digest"}},
		{entity.KeyAuthCredentials, "key", []string{"key"}, []string{"key"}},
		{entity.BasicAuthCredentials, "username", []string{"username"}, []string{"username"}},
		{entity.ACLs, "", []string{"consumer", "group"}, nil},
		{entity.ConsumerGroups, "name", nil, []string{"name"}},
		{entity.ConsumerGroupConsumers, "", []string{"consumer_group", "consumer"}, nil},
	}
	for _, tt := range tests {
		s := c.Type(tt.typ).Schema
		var uniques []string
		for _, f := range s.Fields {
			if f.Unique {
				uniques = append(uniques, f.Name)
			}
		}
		if s.EndpointKey != tt.endpointKey || !slices.Equal(s.CacheKey, tt.cacheKey) || !slices.Equal(uniques, tt.uniques) {
			t.Errorf("%s: endpoint key %q, cache key %v, uniques %v; want %q %v %v",
				tt.typ, s.EndpointKey, s.CacheKey, uniques, tt.endpointKey, tt.cacheKey, tt.uniques)
		}
	}
}

// TestCascades pins what deleting a parent does to each foreign key.
func TestCascades(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	want := map[string]string{
		"services.client_certificate":             "",
		"routes.service":                          "",
		"plugins.route":                           "cascade",
		"plugins.service":                         "cascade",
		"plugins.consumer":                        "cascade",
		"plugins.consumer_group":                  "cascade",
		"upstreams.client_certificate":            "",
		"targets.upstream":                        "cascade",
		"snis.certificate":                        "cascade",
		"keyauth_credentials.consumer":            "cascade",
		"basicauth_credentials.consumer":          "cascade",
		"acls.consumer":                           "cascade",
		"consumer_group_consumers.consumer_group": "cascade",
		"consumer_group_consumers.consumer":       "cascade",
	}
	got := map[string]string{}
	for _, typ := range c.Types() {
		for _, fk := range typ.ForeignKeys() {
			got[typ.Name+"."+fk.Field] = fk.OnDelete
		}
	}
	if len(got) != len(want) {
		t.Errorf("foreign keys %v; want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s on_delete = %q (present %v); want %q", k, g, ok, v)
		}
	}
	var children []string
	for _, r := range c.Children(entity.Consumers) {
		children = append(children, r.Type.Name+"."+r.Key.Field)
	}
	wantChildren := []string{
		"consumer_group_consumers.consumer", "plugins.consumer", "keyauth_credentials.consumer",
		"basicauth_credentials.consumer", "acls.consumer",
	}
	slices.Sort(children)
	slices.Sort(wantChildren)
	if !slices.Equal(children, wantChildren) {
		t.Errorf("children of consumers = %v; want %v", children, wantChildren)
	}
}

// TestNewWithoutPlugins checks that a nil PluginSchemas enables no plugin.
func TestNewWithoutPlugins(t *testing.T) {
	t.Parallel()
	c, err := entity.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := c.Type(entity.Plugins).Write(map[string]any{"name": "key-auth"}, 0, now)
	if werr == nil || werr.Message != "schema violation (name: plugin 'key-auth' not enabled; add it to the 'plugins' configuration property)" {
		t.Errorf("Write = %v", werr)
	}
}
