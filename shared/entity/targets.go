package entity

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"gatehouse.dev/shared/schema"
)

// DefaultTargetPort is the port a target without one gets
// (kong/db/dao/targets.lua DEFAULT_PORT).
const DefaultTargetPort = 8000

// targetsType is kong/db/schema/entities/targets.lua, with the target
// normalisation of kong/db/dao/targets.lua as the Prepare hook. Kong's
// Admin API serves targets only under /upstreams/{u}/targets: the
// top-level /targets endpoints answer 404.
func targetsType() *Type {
	s := &schema.Schema{
		Name:        Targets,
		PrimaryKey:  []string{"id"},
		EndpointKey: "target",
		CacheKey:    []string{"upstream", "target"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.TimestampMs("created_at"),
			schema.TimestampMs("updated_at"),
			schema.ForeignKey("upstream", Upstreams).With(func(f *schema.Field) {
				f.Required, f.OnDelete = true, "cascade"
			}),
			{Name: "target", Type: schema.String, Required: true, Custom: validateTarget},
			{Name: "weight", Type: schema.Integer, Default: int64(100), Between: schema.Range(0, 65535)},
			schema.Tags(),
		},
	}
	return &Type{
		Schema: s, Name: Targets, AdminName: Targets, GenerateAdminAPI: true,
		Prepare: func(in map[string]any, _ schema.Context) {
			if t, ok := in["target"].(string); ok {
				if n, ok := NormalizeTarget(t); ok {
					in["target"] = n
				}
			}
		},
	}
}

// NormalizeTarget returns a target as Kong stores it: "host:port" with the
// port defaulting to DefaultTargetPort, IPv4 addresses without leading
// zeros, IPv6 addresses fully expanded in brackets
// ("[0000:...:0001]:8000"). It reports false for a string that is not a
// host name or an IP address with an optional port.
func NormalizeTarget(target string) (string, bool) {
	h, err := schema.NormalizeIP(target)
	if err != nil {
		return "", false
	}
	port := DefaultTargetPort
	if h.HasPort {
		port = h.Port
	}
	host := h.Host
	if h.Type == "ipv6" {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port), true
}

// validateTarget is targets.lua's validate_target.
func validateTarget(v any) error {
	target := v.(string)
	if _, err := schema.NormalizeIP(target); err != nil {
		if !utf8.ValidString(target) {
			return errors.New("Invalid target; not a valid hostname or ip address") //nolint:staticcheck // ST1005: Kong's message
		}
		return errors.New("Invalid target ('" + target + "'); not a valid hostname or ip address")
	}
	return nil
}
