package plugin

import "gatehouse.dev/shared/schema"

// keyAuth is Kong's key-auth plugin: authentication by an API key sent in
// a header, the query string or the body. It cannot be scoped to a
// consumer or a consumer group, since it is what identifies the consumer.
func keyAuth() *Plugin {
	return definition{
		name:      "key-auth",
		priority:  1250,
		forbidden: []Scope{ScopeConsumer, ScopeConsumerGroup},
		config: []*schema.Field{
			{Name: "key_names", Type: schema.Array, Required: true, Default: []any{"apikey"}, Elements: schema.HeaderName()},
			requiredBool("hide_credentials", false),
			text("anonymous"),
			requiredBool("key_in_header", true),
			requiredBool("key_in_query", true),
			requiredBool("key_in_body", false),
			requiredBool("run_on_preflight", true),
			text("realm"),
		},
	}.build()
}
