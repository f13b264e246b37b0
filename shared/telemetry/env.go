package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ErrInvalidEnv is returned, wrapped, by Setup when an OTEL_* variable holds
// a value this package does not accept. The message names the variable.
var ErrInvalidEnv = errors.New("invalid environment variable")

// Environment variables read through getenv. See the package documentation.
const (
	envSDKDisabled        = "OTEL_SDK_DISABLED"
	envTracesExporter     = "OTEL_TRACES_EXPORTER"
	envEndpoint           = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint     = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol           = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol     = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envHeaders            = "OTEL_EXPORTER_OTLP_HEADERS"
	envTracesHeaders      = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	envServiceName        = "OTEL_SERVICE_NAME"
	envResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
)

// Protocols accepted in OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	protocolGRPC         = "grpc"
	protocolHTTPProtobuf = "http/protobuf"
	protocolHTTPJSON     = "http/json"
)

// Default collector endpoints when OTEL_TRACES_EXPORTER=otlp names no
// endpoint, as the OpenTelemetry specification sets them.
const (
	defaultHTTPEndpoint = "http://localhost:4318"
	defaultGRPCEndpoint = "http://localhost:4317"
)

// tracesPath is appended to OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/HTTP.
const tracesPath = "/v1/traces"

// settings is the configuration Setup reads from the environment.
type settings struct {
	// export is false when no span leaves the process.
	export bool
	// protocol is one of the protocol* constants; set when export is true.
	protocol string
	// endpoint is where spans go: the full URL for OTLP/HTTP, the scheme
	// and host for gRPC. Set when export is true.
	endpoint *url.URL
	// headers are sent with every export request; never nil when export
	// is true, so the exporter does not fall back to the process environment.
	headers map[string]string
	// serviceName is OTEL_SERVICE_NAME, or the name given to Setup.
	serviceName string
	// attributes come from OTEL_RESOURCE_ATTRIBUTES, in order, without
	// service.name when OTEL_SERVICE_NAME is set. They override serviceName
	// and the attributes the program sets.
	attributes []attribute.KeyValue
}

// readSettings reads the environment through getenv. serviceName is the
// name the program passed to Setup; OTEL_SERVICE_NAME overrides it.
func readSettings(getenv func(string) string, serviceName string) (settings, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	if serviceName == "" {
		return settings{}, errors.New("empty service name")
	}
	s := settings{serviceName: serviceName}
	if v := get(envServiceName); v != "" {
		s.serviceName = v
	}

	switch v := get(envSDKDisabled); strings.ToLower(v) {
	case "", "false":
	case "true":
		return s, nil
	default:
		return settings{}, invalid(envSDKDisabled, v, "true or false")
	}

	exporter := get(envTracesExporter)
	switch strings.ToLower(exporter) {
	case "none":
		return s, nil
	case "", "otlp":
	default:
		return settings{}, invalid(envTracesExporter, exporter, "otlp or none")
	}

	protocolName := envTracesProtocol
	if get(protocolName) == "" {
		protocolName = envProtocol
	}
	switch s.protocol = strings.ToLower(get(protocolName)); s.protocol {
	case "":
		s.protocol = protocolHTTPProtobuf
	case protocolGRPC, protocolHTTPProtobuf, protocolHTTPJSON:
	default:
		return settings{}, invalid(protocolName, s.protocol, "grpc, http/protobuf or http/json")
	}

	endpointName := envTracesEndpoint
	if get(endpointName) == "" {
		endpointName = envEndpoint
	}
	rawEndpoint := get(endpointName)
	if rawEndpoint == "" {
		if exporter == "" {
			// Neither an exporter nor an endpoint: nothing is exported.
			return settings{serviceName: s.serviceName}, nil
		}
		rawEndpoint = defaultHTTPEndpoint
		if s.protocol == protocolGRPC {
			rawEndpoint = defaultGRPCEndpoint
		}
	}
	var err error
	if s.endpoint, err = parseEndpoint(endpointName, rawEndpoint, s.protocol); err != nil {
		return settings{}, err
	}

	headersName := envTracesHeaders
	if get(headersName) == "" {
		headersName = envHeaders
	}
	headers, err := parsePairs(headersName, get(headersName))
	if err != nil {
		return settings{}, err
	}
	s.headers = make(map[string]string, len(headers))
	for i, h := range headers {
		if !isToken(h.key) {
			return settings{}, fmt.Errorf("%w %s: entry %d: %q is not a header name", ErrInvalidEnv, headersName, i+1, h.key)
		}
		s.headers[h.key] = h.value
	}

	attrs, err := parsePairs(envResourceAttributes, get(envResourceAttributes))
	if err != nil {
		return settings{}, err
	}
	for _, a := range attrs {
		if a.key == string(semconv.ServiceNameKey) && get(envServiceName) != "" {
			continue // OTEL_SERVICE_NAME wins
		}
		s.attributes = append(s.attributes, attribute.String(a.key, a.value))
	}

	s.export = true
	return s, nil
}

// parseEndpoint returns the URL spans are sent to, given the value of the
// endpoint variable name. As the specification requires, the per-signal
// variable is used as-is (an empty path becomes "/") and the base URL gets
// /v1/traces appended; gRPC uses only the scheme and host.
func parseEndpoint(name, raw, protocol string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid(name, raw, "an http:// or https:// URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid(name, u.Redacted(), "an http:// or https:// URL")
	}
	switch {
	case protocol == protocolGRPC:
		return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
	case name == envEndpoint:
		u.Path = path.Join("/", u.Path, tracesPath)
		u.RawPath = ""
	case u.Path == "":
		u.Path = "/"
	}
	return u, nil
}

// pair is one entry of a "k1=v1,k2=v2" variable.
type pair struct{ key, value string }

// parsePairs parses the "k1=v1,k2=v2" format shared by
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES, keeping the
// order: keys and values are trimmed and values are percent-decoded.
// Errors name the entry by position and never quote the variable, which
// may hold credentials.
func parsePairs(name, raw string) ([]pair, error) {
	if raw == "" {
		return nil, nil
	}
	var pairs []pair
	i := 0
	for p := range strings.SplitSeq(raw, ",") {
		i++
		k, v, ok := strings.Cut(p, "=")
		key := strings.TrimSpace(k)
		if !ok || key == "" {
			return nil, fmt.Errorf("%w %s: entry %d: want key=value", ErrInvalidEnv, name, i)
		}
		value, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%w %s: entry %d (%s): value is not percent-encoded", ErrInvalidEnv, name, i, key)
		}
		pairs = append(pairs, pair{key, value})
	}
	return pairs, nil
}

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

// invalid reports a variable holding a value Setup does not accept.
func invalid(name, value, want string) error {
	return fmt.Errorf("%w %s=%q: want %s", ErrInvalidEnv, name, value, want)
}
