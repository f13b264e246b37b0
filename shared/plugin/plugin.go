// Package plugin is Gatehouse's plugin registry: the plugins Gatehouse
// ships, with Kong's names, priorities and configuration schemas, and the
// set of plugins a process loads (GATEHOUSE_PLUGINS, Kong's `plugins`
// setting).
//
// A plugin's Schema is Kong's subschema of the plugins entity: the fields
// the plugin redefines (scope restrictions, protocols and the config
// record) and its entity checks. The plugins entity selects it by the
// plugin name and uses its fields in place of its own.
//
// Each bundled plugin is declared in a file of its own and listed once in
// registry.go, so adding a plugin is one new file and one line.
package plugin

import (
	"slices"

	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/version"
)

// Scope is an entity a plugin instance can be attached to; an instance
// with no scope is global.
type Scope string

// The scopes of a plugin instance, named as the plugins entity's foreign
// keys.
const (
	ScopeConsumer      Scope = "consumer"
	ScopeRoute         Scope = "route"
	ScopeService       Scope = "service"
	ScopeConsumerGroup Scope = "consumer_group"
)

// scopeTables maps a scope to the table its foreign key references.
var scopeTables = map[Scope]string{
	ScopeConsumer:      "consumers",
	ScopeRoute:         "routes",
	ScopeService:       "services",
	ScopeConsumerGroup: "consumer_groups",
}

// Plugin is one plugin Gatehouse can load. Plugins are built once and
// never modified afterwards, so they are safe for concurrent use; callers
// must not modify them or their schemas.
type Plugin struct {
	// Name is Kong's plugin name ("rate-limiting").
	Name string
	// Version is the Gatehouse version the plugin shipped in: the
	// version of the running build (version.Version).
	Version string
	// Priority is Kong's handler PRIORITY: plugins run in descending
	// priority order.
	Priority int
	// Protocols are the protocols an instance may list in its
	// "protocols" field.
	Protocols []string
	// Forbidden are the scopes an instance may not be attached to (Kong's
	// no_consumer typedefs: key-auth cannot be consumer-scoped).
	Forbidden []Scope
	// Schema is the plugin's subschema of the plugins entity.
	Schema *schema.Schema
}

// Allows reports whether an instance of p may be attached to scope.
func (p *Plugin) Allows(scope Scope) bool {
	return !slices.Contains(p.Forbidden, scope)
}

// KongJSON returns what Kong's GET /schemas/plugins/{name} serves: the
// plugin's own fields and entity checks. The result is a new value the
// caller may modify.
func (p *Plugin) KongJSON() map[string]any {
	return p.Schema.KongJSON()
}

// ConfigKongJSON returns what Kong's deprecated GET /plugins/schema/{name}
// serves: the fields, checks and shorthands of the config record. The
// result is a new value the caller may modify.
func (p *Plugin) ConfigKongJSON() map[string]any {
	cfg := p.Schema.Field("config")
	s := &schema.Schema{Fields: cfg.Fields, EntityChecks: cfg.EntityChecks, Shorthands: cfg.Shorthands}
	return s.KongJSON()
}

// definition is what a plugin's file declares; build turns it into a
// Plugin whose subschema has Kong's layout.
type definition struct {
	name     string
	priority int
	// protocols is the plugin's protocols field; nil means Kong's
	// protocols_http typedef.
	protocols *schema.Field
	// forbidden scopes become foreign keys that must be null.
	forbidden []Scope
	// config, configChecks, configValidator and shorthands describe the
	// config record: its fields in Kong's order, its own entity checks,
	// its custom_validator and its shorthand_fields.
	config          []*schema.Field
	configChecks    []schema.Check
	configValidator func(any) error
	shorthands      []schema.Shorthand
	// checks are the plugin's entity checks, on paths such as
	// "config.minute".
	checks []schema.Check
}

// build lays the subschema out as Kong's plugin schemas usually do: the
// consumer, route and service restrictions, protocols, the consumer group
// restriction, then config.
func (d definition) build() *Plugin {
	protocols := d.protocols
	if protocols == nil {
		protocols = schema.ProtocolsHTTP()
	}
	var fields []*schema.Field
	for _, scope := range []Scope{ScopeConsumer, ScopeRoute, ScopeService} {
		if slices.Contains(d.forbidden, scope) {
			fields = append(fields, noScope(scope))
		}
	}
	fields = append(fields, protocols)
	if slices.Contains(d.forbidden, ScopeConsumerGroup) {
		fields = append(fields, noScope(ScopeConsumerGroup))
	}
	fields = append(fields, &schema.Field{
		Name: "config", Type: schema.Record, Required: true,
		Fields: d.config, EntityChecks: d.configChecks, Shorthands: d.shorthands, Custom: d.configValidator,
	})
	names := make([]string, 0, len(protocols.Elements.OneOf))
	for _, p := range protocols.Elements.OneOf {
		if s, ok := p.(string); ok {
			names = append(names, s)
		}
	}
	return &Plugin{
		Name:      d.name,
		Version:   version.Version,
		Priority:  d.priority,
		Protocols: names,
		Forbidden: slices.Clone(d.forbidden),
		Schema:    &schema.Schema{Name: d.name, Fields: fields, EntityChecks: d.checks},
	}
}

// noScope is Kong's no_consumer (no_route, ...) typedef: the foreign key
// redefined so that it must be null.
func noScope(scope Scope) *schema.Field {
	f := schema.ForeignKey(string(scope), scopeTables[scope])
	f.EqNull = true
	return f
}
