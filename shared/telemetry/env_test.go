package telemetry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// settingsView is the comparable part of settings.
type settingsView struct {
	Export      bool
	Protocol    string
	Endpoint    string
	Headers     map[string]string
	ServiceName string
	Attributes  map[string]string
}

func view(s settings) settingsView {
	v := settingsView{Export: s.export, Protocol: s.protocol, Headers: s.headers, ServiceName: s.serviceName}
	if s.endpoint != nil {
		v.Endpoint = s.endpoint.String()
	}
	if s.attributes != nil {
		v.Attributes = make(map[string]string)
		for _, a := range s.attributes {
			v.Attributes[string(a.Key)] = a.Value.AsString()
		}
	}
	return v
}

func TestReadSettings(t *testing.T) {
	t.Parallel()
	const base = "http://collector:4318"
	noHeaders := map[string]string{}
	tests := []struct {
		name string
		env  map[string]string
		want settingsView
	}{
		{
			name: "empty environment exports nothing",
			want: settingsView{ServiceName: "svc"},
		},
		{
			name: "headers alone export nothing",
			env:  map[string]string{envHeaders: "a=b", envProtocol: "grpc"},
			want: settingsView{ServiceName: "svc"},
		},
		{
			name: "sdk disabled wins over an endpoint",
			env:  map[string]string{envSDKDisabled: "TRUE", envEndpoint: base},
			want: settingsView{ServiceName: "svc"},
		},
		{
			name: "sdk disabled false",
			env:  map[string]string{envSDKDisabled: "false", envEndpoint: base},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "exporter none wins over an endpoint",
			env:  map[string]string{envTracesExporter: "none", envEndpoint: base},
			want: settingsView{ServiceName: "svc"},
		},
		{
			name: "exporter otlp without endpoint uses the default HTTP collector",
			env:  map[string]string{envTracesExporter: "otlp"},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: "http://localhost:4318/v1/traces", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "exporter otlp without endpoint uses the default gRPC collector",
			env:  map[string]string{envTracesExporter: "OTLP", envProtocol: "grpc"},
			want: settingsView{Export: true, Protocol: protocolGRPC, Endpoint: "http://localhost:4317", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "base endpoint gets the traces path",
			env:  map[string]string{envEndpoint: base},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "base endpoint with a path prefix",
			env:  map[string]string{envEndpoint: "https://collector/otlp/"},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: "https://collector/otlp/v1/traces", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "traces endpoint is used as-is and wins",
			env:  map[string]string{envEndpoint: base, envTracesEndpoint: "http://other:1234/custom"},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: "http://other:1234/custom", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "traces endpoint without path gets the root path",
			env:  map[string]string{envTracesEndpoint: "http://other:1234"},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: "http://other:1234/", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "grpc keeps only scheme and host",
			env:  map[string]string{envEndpoint: "https://collector:4317/ignored", envProtocol: "GRPC"},
			want: settingsView{Export: true, Protocol: protocolGRPC, Endpoint: "https://collector:4317", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "traces protocol wins",
			env:  map[string]string{envEndpoint: base, envProtocol: "grpc", envTracesProtocol: "http/json"},
			want: settingsView{Export: true, Protocol: protocolHTTPJSON, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "svc"},
		},
		{
			name: "headers are trimmed and percent-decoded",
			env:  map[string]string{envEndpoint: base, envHeaders: "Authorization=Basic%20abc, x-tenant = t1 ,x-tenant=t2"},
			want: settingsView{
				Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", ServiceName: "svc",
				Headers: map[string]string{"Authorization": "Basic abc", "x-tenant": "t2"},
			},
		},
		{
			name: "traces headers replace the general ones",
			env:  map[string]string{envEndpoint: base, envHeaders: "a=1,b=2", envTracesHeaders: "c=3"},
			want: settingsView{
				Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", ServiceName: "svc",
				Headers: map[string]string{"c": "3"},
			},
		},
		{
			name: "service name from the environment",
			env:  map[string]string{envEndpoint: base, envServiceName: " env-svc "},
			want: settingsView{Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "env-svc"},
		},
		{
			name: "resource attributes",
			env:  map[string]string{envEndpoint: base, envResourceAttributes: "deployment.environment=prod,team=a%2Cb,service.name=attr-svc"},
			want: settingsView{
				Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "svc",
				Attributes: map[string]string{"deployment.environment": "prod", "team": "a,b", "service.name": "attr-svc"},
			},
		},
		{
			name: "OTEL_SERVICE_NAME wins over service.name in resource attributes",
			env: map[string]string{
				envEndpoint: base, envServiceName: "env-svc",
				envResourceAttributes: "service.name=attr-svc,team=a",
			},
			want: settingsView{
				Export: true, Protocol: protocolHTTPProtobuf, Endpoint: base + "/v1/traces", Headers: noHeaders, ServiceName: "env-svc",
				Attributes: map[string]string{"team": "a"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := readSettings(func(k string) string { return tt.env[k] }, "svc")
			if err != nil {
				t.Fatalf("readSettings: %v", err)
			}
			if got := view(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("settings:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadSettingsInvalid(t *testing.T) {
	t.Parallel()
	const base = "http://collector:4318"
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string // named in the error
		secret  string // must not appear in the error
	}{
		{"sdk disabled not a boolean", map[string]string{envSDKDisabled: "yes"}, envSDKDisabled, ""},
		{"unknown exporter", map[string]string{envTracesExporter: "zipkin"}, envTracesExporter, ""},
		{"console exporter", map[string]string{envTracesExporter: "console"}, envTracesExporter, ""},
		{"exporter list", map[string]string{envTracesExporter: "otlp,console"}, envTracesExporter, ""},
		{"unknown protocol", map[string]string{envEndpoint: base, envProtocol: "http"}, envProtocol, ""},
		{"unknown traces protocol", map[string]string{envEndpoint: base, envTracesProtocol: "thrift"}, envTracesProtocol, ""},
		{"unknown protocol without endpoint", map[string]string{envProtocol: "udp"}, envProtocol, ""},
		{"endpoint without scheme", map[string]string{envEndpoint: "collector:4318"}, envEndpoint, ""},
		{"endpoint with another scheme", map[string]string{envTracesEndpoint: "ftp://collector"}, envTracesEndpoint, ""},
		{"endpoint without host", map[string]string{envEndpoint: "http:///v1/traces"}, envEndpoint, ""},
		{"header without value", map[string]string{envEndpoint: base, envHeaders: "a=b,c"}, envHeaders, ""},
		{"header with empty name", map[string]string{envEndpoint: base, envTracesHeaders: "=b"}, envTracesHeaders, ""},
		{"header name not a token", map[string]string{envEndpoint: base, envHeaders: "a b=c"}, envHeaders, ""},
		{"header value badly escaped", map[string]string{envEndpoint: base, envHeaders: "Authorization=Bearer%zzs3cret"}, envHeaders, "s3cret"},
		{"header without value hides others", map[string]string{envEndpoint: base, envHeaders: "Authorization=Bearer s3cret,oops"}, envHeaders, "s3cret"},
		{"endpoint password redacted", map[string]string{envEndpoint: "ftp://user:s3cret@collector"}, envEndpoint, "s3cret"}, //nolint:gosec // fake password checking redaction
		{"resource attribute without value", map[string]string{envEndpoint: base, envResourceAttributes: "team"}, envResourceAttributes, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readSettings(func(k string) string { return tt.env[k] }, "svc")
			if !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("readSettings error = %v, want ErrInvalidEnv", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantVar+"=") && !strings.Contains(msg, tt.wantVar+":") {
				t.Errorf("error %q does not name %s", err, tt.wantVar)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q reveals %q", err, tt.secret)
			}
		})
	}
}

func TestReadSettingsNeedsServiceName(t *testing.T) {
	t.Parallel()
	env := map[string]string{envServiceName: "env-svc"}
	if _, err := readSettings(func(k string) string { return env[k] }, ""); err == nil {
		t.Fatal("readSettings with an empty service name: want an error")
	}
}
