package plugin

import "gatehouse.dev/shared/schema"

// requestTransformer is Kong's request-transformer plugin: removes,
// renames, replaces, adds and appends headers, query arguments and body
// parameters before the request goes upstream.
func requestTransformer() *Plugin {
	pairs := func(name string, extra ...*schema.Field) *schema.Field {
		return record(name, append([]*schema.Field{
			emptyList("body", colonPair(nil)),
			emptyList("headers", colonPair(validateHeaderPair)),
			emptyList("querystring", colonPair(nil)),
		}, extra...)...)
	}
	return definition{
		name:     "request-transformer",
		priority: 801,
		config: []*schema.Field{
			schema.HTTPMethod().Named("http_method"),
			record("remove",
				emptyList("body", str()),
				emptyList("headers", &schema.Field{Type: schema.String, Custom: validateHeaderPair}),
				emptyList("querystring", str()),
			),
			record("rename",
				emptyList("body", colonPair(nil)),
				emptyList("headers", colonPair(validateHeaderRename)),
				emptyList("querystring", colonPair(nil)),
			),
			pairs("replace", text("uri")),
			pairs("add"),
			pairs("append"),
		},
	}.build()
}
