package telemetry

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Telemetry is the tracing set up by Setup. Its methods are safe for
// concurrent use.
type Telemetry struct {
	provider trace.TracerProvider
	// sdk is the provider when spans are exported, nil otherwise.
	sdk      *sdktrace.TracerProvider
	endpoint string

	shutdownOnce sync.Once
	shutdownErr  error
}

// Option configures Setup.
type Option func(*options)

type options struct {
	getenv     func(string) string
	instanceID string
}

// WithGetenv makes Setup read the OTEL_* variables listed in the package
// documentation through getenv instead of os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) { o.getenv = getenv }
}

// WithInstanceID sets the service.instance.id resource attribute, such as a
// data plane's node ID. Without it the attribute is absent.
func WithInstanceID(id string) Option {
	return func(o *options) { o.instanceID = id }
}

// Setup configures tracing for the service serviceName from the environment
// (see the package documentation) and installs it as the global
// TracerProvider, with the W3C TraceContext and Baggage propagators as the
// global propagator. Call it once per process, before creating tracers.
//
// When nothing is to be exported, Setup installs a no-op TracerProvider: its
// spans record nothing but carry their parent's span context, so incoming
// trace context is still forwarded by Inject and HTTP instrumentation.
//
// Setup returns an error wrapping ErrInvalidEnv when a variable holds a
// value it does not accept; on any error it changes no global. It does not
// contact the collector: an unreachable collector shows up later as export
// errors, sent to the OpenTelemetry error handler (see otel.SetErrorHandler;
// by default they are logged to stderr), never to the code that records
// spans. ctx bounds the set-up only.
//
// The caller must call Shutdown on the result to flush buffered spans.
func Setup(ctx context.Context, serviceName string, opts ...Option) (*Telemetry, error) {
	o := options{getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := readSettings(o.getenv, serviceName)
	if err != nil {
		return nil, err
	}

	t := &Telemetry{provider: noop.NewTracerProvider()}
	if s.export {
		res, err := newResource(ctx, s, o.instanceID)
		if err != nil {
			return nil, err
		}
		exp, err := newExporter(ctx, s)
		if err != nil {
			return nil, err
		}
		t.sdk = sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(exp),
			sdktrace.WithResource(res),
		)
		t.provider = t.sdk
		t.endpoint = s.endpoint.Redacted()
	}

	otel.SetTracerProvider(t.provider)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{},
		propagation.Baggage{},
	))
	return t, nil
}

// TracerProvider returns the provider Setup installed as the global one.
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	return t.provider
}

// Endpoint returns the URL spans are exported to, for start-up logs, or ""
// when nothing is exported. For gRPC it holds only the scheme and host. A
// password in the URL is replaced by "xxxxx".
func (t *Telemetry) Endpoint() string {
	return t.endpoint
}

// Shutdown flushes the spans not yet exported and stops the exporter. It
// returns when done or when ctx is done, whichever comes first, and then
// reports ctx's error; spans still buffered are lost. Spans started after
// Shutdown are not exported.
//
// Shutdown may be called more than once: later calls wait for the first to
// finish and return its result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		if t.sdk != nil {
			if err := t.sdk.Shutdown(ctx); err != nil {
				t.shutdownErr = fmt.Errorf("shut down tracing: %w", err)
			}
		}
	})
	return t.shutdownErr
}
