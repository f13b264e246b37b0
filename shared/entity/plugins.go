package entity

import "gatehouse.dev/shared/schema"

// PluginNotEnabled is Kong's message for a plugin name that no loaded
// plugin answers to (the plugins schema's subschema_error).
const PluginNotEnabled = "plugin '%s' not enabled; add it to the 'plugins' configuration property"

// pluginsType is kong/db/schema/entities/plugins.lua with the
// consumer_group foreign key that Kong (Enterprise) added in 3.4, and the
// check that comes with it: a plugin is scoped to a consumer or to a
// consumer group, not both. Each plugin's own schema, found through
// plugins, specializes config, protocols and the scope fields.
func pluginsType(plugins PluginSchemas) *Type {
	cascade := func(name, ref string) *schema.Field {
		return schema.ForeignKey(name, ref).With(func(f *schema.Field) { f.OnDelete = "cascade" })
	}
	s := &schema.Schema{
		Name:        Plugins,
		PrimaryKey:  []string{"id"},
		EndpointKey: "instance_name",
		CacheKey:    []string{"name", "route", "service", "consumer", "consumer_group"},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Required: true},
			schema.UTF8Name().Named("instance_name"),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			cascade("route", Routes),
			cascade("service", Services),
			cascade("consumer", Consumers),
			cascade("consumer_group", ConsumerGroups),
			{Name: "config", Type: schema.Record, Abstract: true},
			schema.Protocols(),
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
			schema.Tags(),
		},
		EntityChecks: []schema.Check{
			{MutuallyExclusive: []string{"consumer", "consumer_group"}},
		},
		SubschemaKey:   "name",
		SubschemaError: PluginNotEnabled,
		Subschemas: func(name string) *schema.Schema {
			if plugins == nil {
				return nil
			}
			return plugins.PluginSchema(name)
		},
	}
	return &Type{Schema: s, Name: Plugins, AdminName: Plugins, GenerateAdminAPI: true}
}
