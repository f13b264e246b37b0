package entity

import (
	"regexp"
	"strconv"
	"strings"

	"gatehouse.dev/shared/schema"
)

// Services' defaults (kong/db/schema/entities/services.lua).
const (
	defaultServiceProtocol = "http"
	defaultServicePort     = 80
)

// servicesType is kong/db/schema/entities/services.lua.
func servicesType() *Type {
	nonzeroTimeout := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Integer, Default: int64(60000), Between: schema.Range(1, 1<<31-2)}
	}
	notTLS := func(then string) schema.Check {
		return schema.Check{Conditional: &schema.Conditional{
			IfField: "protocol", IfMatch: &schema.Field{NotOneOf: []any{"https", "tls"}},
			ThenField: then, ThenMatch: &schema.Field{EqNull: true},
		}}
	}
	s := &schema.Schema{
		Name:        Services,
		PrimaryKey:  []string{"id"},
		EndpointKey: "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.UTF8Name(),
			{Name: "retries", Type: schema.Integer, Default: int64(5), Between: schema.Range(0, 32767)},
			schema.Protocol().With(func(f *schema.Field) {
				f.Name, f.Required, f.Default = "protocol", true, defaultServiceProtocol
			}),
			schema.Host("host").With(func(f *schema.Field) { f.Required = true }),
			schema.Port("port").With(func(f *schema.Field) { f.Required, f.Default = true, int64(defaultServicePort) }),
			schema.Path("path"),
			nonzeroTimeout("connect_timeout"),
			nonzeroTimeout("write_timeout"),
			nonzeroTimeout("read_timeout"),
			schema.Tags(),
			schema.ForeignKey("client_certificate", Certificates),
			{Name: "tls_verify", Type: schema.Boolean},
			{Name: "tls_verify_depth", Type: schema.Integer, Between: schema.Range(0, 64)},
			{Name: "ca_certificates", Type: schema.Array, Elements: &schema.Field{Type: schema.String, UUID: true}},
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		},
		EntityChecks: []schema.Check{
			{Conditional: &schema.Conditional{
				IfField: "protocol", IfMatch: &schema.Field{OneOf: []any{"tcp", "tls", "udp", "grpc", "grpcs"}},
				ThenField: "path", ThenMatch: &schema.Field{EqNull: true},
			}},
			notTLS("client_certificate"),
			notTLS("tls_verify"),
			notTLS("tls_verify_depth"),
			notTLS("ca_certificates"),
		},
		Shorthands: []schema.Shorthand{{
			Field:     &schema.Field{Name: "url", Type: schema.String},
			Translate: translateServiceURL,
		}},
	}
	return &Type{Schema: s, Name: Services, AdminName: Services, GenerateAdminAPI: true}
}

// translateServiceURL is the `url` shorthand of services.lua: the URL's
// scheme, host, port and path become protocol, host, port and path. The
// protocol defaults from the port (80: http, 443: https) and then to http;
// the port defaults from the protocol (http: 80, https: 443) and then to
// 80; a missing host or path becomes null. Query and fragment are dropped.
func translateServiceURL(v any) map[string]any {
	u, ok := parseLuaURL(v.(string))
	if !ok {
		return nil
	}
	port, numeric := parseLuaNumber(u.port)
	protocol := u.scheme
	if protocol == "" {
		switch {
		case numeric && port == 80:
			protocol = "http"
		case numeric && port == 443:
			protocol = "https"
		default:
			protocol = defaultServiceProtocol
		}
	}
	out := map[string]any{"protocol": protocol, "host": nil, "path": nil}
	if u.host != "" {
		out["host"] = u.host
	}
	if u.path != "" {
		out["path"] = u.path
	}
	switch {
	case numeric:
		out["port"] = port
	case u.hasPort:
		out["port"] = u.port // not a number: validation reports it
	case protocol == "http":
		out["port"] = int64(80)
	case protocol == "https":
		out["port"] = int64(443)
	default:
		out["port"] = int64(defaultServicePort)
	}
	return out
}

// luaURL is what LuaSocket's url.parse returns, as far as services use it.
type luaURL struct {
	scheme, host, path, port string
	hasPort                  bool
}

var luaSchemeRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9+\-.]*:`)

// parseLuaURL follows LuaSocket's url.parse: scheme, then "//authority",
// then fragment, query and params are cut off, and what is left is the
// path; the authority loses its userinfo and its ":port", and brackets
// around an IPv6 host.
func parseLuaURL(s string) (luaURL, bool) {
	var u luaURL
	if s == "" {
		return u, false
	}
	if m := luaSchemeRe.FindString(s); m != "" {
		u.scheme = m[:len(m)-1]
		s = s[len(m):]
	}
	authority, hasAuthority := "", false
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		hasAuthority = true
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		authority, s = rest[:end], rest[end:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	u.path = s
	if !hasAuthority {
		return u, true
	}
	if i := strings.IndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.ContainsAny(authority[i+1:], "]") {
		u.port, u.hasPort = authority[i+1:], true
		authority = authority[:i]
	}
	if len(authority) > 2 && authority[0] == '[' && authority[len(authority)-1] == ']' {
		authority = authority[1 : len(authority)-1]
	}
	u.host = authority
	return u, true
}

// parseLuaNumber is Lua's tonumber for the decimal integers a port holds.
func parseLuaNumber(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
