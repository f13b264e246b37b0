package entity

import (
	"strings"

	"gatehouse.dev/shared/schema"
)

// routesType is kong/db/schema/entities/routes.lua with the
// routes_subschemas.lua rules, for the traditional_compatible router
// flavor (Kong's default): snis are wildcard hosts, and there are no
// `expression` and `priority` fields.
//
// Kong selects a route's subschema by the first of its protocols that has
// one (http/https, tcp/tls/udp/tls_passthrough, grpc/grpcs); Specialize
// does the same. Until the data plane serves them, routes whose protocols
// include anything but http and https are refused by Check, with a field
// error under "protocols" (see unservedProtocols).
func routesType() *Type {
	base := routesSchema(nil, nil)
	http := routesSchema(routesHTTPFields(), routesHTTPChecks())
	stream := routesSchema(routesStreamFields(), routesStreamChecks())
	grpc := routesSchema(routesGRPCFields(), routesGRPCChecks())
	byProtocol := map[string]*schema.Schema{
		"http": http, "https": http,
		"tcp": stream, "tls": stream, "udp": stream, "tls_passthrough": stream,
		"grpc": grpc, "grpcs": grpc,
	}
	return &Type{
		Schema: base, Name: Routes, AdminName: Routes, GenerateAdminAPI: true,
		Specialize: func(entity map[string]any) *schema.Schema {
			protocols, _ := entity["protocols"].([]any)
			for _, p := range protocols {
				if s, ok := p.(string); ok && byProtocol[s] != nil {
					return byProtocol[s]
				}
			}
			return nil
		},
		Check: unservedProtocols,
	}
}

// routesSchema returns the routes schema with the fields of a subschema
// replacing the base ones and the subschema's entity checks after the base
// checks, which is how Kong validates an entity against a subschema.
func routesSchema(override []*schema.Field, checks []schema.Check) *schema.Schema {
	fields := []*schema.Field{
		schema.ID(),
		schema.CreatedAt(),
		schema.UpdatedAt(),
		schema.UTF8Name(),
		{
			Name: "protocols", Type: schema.Set, Required: true, LenMin: new(1),
			Default:  []any{"http", "https"},
			Elements: schema.Protocol(),
			MutuallyExclusiveSubsets: [][]string{
				{"http", "https"}, {"tcp", "tls", "udp"}, {"tls_passthrough"}, {"grpc", "grpcs"},
			},
		},
		{
			Name: "https_redirect_status_code", Type: schema.Integer, Required: true, Default: int64(426),
			OneOf: []any{int64(426), int64(301), int64(302), int64(307), int64(308)},
		},
		{Name: "strip_path", Type: schema.Boolean, Required: true, Default: true},
		{Name: "preserve_host", Type: schema.Boolean, Required: true, Default: false},
		{Name: "request_buffering", Type: schema.Boolean, Required: true, Default: true},
		{Name: "response_buffering", Type: schema.Boolean, Required: true, Default: true},
		schema.Tags(),
		schema.ForeignKey("service", Services),
		{Name: "snis", Type: schema.Set, Elements: schema.WildcardHost()},
		schema.Sources("sources"),
		schema.Sources("destinations"),
		schema.Methods("methods"),
		schema.Hosts("hosts"),
		schema.RouterPaths("paths"),
		schema.Headers("headers").With(func(f *schema.Field) {
			f.Keys.MatchNone = []schema.PatternErr{{
				Pattern: schema.MustPattern(`^[Hh][Oo][Ss][Tt]$`),
				Err:     "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
			}}
		}),
		{Name: "regex_priority", Type: schema.Integer, Default: int64(0)},
		{Name: "path_handling", Type: schema.String, Default: "v0", OneOf: []any{"v0", "v1"}},
	}
	for _, o := range override {
		for i, f := range fields {
			if f.Name == o.Name {
				fields[i] = o
			}
		}
	}
	return &schema.Schema{
		Name:        Routes,
		PrimaryKey:  []string{"id"},
		EndpointKey: "name",
		Fields:      fields,
		EntityChecks: append([]schema.Check{
			{Conditional: &schema.Conditional{
				IfField: "protocols",
				IfMatch: &schema.Field{Elements: &schema.Field{
					Type: schema.String, NotOneOf: []any{"grpcs", "https", "tls", "tls_passthrough"},
				}},
				ThenField: "snis", ThenMatch: &schema.Field{LenEq: new(0)},
				ThenErr: "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
			}},
			// Kong logs a deprecation warning for path_handling v1 here;
			// Gatehouse accepts v1 silently. The check is kept so that
			// /schemas/routes lists it as Kong does.
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"path_handling"},
				Fn:           func(map[string]any) error { return nil },
			}},
		}, checks...),
	}
}

// forbid returns the base definition of a route field with `eq = null`
// and Kong's message (typedefs.no_sources, no_methods and the like).
func forbid(f *schema.Field, msg string) *schema.Field {
	return f.With(func(f *schema.Field) { f.EqNull, f.Err = true, msg })
}

func routesHTTPFields() []*schema.Field {
	return []*schema.Field{
		forbid(schema.Sources("sources"), "cannot set 'sources' when 'protocols' is 'http' or 'https'"),
		forbid(schema.Sources("destinations"), "cannot set 'destinations' when 'protocols' is 'http' or 'https'"),
	}
}

func routesHTTPChecks() []schema.Check {
	return []schema.Check{{ConditionalAtLeastOneOf: &schema.ConditionalAtLeastOneOf{
		IfField:              "protocols",
		IfMatch:              &schema.Field{Contains: "https"},
		ThenAtLeastOneOf:     []string{"methods", "hosts", "headers", "paths", "snis"},
		ThenErr:              "must set one of %s when 'protocols' is 'https'",
		ElseMatch:            &schema.Field{Contains: "http"},
		ElseThenAtLeastOneOf: []string{"methods", "hosts", "headers", "paths"},
		ElseThenErr:          "must set one of %s when 'protocols' is 'http'",
	}}}
}

func routesStreamFields() []*schema.Field {
	const when = " when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"
	return []*schema.Field{
		forbid(schema.Methods("methods"), "cannot set 'methods'"+when),
		forbid(schema.Hosts("hosts"), "cannot set 'hosts'"+when),
		forbid(schema.RouterPaths("paths"), "cannot set 'paths'"+when),
		forbid(schema.Headers("headers"), "cannot set 'headers'"+when),
	}
}

func routesStreamChecks() []schema.Check {
	return []schema.Check{
		{ConditionalAtLeastOneOf: &schema.ConditionalAtLeastOneOf{
			IfField:          "protocols",
			IfMatch:          &schema.Field{Elements: &schema.Field{Type: schema.String, OneOf: []any{"tcp", "tls", "udp"}}},
			ThenAtLeastOneOf: []string{"sources", "destinations", "snis"},
			ThenErr:          "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'",
		}},
		{ConditionalAtLeastOneOf: &schema.ConditionalAtLeastOneOf{
			IfField:          "protocols",
			IfMatch:          &schema.Field{Elements: &schema.Field{Type: schema.String, OneOf: []any{"tls_passthrough"}}},
			ThenAtLeastOneOf: []string{"snis"},
			ThenErr:          "must set snis when 'protocols' is 'tls_passthrough'",
		}},
	}
}

func routesGRPCFields() []*schema.Field {
	const when = " when 'protocols' is 'grpc' or 'grpcs'"
	return []*schema.Field{
		// Kong writes `ne = true`; the engine's not_one_of says the same,
		// and err replaces the message either way.
		{
			Name: "strip_path", Type: schema.Boolean, Required: true, Default: false,
			NotOneOf: []any{true}, Err: "cannot set 'strip_path'" + when,
		},
		forbid(schema.Methods("methods"), "cannot set 'methods'"+when),
		forbid(schema.Sources("sources"), "cannot set 'sources'"+when),
		forbid(schema.Sources("destinations"), "cannot set 'destinations'"+when),
	}
}

func routesGRPCChecks() []schema.Check {
	return []schema.Check{{ConditionalAtLeastOneOf: &schema.ConditionalAtLeastOneOf{
		IfField:              "protocols",
		IfMatch:              &schema.Field{Contains: "grpcs"},
		ThenAtLeastOneOf:     []string{"hosts", "headers", "paths", "snis"},
		ThenErr:              "must set one of %s when 'protocols' is 'grpcs'",
		ElseMatch:            &schema.Field{Contains: "grpc"},
		ElseThenAtLeastOneOf: []string{"hosts", "headers", "paths"},
		ElseThenErr:          "must set one of %s when 'protocols' is 'grpc'",
	}}}
}

// unservedProtocols refuses routes for protocols the data plane does not
// serve yet (DESIGN.md, "Data plane rules"): anything but http and https.
// The error goes under "protocols", the shape of Kong's own protocol
// errors, e.g. `protocols: 'grpc' routes are not supported yet (only http
// and https)`. It runs after Kong's rules, so their messages for such
// routes are still reported, and is skipped when "protocols" already has
// an error of its own.
func unservedProtocols(entity map[string]any, errs schema.Errors) {
	if _, bad := errs["protocols"]; bad {
		return
	}
	protocols, _ := entity["protocols"].([]any)
	var unserved []string
	for _, p := range protocols {
		if s, ok := p.(string); ok && s != "http" && s != "https" {
			unserved = append(unserved, "'"+s+"'")
		}
	}
	if len(unserved) == 0 {
		return
	}
	list := unserved[0]
	if n := len(unserved); n > 1 {
		list = strings.Join(unserved[:n-1], ", ") + " and " + unserved[n-1]
	}
	errs["protocols"] = list + " routes are not supported yet (only http and https)"
}
