package plugin

import "gatehouse.dev/shared/schema"

// acl is Kong's acl plugin: allows or denies authenticated consumers by
// the groups they belong to; exactly one of allow and deny is set.
func acl() *Plugin {
	return definition{
		name:      "acl",
		priority:  950,
		forbidden: []Scope{ScopeConsumer, ScopeConsumerGroup},
		config: []*schema.Field{
			list("allow", str()),
			list("deny", str()),
			requiredBool("hide_groups_header", false),
			optionalFlag("include_consumer_groups"),
			requiredBool("always_use_authenticated_groups", false),
		},
		checks: []schema.Check{
			{OnlyOneOf: []string{"config.allow", "config.deny"}},
			{AtLeastOneOf: []string{"config.allow", "config.deny"}},
		},
	}.build()
}
