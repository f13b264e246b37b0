package plugin

import "gatehouse.dev/shared/schema"

// prometheus is Kong's prometheus plugin: adds per-service and per-route
// request metrics to the data plane's Prometheus registry; each flag turns
// on a family of metrics.
func prometheus() *Plugin {
	return definition{
		name:      "prometheus",
		priority:  13,
		protocols: schema.Protocols(),
		forbidden: []Scope{ScopeConsumerGroup},
		config: []*schema.Field{
			optionalFlag("per_consumer"),
			optionalFlag("status_code_metrics"),
			optionalFlag("ai_metrics"),
			optionalFlag("latency_metrics"),
			optionalFlag("bandwidth_metrics"),
			optionalFlag("upstream_health_metrics"),
			optionalFlag("wasm_metrics"),
		},
	}.build()
}
