package entity

import (
	"errors"
	"unicode/utf8"

	"gatehouse.dev/shared/schema"
)

// upstreamsType is kong/db/schema/entities/upstreams.lua. Kong's
// shorthand_fields for algorithm and hash_on (which couple the two) are
// the type's Prepare hook, see coupleUpstreamHashing.
func upstreamsType() *Type {
	hashOn := func(name string) *schema.Field {
		return &schema.Field{
			Name: name, Type: schema.String, Default: "none",
			OneOf: []any{"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"},
		}
	}
	simpleParam := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.String, LenMin: new(1)}
	}
	// required: "then_field must be given when if_field matches ^value$".
	required := func(ifField, value, then string) schema.Check {
		return schema.Check{Conditional: &schema.Conditional{
			IfField: ifField, IfMatch: &schema.Field{Match: schema.MustPattern("^" + value + "$")},
			ThenField: then, ThenMatch: &schema.Field{Required: true},
		}}
	}
	fallback := func(value string, allowed ...any) schema.Check {
		return schema.Check{Conditional: &schema.Conditional{
			IfField: "hash_on", IfMatch: &schema.Field{Match: schema.MustPattern("^" + value + "$")},
			ThenField: "hash_fallback", ThenMatch: &schema.Field{OneOf: allowed},
		}}
	}
	s := &schema.Schema{
		Name:        Upstreams,
		PrimaryKey:  []string{"id"},
		EndpointKey: "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "name", Type: schema.String, Required: true, Unique: true, Custom: validateUpstreamName},
			{
				Name: "algorithm", Type: schema.String, Default: "round-robin",
				OneOf: []any{"consistent-hashing", "least-connections", "round-robin", "latency"},
			},
			hashOn("hash_on"),
			hashOn("hash_fallback"),
			schema.HeaderName().Named("hash_on_header"),
			schema.HeaderName().Named("hash_fallback_header"),
			schema.CookieName().Named("hash_on_cookie"),
			schema.Path("hash_on_cookie_path").With(func(f *schema.Field) { f.Default = "/" }),
			simpleParam("hash_on_query_arg"),
			simpleParam("hash_fallback_query_arg"),
			simpleParam("hash_on_uri_capture"),
			simpleParam("hash_fallback_uri_capture"),
			{Name: "slots", Type: schema.Integer, Default: int64(10000), Between: schema.Range(10, 1<<16)},
			healthchecksField(),
			schema.Tags(),
			schema.HostWithOptionalPort("host_header"),
			schema.ForeignKey("client_certificate", Certificates),
			{Name: "use_srv_name", Type: schema.Boolean, Default: false},
		},
		EntityChecks: []schema.Check{
			required("hash_on", "header", "hash_on_header"),
			required("hash_fallback", "header", "hash_fallback_header"),
			required("hash_on", "cookie", "hash_on_cookie"),
			required("hash_fallback", "cookie", "hash_on_cookie"),
			fallback("none", "none"),
			fallback("cookie", "none"),
			fallback("consumer", "none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"),
			fallback("ip", "none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"),
			fallback("path", "none", "consumer", "ip", "header", "cookie", "query_arg", "uri_capture"),
			{Distinct: []string{"hash_on_header", "hash_fallback_header"}},
			required("hash_on", "query_arg", "hash_on_query_arg"),
			required("hash_fallback", "query_arg", "hash_fallback_query_arg"),
			{Distinct: []string{"hash_on_query_arg", "hash_fallback_query_arg"}},
			required("hash_on", "uri_capture", "hash_on_uri_capture"),
			required("hash_fallback", "uri_capture", "hash_fallback_uri_capture"),
			{Distinct: []string{"hash_on_uri_capture", "hash_fallback_uri_capture"}},
		},
	}
	return &Type{
		Schema: s, Name: Upstreams, AdminName: Upstreams, GenerateAdminAPI: true,
		Prepare: func(in map[string]any, ctx schema.Context) {
			coupleUpstreamHashing(in)
			if ctx == schema.Insert || ctx == schema.Upsert {
				expandHealthchecks(in)
			}
		},
	}
}

// coupleUpstreamHashing is the effect of Kong's algorithm and hash_on
// shorthands, applied to every write that gives them (PATCH included),
// algorithm first: sending algorithm least-connections or latency forces
// hash_on to none; otherwise sending hash_on none forces algorithm to
// round-robin, and sending any other hash_on forces consistent-hashing.
// Values of the wrong type are left for validation.
func coupleUpstreamHashing(in map[string]any) {
	if a, ok := in["algorithm"].(string); ok && (a == "least-connections" || a == "latency") {
		in["hash_on"] = "none"
		return
	}
	switch h, ok := in["hash_on"].(string); {
	case !ok:
	case h == "none":
		in["algorithm"] = "round-robin"
	default:
		in["algorithm"] = "consistent-hashing"
	}
}

// expandHealthchecks makes an insert fill the health-check defaults field
// by field, so that the fields without a default (active.https_sni and
// active.headers) are stored as null like every other unset field, rather
// than being absent from a copied default record.
func expandHealthchecks(in map[string]any) {
	hc, present := in["healthchecks"]
	if !present {
		hc = map[string]any{}
		in["healthchecks"] = hc
	}
	if m, ok := hc.(map[string]any); ok {
		if _, given := m["active"]; !given {
			m["active"] = map[string]any{}
		}
	}
}

// validateUpstreamName is upstreams.lua's validate_name: a host name,
// neither an IP address nor with a port.
func validateUpstreamName(v any) error {
	name := v.(string)
	prefix := "Invalid name ('" + name + "')"
	if !utf8.ValidString(name) {
		prefix = "Invalid name"
	}
	h, err := schema.NormalizeIP(name)
	switch {
	case err != nil:
		return errors.New(prefix + "; must be a valid hostname")
	case h.Type != "name":
		return errors.New(prefix + "; no ip addresses allowed")
	case h.HasPort:
		return errors.New(prefix + "; no port allowed")
	}
	return nil
}

// healthchecksField is the healthchecks record of upstreams.lua, with all
// of Kong's defaults. Kong generates these fields from a table of
// defaults, in Lua's table order; they are listed here by name.
func healthchecksField() *schema.Field {
	seconds := func(name string, def float64) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Number, Default: def, Between: schema.Range(0, 65535)}
	}
	counter := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Integer, Default: int64(0), Between: schema.Range(0, 255)}
	}
	statuses := func(codes ...int64) *schema.Field {
		def := make([]any, len(codes))
		for i, c := range codes {
			def[i] = c
		}
		return &schema.Field{
			Name: "http_statuses", Type: schema.Array, Default: def,
			Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)},
		}
	}
	checkType := func() *schema.Field {
		return &schema.Field{
			Name: "type", Type: schema.String, Default: "http",
			OneOf: []any{"tcp", "http", "https", "grpc", "grpcs"},
		}
	}
	record := func(name string, fields ...*schema.Field) *schema.Field {
		f := &schema.Field{Name: name, Type: schema.Record, Fields: fields}
		f.Default = recordDefaults(f)
		return f
	}

	active := record("active",
		&schema.Field{Name: "concurrency", Type: schema.Integer, Default: int64(10), Between: schema.Range(1, 1<<31)},
		schema.Headers("headers"),
		record("healthy",
			statuses(200, 302),
			seconds("interval", 0),
			counter("successes"),
		),
		schema.Path("http_path").With(func(f *schema.Field) { f.Default = "/" }),
		schema.SNI("https_sni"),
		&schema.Field{Name: "https_verify_certificate", Type: schema.Boolean, Default: true},
		seconds("timeout", 1),
		checkType(),
		record("unhealthy",
			counter("http_failures"),
			statuses(429, 404, 500, 501, 502, 503, 504, 505),
			seconds("interval", 0),
			counter("tcp_failures"),
			counter("timeouts"),
		),
	)
	passive := record("passive",
		record("healthy",
			statuses(200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
				300, 301, 302, 303, 304, 305, 306, 307, 308),
			counter("successes"),
		),
		checkType(),
		record("unhealthy",
			counter("http_failures"),
			statuses(429, 500, 503),
			counter("tcp_failures"),
			counter("timeouts"),
		),
	)
	threshold := &schema.Field{Name: "threshold", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 100)}
	return record("healthchecks", active, passive, threshold)
}

// recordDefaults is the default of a record: its fields' defaults, fields
// without one left out (Kong's NO_DEFAULT).
func recordDefaults(f *schema.Field) map[string]any {
	out := map[string]any{}
	for _, sub := range f.Fields {
		if sub.Default != nil {
			out[sub.Name] = schema.DeepCopy(sub.Default)
		}
	}
	return out
}
