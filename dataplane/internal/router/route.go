package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Route is a route in the router, decoded once from its record.
type Route struct {
	// ID and Name are the route's id and name ("" when null).
	ID, Name string
	// Protocols are the route's protocols. They are not part of the match:
	// the proxy enforces them (HTTPSOnly, HTTPSRedirectStatusCode).
	Protocols []string
	// HTTPSRedirectStatusCode is the status answered to a plain-HTTP
	// request on an https-only route: 426, or a redirect (301, 302, 307,
	// 308).
	HTTPSRedirectStatusCode int
	// StripPath and PreserveHost are the route's flags.
	StripPath, PreserveHost bool
	// PathHandling is "v0" or "v1"; both behave as v0 under
	// traditional_compatible, as in Kong.
	PathHandling string
	// Service is the route's service, nil when the route has none (the
	// proxy answers 503 "no Service found with those values") or when the
	// service's protocol is not an HTTP one (Kong treats it the same way).
	Service *Service
	// Record is the route's record as given to Compile; it must not be
	// modified.
	Record map[string]any
}

// HTTPSOnly reports whether the route accepts https but not http, so that
// a plain-HTTP request must be answered with HTTPSRedirectStatusCode.
func (r *Route) HTTPSOnly() bool {
	return r.hasProtocol("https") && !r.hasProtocol("http")
}

func (r *Route) hasProtocol(p string) bool {
	return slices.Contains(r.Protocols, p)
}

// Service is the part of a service the router and the upstream request
// need, decoded once from its record.
type Service struct {
	// ID and Name are the service's id and name ("" when null).
	ID, Name string
	// Protocol, Host and Port say where to send the request.
	Protocol, Host string
	Port           int
	// Path is the service's path, "" when null (the upstream base is then
	// "/").
	Path string
	// Record is the service's record as given to Compile; it must not be
	// modified.
	Record map[string]any
}

// httpProtocols are the protocols of Kong's http subsystem.
var httpProtocols = map[string]bool{"http": true, "https": true, "grpc": true, "grpcs": true}

// decodeService reads a services record. It returns nil and no error for
// a disabled service, which Kong leaves out of the router with its routes.
func decodeService(rec map[string]any) (*Service, error) {
	id, ok := rec["id"].(string)
	if !ok || id == "" {
		return nil, errors.New("service without id")
	}
	if enabled, ok := rec["enabled"].(bool); ok && !enabled {
		return nil, nil
	}
	port, _ := toInt(rec["port"])
	s := &Service{
		ID:       id,
		Name:     str(rec["name"]),
		Protocol: str(rec["protocol"]),
		Host:     str(rec["host"]),
		Port:     port,
		Path:     str(rec["path"]),
		Record:   rec,
	}
	return s, nil
}

// serviceLookup finds an enabled service by id.
type serviceLookup func(id string) (*Service, bool)

// decodeRoute reads the scalar fields of a routes record (whose id the
// caller checked) and links its service. It returns ok = false for a
// route Kong leaves out of the http router: one whose protocols are all
// stream protocols, or whose service is not in services (disabled, or
// left out by the caller).
func decodeRoute(rec map[string]any, services serviceLookup) (*Route, bool, error) {
	id, _ := rec["id"].(string)
	protocols, err := stringList(rec, "protocols")
	if err != nil {
		return nil, false, err
	}
	if protocols == nil {
		protocols = []string{"http", "https"}
	}
	http := false
	for _, p := range protocols {
		http = http || httpProtocols[p]
	}
	if !http {
		return nil, false, nil
	}
	r := &Route{
		ID:                      id,
		Name:                    str(rec["name"]),
		Protocols:               protocols,
		HTTPSRedirectStatusCode: 426,
		StripPath:               true,
		PathHandling:            "v0",
		Record:                  rec,
	}
	if code, ok := toInt(rec["https_redirect_status_code"]); ok {
		r.HTTPSRedirectStatusCode = code
	}
	if b, ok := rec["strip_path"].(bool); ok {
		r.StripPath = b
	}
	if b, ok := rec["preserve_host"].(bool); ok {
		r.PreserveHost = b
	}
	if s, ok := rec["path_handling"].(string); ok {
		r.PathHandling = s
	}
	if ref, ok := rec["service"].(map[string]any); ok {
		sid, _ := ref["id"].(string)
		svc, found := services(sid)
		if !found {
			return nil, false, nil
		}
		if httpProtocols[svc.Protocol] {
			r.Service = svc
		}
	}
	return r, true, nil
}

// stringList reads an array of strings; null or absent is nil.
func stringList(rec map[string]any, field string) ([]string, error) {
	switch v := rec[field].(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s: element %d is not a string", field, i+1)
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: not an array", field)
	}
}

// headerMap reads the headers field: a map of names to arrays of strings.
func headerMap(rec map[string]any) (map[string][]string, error) {
	switch v := rec["headers"].(type) {
	case nil:
		return nil, nil
	case map[string][]string:
		return v, nil
	case map[string]any:
		out := make(map[string][]string, len(v))
		for name := range v {
			list, err := stringList(v, name)
			if err != nil {
				return nil, fmt.Errorf("headers.%w", err)
			}
			out[name] = list
		}
		return out, nil
	default:
		return nil, errors.New("headers: not a map")
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// toInt reads an integer field whatever number type the record holds it
// in (int64 from the schema, float64 or json.Number from JSON).
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	default:
		return 0, false
	}
}

// lowerASCII lower-cases the ASCII letters of s and keeps every other
// byte, as host names are compared.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !isUpper(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
