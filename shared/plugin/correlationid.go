package plugin

import "gatehouse.dev/shared/schema"

// correlationID is Kong's correlation-id plugin: adds a unique request id
// header for the upstream, and optionally echoes it to the client.
func correlationID() *Plugin {
	return definition{
		name:      "correlation-id",
		priority:  100001,
		forbidden: []Scope{ScopeConsumerGroup},
		config: []*schema.Field{
			{Name: "header_name", Type: schema.String, Default: "Kong-Request-ID"},
			{Name: "generator", Type: schema.String, Required: true, Default: "uuid#counter", OneOf: []any{"uuid", "uuid#counter", "tracker"}},
			requiredBool("echo_downstream", false),
		},
	}.build()
}
