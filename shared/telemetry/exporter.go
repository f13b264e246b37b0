package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newExporter builds the OTLP exporter s describes. Endpoint, headers and
// encoding are passed as options, which win over the process environment
// the exporters also read; the exporters still take their timeout,
// compression and TLS settings from there. Neither exporter connects here.
func newExporter(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch s.protocol {
	case protocolGRPC:
		exp, err = otlptracegrpc.New(ctx,
			otlptracegrpc.WithEndpointURL(s.endpoint.String()),
			otlptracegrpc.WithHeaders(s.headers),
		)
	default:
		encoding := otlptracehttp.EncodingProtobuf
		if s.protocol == protocolHTTPJSON {
			encoding = otlptracehttp.EncodingJSON
		}
		exp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(s.endpoint.String()),
			otlptracehttp.WithHeaders(s.headers),
			otlptracehttp.WithEncoding(encoding),
		)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s exporter: %w", s.protocol, err)
	}
	return exp, nil
}
