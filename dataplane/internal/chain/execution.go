package chain

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
)

// tracerName is the instrumentation scope of the plugin spans.
const tracerName = "gatehouse.dev/dataplane/internal/chain"

// unexpected is Kong's message for a plugin that failed.
const unexpected = "An unexpected error occurred"

// requestContext names the embedded pdk.Context of spanContext, whose
// own Context method would clash with the field name "Context".
type requestContext = pdk.Context

// spanContext is the pdk.Context a plugin gets while a span of its own
// is recording: the request's context with that span.
type spanContext struct {
	requestContext
	ctx  context.Context
	span trace.Span
}

func (s *spanContext) Context() context.Context { return s.ctx }
func (s *spanContext) Span() trace.Span         { return s.span }

// access visits the plan's plugins in order, resolving each one's
// configuration at that moment (so the consumer an earlier plugin
// authenticated selects consumer-scoped configurations), and runs the
// access handlers until one answers the request. Every resolved instance
// is selected for the later phases, also after an answer, as Kong's
// plugins iterator collects them.
func (x *Execution) access(ctx pdk.Context) {
	p := x.plan
	if p == nil {
		p = emptyPlan
	}
	x.collected = true
	exited := ctx.Exited()
	for i := range p.slots {
		s := &p.slots[i]
		var e *entry
		if s.levels == nil {
			e = s.plain
		} else {
			e = s.resolve(ctx.Consumer())
		}
		if e == nil {
			continue
		}
		x.selected = append(x.selected, e)
		if exited || e.access == nil {
			continue
		}
		if err := x.runAccess(ctx, e); err != nil {
			ctx.Logger().Error("plugin failed", slog.String("plugin", e.name), slog.String("phase", "access"),
				slog.String("plugin_id", e.id), slog.String("error", err.Error()))
			ctx.Error(500, unexpected, nil)
		}
		exited = ctx.Exited()
	}
}

// collect selects without a consumer when the access phase did not run
// (a request that matched no route, or failed before it).
func (x *Execution) collect() {
	if x.collected {
		return
	}
	x.collected = true
	if x.plan == nil {
		return
	}
	for i := range x.plan.slots {
		if e := x.plan.slots[i].plain; e != nil {
			x.selected = append(x.selected, e)
		}
	}
}

func (x *Execution) runAccess(ctx pdk.Context, e *entry) (err error) {
	pctx, span := x.start(ctx, e, phaseAccess)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if span != nil {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}()
	return e.access.Access(pctx)
}

// start returns the context a plugin phase runs with: ctx itself, or,
// when the request's span records, ctx with a child span named as Kong
// names it (kong.access.plugin.key-auth), which the caller ends.
func (x *Execution) start(ctx pdk.Context, e *entry, phase int) (pdk.Context, trace.Span) {
	parent := ctx.Span()
	if parent == nil || !parent.IsRecording() {
		return ctx, nil
	}
	cctx, span := parent.TracerProvider().Tracer(tracerName).Start(ctx.Context(), e.spans[phase])
	x.wrap = spanContext{requestContext: ctx, ctx: cctx, span: span}
	return &x.wrap, span
}

// end ends a span start made, recording a recovered panic.
func (x *Execution) end(ctx pdk.Context, e *entry, phase int, span trace.Span, r any) {
	if r != nil {
		err := fmt.Errorf("panic: %v", r)
		ctx.Logger().Error("plugin failed", slog.String("plugin", e.name), slog.String("phase", phaseNames[phase]),
			slog.String("plugin_id", e.id), slog.String("error", err.Error()))
		if span != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}
	if span != nil {
		span.End()
	}
	x.wrap = spanContext{}
}

func (x *Execution) wantsBody(ctx pdk.Context) bool {
	x.collect()
	if x.plan == nil || !x.plan.body {
		return false
	}
	wanted := false
	x.wants = x.wants[:0]
	for _, e := range x.selected {
		w := e.body != nil && x.askBody(ctx, e)
		x.wants = append(x.wants, w)
		wanted = wanted || w
	}
	return wanted
}

func (x *Execution) askBody(ctx pdk.Context, e *entry) (w bool) {
	defer func() {
		if r := recover(); r != nil {
			x.end(ctx, e, phaseBodyFilter, nil, r)
			w = false
		}
	}()
	return e.body.WantsBody(ctx)
}

func (x *Execution) headerFilter(ctx pdk.Context) {
	x.collect()
	for _, e := range x.selected {
		if e.header != nil {
			x.runHeader(ctx, e)
		}
	}
}

func (x *Execution) runHeader(ctx pdk.Context, e *entry) {
	pctx, span := x.start(ctx, e, phaseHeaderFilter)
	defer func() { x.end(ctx, e, phaseHeaderFilter, span, recover()) }()
	e.header.HeaderFilter(pctx)
}

func (x *Execution) bodyFilter(ctx pdk.Context, body []byte) []byte {
	x.collect()
	if len(x.wants) != len(x.selected) && !x.wantsBody(ctx) {
		return body
	}
	for i, e := range x.selected {
		if x.wants[i] {
			body = x.runBody(ctx, e, body)
		}
	}
	return body
}

func (x *Execution) runBody(ctx pdk.Context, e *entry, body []byte) (out []byte) {
	pctx, span := x.start(ctx, e, phaseBodyFilter)
	defer func() {
		if r := recover(); r != nil {
			out = body
			x.end(ctx, e, phaseBodyFilter, span, r)
			return
		}
		x.end(ctx, e, phaseBodyFilter, span, nil)
	}()
	return e.body.BodyFilter(pctx, body)
}

func (x *Execution) logPhase(ctx pdk.Context) {
	x.collect()
	for _, e := range x.selected {
		if e.log != nil {
			x.runLog(ctx, e)
		}
	}
}

func (x *Execution) runLog(ctx pdk.Context, e *entry) {
	pctx, span := x.start(ctx, e, phaseLog)
	defer func() { x.end(ctx, e, phaseLog, span, recover()) }()
	e.log.Log(pctx)
}
