package opentelemetry

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/version"
)

// tracerName is the instrumentation scope of the exported spans.
const tracerName = "gatehouse.dev/dataplane/internal/plugins/opentelemetry"

// exportSettings identify one exporter: every instance with the same
// settings shares it (and its batch queue and connections).
type exportSettings struct {
	Endpoint     string            `json:"endpoint"`
	Headers      map[string]string `json:"headers"`
	Resource     map[string]string `json:"resource"`
	BatchSize    int               `json:"batch_size"`
	BatchDelay   time.Duration     `json:"batch_delay"`
	QueueSize    int               `json:"queue_size"`
	RetryInitial time.Duration     `json:"retry_initial"`
	RetryMax     time.Duration     `json:"retry_max"`
	RetryElapsed time.Duration     `json:"retry_elapsed"`
	Connect      time.Duration     `json:"connect"`
	Send         time.Duration     `json:"send"`
	Read         time.Duration     `json:"read"`
}

// key is the Env.Shared key of the exporter.
func (s exportSettings) key() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Strings, maps of strings and numbers only: it cannot fail.
		panic(err)
	}
	return "opentelemetry:exporter:" + string(b)
}

// exporter sends one endpoint's spans: an SDK TracerProvider with an
// OTLP/HTTP exporter behind a batch processor, whose span ids come from
// the plugin (fixedIDs), so the exported spans are the ones the upstream
// was told about. It lives as long as the data plane.
type exporter struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	err    error
}

// newExporter builds the exporter of s. It does not connect.
func newExporter(s exportSettings) *exporter {
	timeout := s.Connect + s.Send + s.Read
	dialer := &net.Dialer{Timeout: s.Connect}
	client := &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(s.Endpoint),
		otlptracehttp.WithHTTPClient(client),
		otlptracehttp.WithTimeout(timeout),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled:         s.RetryElapsed > 0,
			InitialInterval: s.RetryInitial,
			MaxInterval:     s.RetryMax,
			MaxElapsedTime:  s.RetryElapsed,
		}),
	}
	if len(s.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(s.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return &exporter{err: fmt.Errorf("create otlp exporter: %w", err)}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(fixedIDs{}),
		sdktrace.WithResource(newResource(s.Resource)),
		sdktrace.WithBatcher(exp,
			sdktrace.WithMaxExportBatchSize(s.BatchSize),
			sdktrace.WithBatchTimeout(s.BatchDelay),
			sdktrace.WithMaxQueueSize(s.QueueSize),
			sdktrace.WithExportTimeout(timeout),
		),
	)
	return &exporter{tp: tp, tracer: tp.Tracer(tracerName, trace.WithInstrumentationVersion(version.Version))}
}

// newResource is Kong's resource: service.name "kong" and the version,
// then config.resource_attributes, which win.
func newResource(extra map[string]string) *resource.Resource {
	attrs := []attribute.KeyValue{
		attribute.String("service.name", "kong"),
		attribute.String("service.version", version.KongLevel),
		attribute.String("gatehouse.version", version.Version),
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		attrs = append(attrs, attribute.String(k, extra[k]))
	}
	return resource.NewSchemaless(attrs...)
}

// idsKey carries the ids of the span being started.
type idsKey struct{}

type spanIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

// withIDs returns ctx asking fixedIDs for these ids.
func withIDs(ctx context.Context, t trace.TraceID, s trace.SpanID) context.Context {
	return context.WithValue(ctx, idsKey{}, spanIDs{t, s})
}

// fixedIDs is an sdktrace.IDGenerator handing out the ids withIDs put in
// the context (random ones otherwise).
type fixedIDs struct{}

func (fixedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if v, ok := ctx.Value(idsKey{}).(spanIDs); ok {
		return v.trace, v.span
	}
	return randomTraceID(), randomSpanID()
}

func (fixedIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if v, ok := ctx.Value(idsKey{}).(spanIDs); ok {
		return v.span
	}
	return randomSpanID()
}

// randomTraceID returns a valid random trace id (not for secrets).
func randomTraceID() trace.TraceID {
	var t trace.TraceID
	for !t.IsValid() {
		binary.BigEndian.PutUint64(t[:8], rand.Uint64()) //nolint:gosec // G404: trace ids are not secrets (the SDK's are math/rand too)
		binary.BigEndian.PutUint64(t[8:], rand.Uint64()) //nolint:gosec // G404: as above
	}
	return t
}

// randomSpanID returns a valid random span id.
func randomSpanID() trace.SpanID {
	var s trace.SpanID
	for !s.IsValid() {
		binary.BigEndian.PutUint64(s[:], rand.Uint64()) //nolint:gosec // G404: span ids are not secrets
	}
	return s
}
