package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes a client span for every query (OpenTelemetry database
// semantic conventions). Recording never fails a query.
type tracer struct{}

var _ pgx.QueryTracer = tracer{}

func (tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op, _, _ := strings.Cut(strings.TrimSpace(data.SQL), " ")
	ctx, _ = otel.Tracer("gatehouse.dev/shared/store").Start(ctx, "db "+strings.ToUpper(op),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.operation.name", strings.ToUpper(op)),
			attribute.String("db.query.text", data.SQL),
		))
	return ctx
}

func (tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if data.Err != nil {
		span.RecordError(data.Err)
		span.SetStatus(codes.Error, data.Err.Error())
	}
	span.End()
}
