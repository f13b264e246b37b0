package plugin

import "gatehouse.dev/shared/schema"

// basicAuth is Kong's basic-auth plugin: authentication by username and
// password in the Authorization header. Like every authentication plugin
// it cannot be scoped to a consumer or a consumer group.
func basicAuth() *Plugin {
	return definition{
		name:      "basic-auth",
		priority:  1100,
		forbidden: []Scope{ScopeConsumer, ScopeConsumerGroup},
		config: []*schema.Field{
			text("anonymous"),
			requiredBool("hide_credentials", false),
			{Name: "realm", Type: schema.String, Required: true, Default: "service"},
		},
	}.build()
}
