package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/telemetry"
)

// newRecorder returns a provider recording spans in memory. Setup (with
// nothing to export) installs the global propagator Inject and Extract use.
func newRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	setup(t, nil)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

func TestInjectExtractRoundTrip(t *testing.T) {
	t.Parallel()
	tp, exp := newRecorder(t)

	member, err := baggage.NewMember("tenant", "t1")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(t.Context(), bag)
	ctx, parent := tp.Tracer("admin").Start(ctx, "admin.request")
	carrier := telemetry.Inject(ctx)
	parent.End()

	for _, k := range []string{"traceparent", "baggage"} {
		if carrier[k] == "" {
			t.Errorf("carrier lacks %q: %v", k, carrier)
		}
	}

	remote := telemetry.Extract(context.Background(), carrier)
	sc := trace.SpanContextFromContext(remote)
	if !sc.Equal(parent.SpanContext().WithRemote(true)) {
		t.Errorf("extracted span context = %v, want %v (remote)", sc, parent.SpanContext())
	}
	if got := baggage.FromContext(remote).Member("tenant").Value(); got != "t1" {
		t.Errorf("extracted baggage tenant = %q, want t1", got)
	}

	_, child := tp.Tracer("hub").Start(remote, "hub.push")
	child.End()
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2", len(spans))
	}
	if got := spans[1]; got.Parent.SpanID() != parent.SpanContext().SpanID() ||
		got.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("child span %s: parent %v, want a child of %v", got.Name, got.Parent, parent.SpanContext())
	}
}

func TestInjectEmpty(t *testing.T) {
	t.Parallel()
	newRecorder(t)
	carrier := telemetry.Inject(t.Context())
	if carrier == nil || len(carrier) != 0 {
		t.Errorf("Inject without a span = %#v, want an empty map", carrier)
	}
}

func TestExtractLeavesContextWithoutCarrier(t *testing.T) {
	t.Parallel()
	tp, _ := newRecorder(t)
	ctx, span := tp.Tracer("t").Start(t.Context(), "local")
	defer span.End()

	for name, carrier := range map[string]map[string]string{
		"nil":       nil,
		"empty":     {},
		"malformed": {"traceparent": "00-zz-yy-01"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := trace.SpanContextFromContext(telemetry.Extract(ctx, carrier))
			if !got.Equal(span.SpanContext()) {
				t.Errorf("Extract changed the span context to %v", got)
			}
		})
	}
}

func TestLinkFrom(t *testing.T) {
	t.Parallel()
	tp, exp := newRecorder(t)

	ctx, revision := tp.Tracer("admin").Start(t.Context(), "admin.request")
	carrier := telemetry.Inject(ctx)
	revision.End()

	tests := []struct {
		name      string
		carrier   map[string]string
		wantLinks int
	}{
		{"carrier from a span", carrier, 1},
		{"empty carrier", map[string]string{}, 0},
		{"nil carrier", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			link := telemetry.LinkFrom(tt.carrier)
			if tt.wantLinks == 1 && !link.SpanContext.Equal(revision.SpanContext().WithRemote(true)) {
				t.Errorf("link span context = %v, want %v", link.SpanContext, revision.SpanContext())
			}
			// A new trace that follows from the linked one.
			_, apply := tp.Tracer("dp").Start(context.Background(), "dp.apply "+tt.name, trace.WithLinks(link))
			apply.End()
			var got []sdktrace.Link
			for _, s := range exp.GetSpans() {
				if s.Name == "dp.apply "+tt.name {
					got = s.Links
					if s.SpanContext.TraceID() == revision.SpanContext().TraceID() {
						t.Error("linked span joined the revision's trace, want a new trace")
					}
				}
			}
			if len(got) != tt.wantLinks {
				t.Fatalf("span has %d links, want %d", len(got), tt.wantLinks)
			}
			if tt.wantLinks == 1 && got[0].SpanContext.SpanID() != revision.SpanContext().SpanID() {
				t.Errorf("link points at span %v, want %v", got[0].SpanContext.SpanID(), revision.SpanContext().SpanID())
			}
		})
	}
}
