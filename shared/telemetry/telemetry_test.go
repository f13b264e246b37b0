package telemetry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/shared/version"
)

// env returns a getenv reading m.
func env(m map[string]string) telemetry.Option {
	return telemetry.WithGetenv(func(k string) string { return m[k] })
}

// setup calls Setup and shuts it down when the test ends.
func setup(t *testing.T, vars map[string]string, opts ...telemetry.Option) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), "test-svc", append([]telemetry.Option{env(vars)}, opts...)...)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel
}

// emit starts and ends one span named name.
func emit(tp trace.TracerProvider, name string) {
	_, span := tp.Tracer("telemetry_test").Start(context.Background(), name)
	span.End()
}

// shutdown flushes tel within a generous deadline.
func shutdown(t *testing.T, tel *telemetry.Telemetry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSetupExportsNothingWithoutExporter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars func(url string) map[string]string
	}{
		{"empty environment", func(string) map[string]string { return nil }},
		{"only headers and protocol", func(string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
		}},
		{"sdk disabled", func(url string) map[string]string {
			return map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": url}
		}},
		{"exporter none", func(url string) map[string]string {
			return map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": url}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			col, url := newHTTPCollector(t)
			tel := setup(t, tt.vars(url))
			if got := tel.Endpoint(); got != "" {
				t.Errorf("Endpoint() = %q, want empty", got)
			}
			_, span := tel.TracerProvider().Tracer("t").Start(t.Context(), "op")
			if span.IsRecording() {
				t.Error("span is recording, want a no-op provider")
			}
			span.End()
			shutdown(t, tel)
			if got := col.received(t); len(got) != 0 {
				t.Errorf("collector received %d requests, want none", len(got))
			}
		})
	}
}

func TestSetupExportsOTLPHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		vars        func(url string) map[string]string
		wantPath    string
		wantType    string
		wantService string
	}{
		{
			name:        "base endpoint",
			vars:        func(url string) map[string]string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url} },
			wantPath:    "/v1/traces",
			wantType:    "application/x-protobuf",
			wantService: "test-svc",
		},
		{
			name: "base endpoint with prefix and explicit protocol",
			vars: func(url string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url + "/otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
			},
			wantPath:    "/otlp/v1/traces",
			wantType:    "application/x-protobuf",
			wantService: "test-svc",
		},
		{
			name: "service name from resource attributes",
			vars: func(url string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT": url,
					"OTEL_RESOURCE_ATTRIBUTES":    "service.name=attr-svc,deployment.environment=test",
				}
			},
			wantPath:    "/v1/traces",
			wantType:    "application/x-protobuf",
			wantService: "attr-svc",
		},
		{
			name: "traces endpoint as-is",
			vars: func(url string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/custom/traces"}
			},
			wantPath:    "/custom/traces",
			wantType:    "application/x-protobuf",
			wantService: "test-svc",
		},
		{
			name: "json with service name from the environment",
			vars: func(url string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT":        url,
					"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
					"OTEL_SERVICE_NAME":                  "env-svc",
				}
			},
			wantPath:    "/v1/traces",
			wantType:    "application/json",
			wantService: "env-svc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			col, url := newHTTPCollector(t)
			vars := tt.vars(url)
			vars["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Bearer%20s3cret"
			if vars["OTEL_RESOURCE_ATTRIBUTES"] == "" {
				vars["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment=test"
			}
			tel := setup(t, vars, telemetry.WithInstanceID("node-1"))
			if got, want := tel.Endpoint(), url+tt.wantPath; got != want {
				t.Errorf("Endpoint() = %q, want %q", got, want)
			}

			emit(tel.TracerProvider(), "proxy.request")
			shutdown(t, tel)

			got := col.received(t)
			if len(got) != 1 {
				t.Fatalf("collector received %d requests, want 1", len(got))
			}
			if got[0].path != tt.wantPath {
				t.Errorf("path = %q, want %q", got[0].path, tt.wantPath)
			}
			if ct := got[0].header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			if auth := got[0].header.Get("Authorization"); auth != "Bearer s3cret" {
				t.Errorf("Authorization = %q, want the configured header", auth)
			}
			if names := spanNames(got); !reflect.DeepEqual(names, []string{"proxy.request"}) {
				t.Errorf("spans = %q, want [proxy.request]", names)
			}
			attrs := resourceAttributes(got)
			for k, want := range map[string]string{
				"service.name":           tt.wantService,
				"service.version":        version.Version,
				"service.instance.id":    "node-1",
				"deployment.environment": "test",
				"telemetry.sdk.language": "go",
			} {
				if attrs[k] != want {
					t.Errorf("resource %s = %q, want %q", k, attrs[k], want)
				}
			}
		})
	}
}

func TestSetupExportsOTLPGRPC(t *testing.T) {
	t.Parallel()
	col, url := newGRPCCollector(t)
	tel := setup(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": url,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-tenant=t1",
	})
	if tel.Endpoint() != url {
		t.Errorf("Endpoint() = %q, want %q", tel.Endpoint(), url)
	}

	emit(tel.TracerProvider(), "sync.apply")
	shutdown(t, tel)

	got := col.received(t)
	if names := spanNames(got); !reflect.DeepEqual(names, []string{"sync.apply"}) {
		t.Fatalf("spans = %q, want [sync.apply]", names)
	}
	if tenant := got[0].header.Get("x-tenant"); tenant != "t1" {
		t.Errorf("x-tenant metadata = %q, want t1", tenant)
	}
	if name := resourceAttributes(got)["service.name"]; name != "test-svc" {
		t.Errorf("service.name = %q, want test-svc", name)
	}
}

func TestSetupInvalidEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"bad protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http"}},
		{"bad exporter", map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}},
		{"bad endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tel, err := telemetry.Setup(t.Context(), "test-svc", env(tt.vars))
			if !errors.Is(err, telemetry.ErrInvalidEnv) {
				t.Fatalf("Setup error = %v, want ErrInvalidEnv", err)
			}
			if tel != nil {
				t.Error("Setup returned a Telemetry with its error")
			}
		})
	}
}

func TestShutdownTwice(t *testing.T) {
	t.Parallel()
	for _, export := range []bool{false, true} {
		name := "no export"
		if export {
			name = "export"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			col, url := newHTTPCollector(t)
			vars := map[string]string{}
			if export {
				vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
			}
			tel, err := telemetry.Setup(t.Context(), "test-svc", env(vars))
			if err != nil {
				t.Fatal(err)
			}
			emit(tel.TracerProvider(), "op")
			shutdown(t, tel)
			shutdown(t, tel)
			emit(tel.TracerProvider(), "after-shutdown")
			shutdown(t, tel)

			want := 0
			if export {
				want = 1
			}
			if got := spanNames(col.received(t)); len(got) != want {
				t.Errorf("collector received spans %q, want %d", got, want)
			}
		})
	}
}

func TestShutdownHonoursDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // a collector that never answers in time
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	tel, err := telemetry.Setup(t.Context(), "test-svc", env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	emit(tel.TracerProvider(), "op")

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = tel.Shutdown(ctx)
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Shutdown took %v with a 200ms deadline", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown error = %v, want DeadlineExceeded", err)
	}
	if err2 := tel.Shutdown(t.Context()); !errors.Is(err2, context.DeadlineExceeded) {
		t.Errorf("second Shutdown error = %v, want the first call's", err2)
	}
}

func TestSetupForwardsIncomingContextWithoutExporter(t *testing.T) {
	t.Parallel()
	tel := setup(t, nil)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

	ctx := telemetry.Extract(t.Context(), map[string]string{"traceparent": traceparent})
	ctx, span := tel.TracerProvider().Tracer("t").Start(ctx, "proxy.request", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()

	if got := telemetry.Inject(ctx)["traceparent"]; got != traceparent {
		t.Errorf("forwarded traceparent = %q, want %q", got, traceparent)
	}
}

// TestSetupInstallsGlobals is not parallel: it reads the global provider,
// which the other tests' Setup calls replace.
func TestSetupInstallsGlobals(t *testing.T) {
	col, url := newHTTPCollector(t)
	tel := setup(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url})
	if otel.GetTracerProvider() != tel.TracerProvider() {
		t.Fatal("global TracerProvider is not the one Setup returned")
	}
	fields := otel.GetTextMapPropagator().Fields()
	for _, want := range []string{"traceparent", "tracestate", "baggage"} {
		if !strings.Contains(strings.Join(fields, ","), want) {
			t.Errorf("global propagator fields %q lack %q", fields, want)
		}
	}

	emit(otel.GetTracerProvider(), "global.span")
	shutdown(t, tel)
	if names := spanNames(col.received(t)); !reflect.DeepEqual(names, []string{"global.span"}) {
		t.Errorf("spans = %q, want [global.span]", names)
	}
}

func TestEndpointRedactsPassword(t *testing.T) {
	t.Parallel()
	endpoint := url.URL{Scheme: "http", User: url.UserPassword("user", "s3cret"), Host: "127.0.0.1:1", Path: "/v1/traces"}
	tel := setup(t, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint.String()})
	if got, want := tel.Endpoint(), endpoint.Redacted(); got != want || strings.Contains(got, "s3cret") {
		t.Errorf("Endpoint() = %q, want %q", got, want)
	}
}
