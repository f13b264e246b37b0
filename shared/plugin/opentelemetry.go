package plugin

import "gatehouse.dev/shared/schema"

// openTelemetry is Kong's opentelemetry plugin: exports traces (and logs)
// over OTLP/HTTP and propagates trace context upstream.
func openTelemetry() *Plugin {
	return definition{
		name:      "opentelemetry",
		priority:  14,
		forbidden: []Scope{ScopeConsumerGroup},
		config: []*schema.Field{
			schema.URL("traces_endpoint").With(referenceable),
			schema.URL("logs_endpoint").With(referenceable),
			{Name: "headers", Type: schema.Map, Keys: schema.HeaderName(), Values: &schema.Field{Type: schema.String, Referenceable: true}},
			{
				Name: "resource_attributes", Type: schema.Map,
				Keys:   &schema.Field{Type: schema.String, Required: true},
				Values: &schema.Field{Type: schema.String, Required: true},
			},
			queueRecord(map[string]any{"max_batch_size": int64(200)}),
			{Name: "batch_span_count", Type: schema.Integer},
			{Name: "batch_flush_delay", Type: schema.Integer},
			schema.Timeout("connect_timeout").With(withDefault(int64(1000))),
			schema.Timeout("send_timeout").With(withDefault(int64(5000))),
			schema.Timeout("read_timeout").With(withDefault(int64(5000))),
			text("http_response_header_for_traceid"),
			{
				Name: "header_type", Type: schema.String, Default: "preserve",
				OneOf: []any{"preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "gcp", "datadog"},
			},
			{Name: "sampling_rate", Type: schema.Number, Between: schema.Range(0, 1)},
			propagationRecord("w3c"),
		},
		configChecks: []schema.Check{
			{AtLeastOneOf: []string{"traces_endpoint", "logs_endpoint"}},
		},
		shorthands: []schema.Shorthand{{
			// The endpoint of Kong < 3.7, now traces_endpoint; input only.
			Field:      schema.URL("endpoint").With(referenceable),
			Translate:  func(v any) map[string]any { return map[string]any{"traces_endpoint": v} },
			Deprecated: true,
		}},
	}.build()
}
