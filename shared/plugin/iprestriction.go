package plugin

import "gatehouse.dev/shared/schema"

// ipRestriction is Kong's ip-restriction plugin: allows or denies clients
// by IP address or CIDR range.
func ipRestriction() *Plugin {
	return definition{
		name:      "ip-restriction",
		priority:  990,
		protocols: schema.Protocols().With(withDefault([]any{"http", "https", "tcp", "tls", "grpc", "grpcs"})),
		config: []*schema.Field{
			list("allow", schema.IPOrCIDR()),
			list("deny", schema.IPOrCIDR()),
			{Name: "status", Type: schema.Number},
			text("message"),
		},
		checks: []schema.Check{
			{AtLeastOneOf: []string{"config.allow", "config.deny"}},
		},
	}.build()
}
