package schema

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"

	"gatehouse.dev/shared/uri"
)

// The typedefs of kong/db/schema/typedefs.lua. Each returns a new Field,
// which callers may adjust with With.

// Protocols Kong knows (constants.PROTOCOLS).
var allProtocols = []any{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"}

// HTTPProtocols are the protocols of the http subsystem, sorted: the
// default of a plugin's protocols.
var HTTPProtocols = []any{"grpc", "grpcs", "http", "https"}

// ID is the auto-generated UUID primary key.
func ID() *Field {
	return &Field{Name: "id", Type: String, UUID: true, Auto: true}
}

// CreatedAt is an auto timestamp in whole seconds.
func CreatedAt() *Field {
	return &Field{Name: "created_at", Type: Integer, Timestamp: true, Auto: true}
}

// UpdatedAt is an auto timestamp in whole seconds.
func UpdatedAt() *Field {
	return &Field{Name: "updated_at", Type: Integer, Timestamp: true, Auto: true}
}

// TimestampMs is an auto timestamp in seconds with a millisecond fraction
// (targets' created_at and updated_at).
func TimestampMs(name string) *Field {
	return &Field{Name: name, Type: Number, Timestamp: true, Auto: true}
}

// Tags is the set of tags every entity carries.
func Tags() *Field {
	return &Field{Name: "tags", Type: Set, Elements: &Field{Type: String, Required: true, Custom: validateTag}}
}

// ForeignKey is a foreign key to table ref.
func ForeignKey(name, ref string) *Field {
	return &Field{Name: name, Type: Foreign, Reference: ref}
}

// Protocol is one protocol name.
func Protocol() *Field {
	return &Field{Type: String, OneOf: allProtocols}
}

// Protocols is a plugin's protocols: a required set of protocol names
// defaulting to the http-subsystem protocols.
func Protocols() *Field {
	return &Field{Name: "protocols", Type: Set, Required: true, Default: DeepCopy(HTTPProtocols), Elements: Protocol()}
}

// ProtocolsHTTP is Protocols restricted to the http subsystem.
func ProtocolsHTTP() *Field {
	return &Field{
		Name: "protocols", Type: Set, Required: true, Default: DeepCopy(HTTPProtocols),
		Elements: &Field{Type: String, OneOf: DeepCopy(HTTPProtocols).([]any)},
	}
}

// Host is a hostname or IP address without a port.
func Host(name string) *Field {
	return &Field{Name: name, Type: String, Custom: validateHost}
}

// HostWithOptionalPort is a hostname or IP with an optional ":port".
func HostWithOptionalPort(name string) *Field {
	return &Field{Name: name, Type: String, Custom: func(v any) error {
		_, err := NormalizeIP(v.(string))
		return err
	}}
}

// WildcardHost is a hostname with at most one '*' as its leftmost or
// rightmost character (certificates' snis, routes' snis).
func WildcardHost() *Field {
	return &Field{Type: String, Custom: validateWildcardHost}
}

// SNI is a hostname (not an IP) without a port.
func SNI(name string) *Field {
	return &Field{Name: name, Type: String, Custom: validateSNI}
}

// Port is an integer 0-65535.
func Port(name string) *Field {
	return &Field{Name: name, Type: Integer, Between: Range(0, 65535)}
}

// Timeout is a duration in milliseconds, 0 to 2^31-2.
func Timeout(name string) *Field {
	return &Field{Name: name, Type: Integer, Between: Range(0, 1<<31-2)}
}

// Path is a URL path: starts with '/', no empty segments, RFC 3986
// characters, well-formed percent escapes.
func Path(name string) *Field {
	return &Field{
		Name: name, Type: String, StartsWith: "/",
		MatchNone: []PatternErr{{Pattern: MustPattern(`//`), Err: "must not have empty segments"}},
		Custom: func(v any) error {
			_, err := checkPath(v.(string))
			return err
		},
	}
}

// URL is an absolute URL with a scheme and a host.
func URL(name string) *Field {
	return &Field{Name: name, Type: String, Custom: validateURL}
}

// HeaderName is an HTTP header name (letters, digits, '-' and '_').
func HeaderName() *Field {
	return &Field{Type: String, Custom: validateHeaderName}
}

// CookieName is an HTTP token used as a cookie name.
func CookieName() *Field {
	return &Field{Type: String, Custom: validateCookieName}
}

// Name is a unique ASCII name: alphanumerics and '.', '-', '_', '~'.
func Name() *Field {
	return &Field{Name: "name", Type: String, Unique: true, Custom: validateName}
}

// UTF8Name is a unique name that also accepts non-ASCII UTF-8 characters.
func UTF8Name() *Field {
	return &Field{Name: "name", Type: String, Unique: true, Custom: validateUTF8Name}
}

// IP is an IPv4 or IPv6 address.
func IP() *Field {
	return &Field{Type: String, Custom: func(v any) error {
		if _, err := netip.ParseAddr(v.(string)); err != nil {
			return fmt.Errorf("not an ip address: %s", v)
		}
		return nil
	}}
}

// IPOrCIDR is an IP address or a CIDR range, IPv4 or IPv6.
func IPOrCIDR() *Field {
	return &Field{Type: String, Custom: func(v any) error {
		if !isIPOrCIDR(v.(string)) {
			return fmt.Errorf("invalid ip or cidr range: '%s'", v)
		}
		return nil
	}}
}

// CIDRv4 is an IPv4 address or CIDR range.
func CIDRv4() *Field {
	return &Field{Type: String, Custom: func(v any) error {
		s := v.(string)
		if !isIPOrCIDR(s) || strings.Contains(s, ":") {
			return fmt.Errorf("invalid ipv4 cidr range: '%s'", s)
		}
		return nil
	}}
}

// HTTPMethod is an upper-case method name.
func HTTPMethod() *Field {
	return &Field{Type: String, Match: MustPattern(`^[A-Z]+$`)}
}

// Certificate is a PEM certificate; Key is a PEM private key. Their
// validators live in pem.go.
func Certificate(name string) *Field {
	return &Field{Name: name, Type: String, Custom: validateCertificate}
}

// Key is a PEM private key.
func Key(name string) *Field {
	return &Field{Name: name, Type: String, Custom: validateKey}
}

// SemanticVersion is an "X.Y.Z(-build)" version string.
func SemanticVersion(name string) *Field {
	return &Field{
		Name: name, Type: String,
		MatchAny: &MatchAny{
			Patterns: []*Pattern{MustPattern(`^\d+[.\d]*$`), MustPattern(`^\d+[.\d]*-?.*$`)},
			Err:      "invalid version number: must be in format of X.Y.Z",
		},
		MatchNone: []PatternErr{{Pattern: MustPattern(`\.\.`), Err: "must not have empty version segments"}},
	}
}

// TTL is a time to live in seconds.
func TTL(name string) *Field {
	return &Field{Name: name, Type: Number, Between: Range(0, 100000000)}
}

// IsReference reports whether s is a vault reference ("{vault://...}").
func IsReference(s string) bool {
	return strings.HasPrefix(s, "{vault://") && strings.HasSuffix(s, "}") && len(s) > len("{vault://}")
}

func validateTag(v any) error {
	s := v.(string)
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid utf-8 character sequence detected at position %d", invalidUTF8At(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c >= 33 && c <= 126 && c != ',' && c != '/' || c >= 128 && c <= 244 {
			continue
		}
		return fmt.Errorf("invalid tag '%s': expected printable ascii (except `,` and `/`) or valid utf-8 sequences", s)
	}
	return nil
}

func invalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i + 1
		}
		i += size
	}
	return len(s) + 1
}

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9.\-_~]+$`)
	utf8NameRe = regexp.MustCompile("^[A-Za-z0-9.\\-_~\u0080-\U0010FFFF]+$")
)

func validateName(v any) error {
	s := v.(string)
	if !nameRe.MatchString(s) {
		return fmt.Errorf("invalid value '%s': it must only contain alphanumeric and '., -, _, ~' characters", s)
	}
	return nil
}

func validateUTF8Name(v any) error {
	s := v.(string)
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid utf-8 character sequence detected at position %d", invalidUTF8At(s))
	}
	if !utf8NameRe.MatchString(s) {
		return fmt.Errorf("invalid value '%s': the only accepted ascii characters are alphanumerics or ., -, _, and ~", s)
	}
	return nil
}

var headerNameRe = regexp.MustCompile(`^[a-zA-Z0-9\-_]+$`)

func validateHeaderName(v any) error {
	s := v.(string)
	if !headerNameRe.MatchString(s) {
		return fmt.Errorf("bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'", s)
	}
	return nil
}

var cookieNameRe = regexp.MustCompile("^[a-zA-Z0-9\\-_!#$%&'*+.^`|~]+$")

func validateCookieName(v any) error {
	s := v.(string)
	if !cookieNameRe.MatchString(s) {
		return fmt.Errorf("bad cookie name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'", s)
	}
	return nil
}

func validateHost(v any) error {
	s := v.(string)
	h, err := NormalizeIP(s)
	if err != nil && !errors.Is(err, errInvalidPort) {
		return fmt.Errorf("invalid value: %s", s)
	}
	if err != nil || h.Port != 0 || h.HasPort {
		return errors.New("must not have a port")
	}
	return nil
}

func validateSNI(v any) error {
	s := v.(string)
	h, err := NormalizeIP(s)
	if err != nil && !errors.Is(err, errInvalidPort) {
		return fmt.Errorf("invalid value: %s", s)
	}
	if err == nil && h.Type != "name" {
		return errors.New("must not be an IP")
	}
	if err != nil || h.HasPort {
		return errors.New("must not have a port")
	}
	return nil
}

func validateWildcardHost(v any) error {
	s := v.(string)
	if i := strings.IndexByte(s, '*'); i >= 0 {
		if i != 0 && i != len(s)-1 {
			return errors.New("wildcard must be leftmost or rightmost character")
		}
		if strings.Count(s, "*") > 1 {
			return errors.New("only one wildcard must be specified")
		}
		s = strings.Replace(s, "*", "wildcard", 1)
	}
	return validateSNI(s)
}

func validateURL(v any) error {
	s := v.(string)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		if !strings.Contains(s, "://") && !strings.Contains(s, "/") {
			return errors.New("missing host in url")
		}
		return errors.New("missing scheme in url")
	}
	host := rest
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if j := strings.LastIndexByte(host, '@'); j >= 0 {
		host = host[j+1:]
	}
	if host == "" {
		return errors.New("missing host in url")
	}
	return nil
}

var pathCharsRe = regexp.MustCompile(`^/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*$`)

// checkPath is Kong's validate_path. Its second result says whether the
// problem is a malformed percent escape ("percent"), which router paths
// refuse even for regexes.
func checkPath(p string) (string, error) {
	if !pathCharsRe.MatchString(p) {
		return "rfc3986", fmt.Errorf("invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		if i+2 < len(p) && isHexDigit(p[i+1]) && isHexDigit(p[i+2]) {
			i += 2
			continue
		}
		end := min(i+3, len(p))
		return "percent", fmt.Errorf("invalid url-encoded value: '%s'", p[i:end])
	}
	return "", nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// RouterPath is a route path: a normalized prefix starting with '/' or a
// regex starting with '~/'.
func RouterPath() *Field {
	return &Field{
		Type: String,
		MatchAny: &MatchAny{
			Patterns: []*Pattern{MustPattern(`^/`), MustPattern(`^~/`)},
			Err:      "should start with: / (fixed path) or ~/ (regex path)",
		},
		MatchNone: []PatternErr{{Pattern: MustPattern(`//`), Err: "must not have empty segments"}},
		Custom:    validateRouterPath,
	}
}

func validateRouterPath(v any) error {
	p := v.(string)
	if kind, err := checkPath(p); kind == "percent" {
		return err
	}
	if !strings.HasPrefix(p, "~") {
		if n := uri.Normalize(p, true); n != p {
			return fmt.Errorf("non-normalized path, consider use '%s' instead", n)
		}
		return nil
	}
	re := p[1:]
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("invalid regex: '%s' (PCRE returned: %s)", re, regexReason(err))
	}
	return nil
}

// regexReason shortens Go's regexp error to its cause.
func regexReason(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

func isIPOrCIDR(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// ---------------------------------------------------------------------------
// Route and upstream typedefs of kong/db/schema/typedefs.lua, added with the
// entity package (routes' sources, destinations, methods, hosts, paths and
// headers; upstream health checks' headers). Each returns a new Field named
// name.

// Sources is a set of {ip, port} records, at least one of the two set
// (typedefs.sources; routes' destinations use the same shape).
func Sources(name string) *Field {
	return &Field{Name: name, Type: Set, Elements: &Field{
		Type:         Record,
		Fields:       []*Field{IPOrCIDR().Named("ip"), Port("port")},
		EntityChecks: []Check{{AtLeastOneOf: []string{"ip", "port"}}},
	}}
}

// Methods is a set of upper-case HTTP method names (typedefs.methods).
func Methods(name string) *Field {
	return &Field{Name: name, Type: Set, Elements: HTTPMethod()}
}

// Hosts is an array of host names with an optional port and at most one
// '*' label, leftmost or rightmost (typedefs.hosts).
func Hosts(name string) *Field {
	return &Field{Name: name, Type: Array, Elements: &Field{
		Type: String,
		MatchAll: []PatternErr{{
			Pattern: MustPattern(`^[^*]*\*?[^*]*$`),
			Err:     "invalid wildcard: must have at most one wildcard",
		}},
		MatchAny: &MatchAny{
			Patterns: []*Pattern{MustPattern(`^\*\.`), MustPattern(`\.\*$`), MustPattern(`^[^*]*$`)},
			Err:      "invalid wildcard: must be placed at leftmost or rightmost label",
		},
		Custom: validateHostWithWildcards,
	}}
}

// RouterPaths is an array of RouterPath (typedefs.router_paths).
func RouterPaths(name string) *Field {
	return &Field{Name: name, Type: Array, Elements: RouterPath()}
}

// Headers is a map from header name to an array of values
// (typedefs.headers).
func Headers(name string) *Field {
	return &Field{
		Name: name, Type: Map, Keys: HeaderName(),
		Values: &Field{Type: Array, Elements: &Field{Type: String}},
	}
}

// validateHostWithWildcards is Kong's validate_host_with_wildcards: the
// wildcard stands for a label, the rest must be a host with an optional
// port. Kong's message for a port above 65535 is "invalid port number",
// without the port.
func validateHostWithWildcards(v any) error {
	_, err := NormalizeIP(strings.ReplaceAll(v.(string), "*", "abc"))
	if errors.Is(err, errInvalidPort) {
		return errInvalidPort
	}
	return err
}
