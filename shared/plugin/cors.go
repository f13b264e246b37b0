package plugin

import (
	"fmt"
	"regexp"

	"gatehouse.dev/shared/schema"
)

// cors is Kong's cors plugin: answers CORS preflight requests and adds the
// Access-Control-* headers to responses.
func cors() *Plugin {
	methods := []any{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
	return definition{
		name:      "cors",
		priority:  2000,
		forbidden: []Scope{ScopeConsumer},
		config: []*schema.Field{
			list("origins", &schema.Field{Type: schema.String, Custom: validateOrigin}),
			list("headers", str()),
			list("exposed_headers", str()),
			{Name: "methods", Type: schema.Array, Default: methods, Elements: &schema.Field{Type: schema.String, OneOf: methods}},
			{Name: "max_age", Type: schema.Number},
			requiredBool("credentials", false),
			requiredBool("private_network", false),
			requiredBool("preflight_continue", false),
			requiredBool("allow_origin_absent", true),
		},
	}.build()
}

// validateOrigin accepts "*" or a regular expression (Kong's
// validate_asterisk_or_regex); Go's RE2 syntax replaces PCRE.
func validateOrigin(v any) error {
	s := v.(string)
	if s == "*" {
		return nil
	}
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf("'%s' is not a valid regex", s)
	}
	return nil
}
