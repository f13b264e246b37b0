package plugin

import "gatehouse.dev/shared/schema"

// responseTransformer is Kong's response-transformer plugin: removes,
// renames, replaces, adds and appends response headers and JSON body
// properties.
func responseTransformer() *Plugin {
	pairs := func(name string) *schema.Field {
		return record(name,
			emptyList("json", colonPair(nil)),
			emptyList("json_types", &schema.Field{Type: schema.String, OneOf: []any{"boolean", "number", "string"}}),
			emptyList("headers", colonPair(nil)),
		)
	}
	return definition{
		name:     "response-transformer",
		priority: 800,
		config: []*schema.Field{
			record("remove", emptyList("json", str()), emptyList("headers", str())),
			record("rename", emptyList("json", colonPair(nil)), emptyList("headers", colonPair(validateHeaderRename))),
			pairs("replace"),
			pairs("add"),
			pairs("append"),
		},
	}.build()
}
