package plugin

import (
	"fmt"
	"regexp"
	"strings"

	"gatehouse.dev/shared/schema"
)

// Field helpers for the plugin schemas: Kong's typedefs and shared
// definitions that shared/schema does not have (kong/tools/queue_schema.lua,
// kong/tools/redis/schema.lua, the propagation typedef) and short forms of
// the field shapes Kong's plugin schemas repeat.

// record is a record field. Kong makes every record required unless it
// says otherwise (make_records_required), so records are required here too.
func record(name string, fields ...*schema.Field) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Record, Required: true, Fields: fields}
}

// requiredBool is a boolean that may not be null, with a default.
func requiredBool(name string, def bool) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Boolean, Required: true, Default: def}
}

// optionalFlag is a boolean that defaults to false and may be set to
// null.
func optionalFlag(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Boolean, Default: false}
}

// text is a plain optional string.
func text(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String}
}

// list is an optional array of elem.
func list(name string, elem *schema.Field) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Elements: elem}
}

// emptyList is a required array of elem that defaults to [].
func emptyList(name string, elem *schema.Field) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{}, Elements: elem}
}

// str is a string element.
func str() *schema.Field {
	return &schema.Field{Type: schema.String}
}

// referenceable marks a field as accepting vault references.
func referenceable(f *schema.Field) { f.Referenceable = true }

// withDefault returns a field adjuster that sets the default.
func withDefault(v any) func(*schema.Field) {
	return func(f *schema.Field) { f.Default = v }
}

// requiredWhen is the conditional entity check Kong's plugins use to make
// a field required when another has a value: if ifField = value then
// thenField is required.
func requiredWhen(ifField, value, thenField string) schema.Check {
	return schema.Check{Conditional: &schema.Conditional{
		IfField: ifField, IfMatch: &schema.Field{Eq: value},
		ThenField: thenField, ThenMatch: &schema.Field{Required: true},
	}}
}

// redisRecord is kong/tools/redis/schema.lua's config_schema: how
// rate-limiting reaches Redis.
func redisRecord() *schema.Field {
	return record("redis",
		schema.Host("host"),
		schema.Port("port").With(withDefault(int64(6379))),
		schema.Timeout("timeout").With(withDefault(int64(2000))),
		&schema.Field{Name: "username", Type: schema.String, Referenceable: true},
		&schema.Field{Name: "password", Type: schema.String, Encrypted: true, Referenceable: true, LenMin: new(0)},
		&schema.Field{Name: "database", Type: schema.Integer, Default: int64(0)},
		optionalFlag("ssl"),
		optionalFlag("ssl_verify"),
		schema.SNI("server_name"),
	)
}

// queueRecord is Kong's queue typedef (kong/tools/queue_schema.lua), with
// the record default a plugin gives it (nil for none).
func queueRecord(def map[string]any) *schema.Field {
	q := record("queue",
		&schema.Field{Name: "max_batch_size", Type: schema.Integer, Default: int64(1), Between: schema.Range(1, 1000000)},
		&schema.Field{Name: "max_coalescing_delay", Type: schema.Number, Default: 1.0, Between: schema.Range(0, 3600)},
		&schema.Field{Name: "max_entries", Type: schema.Integer, Default: int64(10000), Between: schema.Range(1, 1000000)},
		&schema.Field{Name: "max_bytes", Type: schema.Integer},
		&schema.Field{Name: "max_retry_time", Type: schema.Number, Default: 60.0},
		&schema.Field{Name: "initial_retry_delay", Type: schema.Number, Default: 0.01, Between: schema.Range(0.001, 1000000)},
		&schema.Field{Name: "max_retry_delay", Type: schema.Number, Default: 60.0, Between: schema.Range(0.001, 1000000)},
		&schema.Field{Name: "concurrency_limit", Type: schema.Integer, Default: int64(1), OneOf: []any{int64(-1), int64(1)}},
	)
	if def != nil {
		q.Default = def
	}
	return q
}

// propagationRecord is Kong's propagation typedef (tracing header formats
// to extract, clear and inject) with default_format defaulted as the
// plugin says.
func propagationRecord(defaultFormat string) *schema.Field {
	// Kong lists the formats of kong.observability.tracing.propagation;
	// b3-single shares the b3 extractor, so it is not an extract format.
	extract := []any{"b3", "jaeger", "ot", "datadog", "aws", "gcp", "instana", "w3c"}
	formats := []any{"b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp", "instana", "w3c"}
	p := record("propagation",
		list("extract", &schema.Field{Type: schema.String, OneOf: extract}),
		list("clear", schema.HeaderName()),
		list("inject", &schema.Field{Type: schema.String, OneOf: append([]any{"preserve"}, formats...)}),
		&schema.Field{Name: "default_format", Type: schema.String, Required: true, OneOf: formats},
	)
	p.Default = map[string]any{"default_format": defaultFormat}
	return p
}

// colonPair is an element "name:value" of the transformer plugins' lists
// (Kong's match "^[^:]+:.*$"), checked further by custom when set.
func colonPair(custom func(any) error) *schema.Field {
	return &schema.Field{Type: schema.String, Match: schema.MustPattern(`^[^:]+:.*$`), Custom: custom}
}

// headerNameRe is kong.tools.http.validate_header_name's pattern.
var headerNameRe = regexp.MustCompile(`^[a-zA-Z0-9\-_]+$`)

// splitPair splits "name:value" as Lua's pair:match("^([^:]+):*(.-)$"):
// the name runs to the first colon, the colons after it are skipped.
func splitPair(pair string) (name, value string, ok bool) {
	i := strings.IndexByte(pair, ':')
	if i == 0 || pair == "" {
		return "", "", false
	}
	if i < 0 {
		return pair, "", true
	}
	return pair[:i], strings.TrimLeft(pair[i:], ":"), true
}

// checkHeader reports Kong's message for a header name that
// validate_header_name refuses; a missing name prints as Lua's nil.
func checkHeader(name string, present bool) error {
	if !present {
		name = "nil"
	} else if headerNameRe.MatchString(name) {
		return nil
	}
	return fmt.Errorf("'%s' is not a valid header", name)
}

// validateHeaderPair is the transformers' validate_headers: the name of a
// "name[:value]" element must be a header name.
func validateHeaderPair(v any) error {
	name, _, ok := splitPair(v.(string))
	return checkHeader(name, ok)
}

// validateHeaderRename is the transformers' validate_colon_headers: both
// sides of "old:new" must be header names.
func validateHeaderRename(v any) error {
	name, value, ok := splitPair(v.(string))
	if err := checkHeader(name, ok); err != nil {
		return err
	}
	return checkHeader(value, true)
}
