package plugin

import (
	"errors"
	"fmt"

	"gatehouse.dev/shared/schema"
)

// ratePeriods are rate-limiting's periods, shortest first.
var ratePeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// rateLimiting is Kong's rate-limiting plugin: limits requests per period,
// counted per node (local) or in Redis. Gatehouse always runs in hybrid
// mode, where Kong refuses the cluster policy, so policy is local or redis.
func rateLimiting() *Plugin {
	config := make([]*schema.Field, 0, 16)
	for _, p := range ratePeriods {
		config = append(config, &schema.Field{Name: p, Type: schema.Number, Gt: new(0.0)})
	}
	config = append(config,
		&schema.Field{
			Name: "limit_by", Type: schema.String, Default: "consumer",
			OneOf: []any{"consumer", "credential", "ip", "service", "header", "path"},
		},
		schema.HeaderName().Named("header_name"),
		schema.Path("path"),
		&schema.Field{Name: "policy", Type: schema.String, Default: "local", LenMin: new(0), OneOf: []any{"local", "redis"}},
		requiredBool("fault_tolerant", true),
		redisRecord(),
		requiredBool("hide_client_headers", false),
		&schema.Field{Name: "error_code", Type: schema.Number, Default: 429.0, Gt: new(0.0)},
		&schema.Field{Name: "error_message", Type: schema.String, Default: "API rate limit exceeded"},
		&schema.Field{Name: "sync_rate", Type: schema.Number, Required: true, Default: -1.0},
	)
	periods := make([]string, len(ratePeriods))
	for i, p := range ratePeriods {
		periods[i] = "config." + p
	}
	return definition{
		name:            "rate-limiting",
		priority:        910,
		config:          config,
		configValidator: validateRateLimits,
		shorthands:      redisShorthands(),
		checks: []schema.Check{
			{AtLeastOneOf: periods},
			requiredWhen("config.policy", "redis", "config.redis.host"),
			requiredWhen("config.policy", "redis", "config.redis.port"),
			requiredWhen("config.policy", "redis", "config.redis.timeout"),
			requiredWhen("config.limit_by", "header", "config.header_name"),
			requiredWhen("config.limit_by", "path", "config.path"),
		},
	}.build()
}

// validateRateLimits is the plugin's custom validator: a longer period may
// not have a lower limit than a shorter one, and sync_rate applies only to
// the redis policy, where it is -1 or at least 0.02 seconds.
func validateRateLimits(v any) error {
	config, _ := v.(map[string]any)
	for i, lower := range ratePeriods {
		v1, ok := schema.AsFloat(config[lower])
		if !ok {
			continue
		}
		for _, upper := range ratePeriods[i+1:] {
			if v2, ok := schema.AsFloat(config[upper]); ok && v2 < v1 {
				// Kong's text, with Lua's %.1f.
				return fmt.Errorf("The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)", //nolint:staticcheck // ST1005: Kong's exact message is capitalized
					upper, v2, lower, v1)
			}
		}
	}
	syncRate, ok := schema.AsFloat(config["sync_rate"])
	if !ok || syncRate == -1 {
		return nil
	}
	if config["policy"] != "redis" {
		return errors.New("sync_rate can only be used with the redis policy")
	}
	if syncRate < 0.02 {
		return errors.New("sync_rate must be greater than 0.02, or -1 to disable")
	}
	return nil
}

// redisShorthands are the flat redis_* fields of Kong < 3.6, deprecated:
// each stands for a field of the redis record and is echoed in responses.
func redisShorthands() []schema.Shorthand {
	fields := []*schema.Field{
		{Name: "host", Type: schema.String},
		{Name: "port", Type: schema.Integer},
		{Name: "password", Type: schema.String, LenMin: new(0)},
		{Name: "username", Type: schema.String},
		{Name: "ssl", Type: schema.Boolean},
		{Name: "ssl_verify", Type: schema.Boolean},
		{Name: "server_name", Type: schema.String},
		{Name: "timeout", Type: schema.Integer},
		{Name: "database", Type: schema.Integer},
	}
	out := make([]schema.Shorthand, len(fields))
	for i, f := range fields {
		key := f.Name
		out[i] = schema.Shorthand{
			Field:      f.Named("redis_" + key),
			Translate:  func(v any) map[string]any { return map[string]any{"redis": map[string]any{key: v}} },
			Deprecated: true,
			Backwards: func(config map[string]any) any {
				redis, _ := config["redis"].(map[string]any)
				return redis[key]
			},
		}
	}
	return out
}
