package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Inject returns the trace context and baggage of ctx as a carrier
// (W3C "traceparent", "tracestate" and "baggage" keys), encoded by the
// global propagator, to store with a revision row or send in a protocol
// message. The map is never nil; it is empty when ctx carries neither a
// span context nor baggage, or before Setup has installed the propagator.
// The caller owns the map.
func Inject(ctx context.Context) map[string]string {
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	return carrier
}

// Extract returns a copy of ctx carrying the remote span context and
// baggage that Inject put in carrier, decoded by the global propagator.
// Spans started from the result are children of the remote span. A nil,
// empty or malformed carrier leaves ctx's trace context as it was.
func Extract(ctx context.Context, carrier map[string]string) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(carrier))
}

// LinkFrom returns a link to the remote span described by carrier, for a
// span that follows from it without being its child: sync-hub's push and a
// data plane's apply link to the Admin API request that made the revision.
// Pass it with trace.WithLinks when starting the span. When carrier holds
// no valid span context the link's SpanContext is invalid and the SDK
// drops it.
func LinkFrom(carrier map[string]string) trace.Link {
	ctx := Extract(context.Background(), carrier)
	return trace.Link{SpanContext: trace.SpanContextFromContext(ctx)}
}
