// Package opentelemetry is Kong's opentelemetry plugin: tracing settings
// for the routes and services it is attached to, on top of the data
// plane's own OpenTelemetry set-up (shared/telemetry, OTEL_* variables).
//
// In the access phase the plugin reads the incoming trace context in the
// configured formats (propagation.extract, or Kong's legacy header_type),
// decides whether its scope samples the request (the incoming sampled
// flag; else sampling_rate applied to the trace id; else the data
// plane's own decision when it traces the request, else yes), clears
// propagation.clear and injects the context upstream in the
// propagation.inject formats ("preserve": the incoming one, else
// default_format). In the header-filter phase it adds the trace id
// header (http_response_header_for_traceid). In the log phase it exports
// the request, when sampled, to traces_endpoint over OTLP/HTTP, as Kong's
// spans: "kong" (server; Kong's http.* and net.peer.ip attributes,
// http.status_code, http.route) and, when the service was called,
// "kong.balancer" (client), whose id is the one injected upstream, so
// the service's spans hang below it. Exporters are shared per endpoint
// and settings (Env.Shared) and batch with the queue settings; the
// resource is service.name "kong", service.version and
// resource_attributes.
//
// The trace id is the incoming one when one was extracted, else the data
// plane's trace id for the request, else a new one. The data plane's own
// spans (routing, each plugin, the upstream call) go to its OTEL_*
// exporter, not to traces_endpoint; when the data plane traces a request
// it forwards its own W3C traceparent (its upstream call's span), and
// the plugin injects the other formats only.
//
// Formats: w3c, b3, b3-single, jaeger and ot are extracted and injected;
// datadog, aws, gcp and instana are skipped (logged once per instance).
// logs_endpoint is not served.
package opentelemetry

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "opentelemetry"

// stateKey is where Access leaves the request's tracing state.
const stateKey = "opentelemetry.state"

// Factory makes opentelemetry instances.
type Factory struct{}

// Name returns "opentelemetry".
func (Factory) Name() string { return Name }

// New reads one plugin entity's configuration and finds (or makes) the
// exporter of its endpoint.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	in := &instance{
		env:         cfg.Env,
		prop:        readPropagation(c),
		traceHeader: conf.String(c, "http_response_header_for_traceid"),
	}
	if r, ok := conf.Float(c, "sampling_rate"); ok {
		in.rate, in.hasRate = r, true
	}
	for _, list := range [][]string{in.prop.extract, in.prop.inject, {in.prop.defaultFormat}} {
		for _, f := range list {
			if f != fmtPreserve && f != "" && !supported[f] {
				in.unsupported = append(in.unsupported, f)
			}
		}
	}
	if cfg.Env != nil && len(in.unsupported) > 0 {
		cfg.Env.Logger().Warn("opentelemetry: propagation formats not supported by Gatehouse are skipped",
			"plugin_id", cfg.ID, "formats", in.unsupported)
	}
	if endpoint := conf.String(c, "traces_endpoint"); endpoint != "" {
		s := readExport(c, endpoint)
		create := func() any { return newExporter(s) }
		var v any
		if cfg.Env != nil {
			v = cfg.Env.Shared(s.key(), create)
		} else {
			v = create()
		}
		exp, _ := v.(*exporter)
		if exp == nil {
			return nil, fmt.Errorf("traces_endpoint %s: no exporter", endpoint)
		}
		if exp.err != nil {
			return nil, fmt.Errorf("traces_endpoint: %w", exp.err)
		}
		in.exp = exp
	}
	return in, nil
}

// readPropagation is Kong's get_plugin_params: the propagation record as
// it is when any of extract, clear or inject is set, else the legacy
// header_type translated.
func readPropagation(c map[string]any) propagation {
	rec := conf.Record(c, "propagation")
	p := propagation{
		extract:       conf.Strings(rec, "extract"),
		clear:         conf.Strings(rec, "clear"),
		inject:        conf.Strings(rec, "inject"),
		defaultFormat: conf.String(rec, "default_format"),
	}
	if p.defaultFormat == "" {
		p.defaultFormat = fmtW3C
	}
	if rec["extract"] != nil || rec["clear"] != nil || rec["inject"] != nil {
		return p
	}
	switch ht := conf.String(c, "header_type"); ht {
	case "":
	case "preserve":
		p.extract, p.inject = legacyExtract, []string{fmtPreserve}
	case "ignore":
		p.inject = []string{p.defaultFormat}
	default:
		p.extract, p.inject = legacyExtract, []string{fmtPreserve, ht}
	}
	return p
}

// readExport reads the exporter settings: endpoint, headers, resource
// attributes, Kong's queue (batch_span_count and batch_flush_delay, when
// set, win as in Kong) and timeouts.
func readExport(c map[string]any, endpoint string) exportSettings {
	q := conf.Record(c, "queue")
	seconds := func(m map[string]any, key string, def float64) time.Duration {
		f, ok := conf.Float(m, key)
		if !ok {
			f = def
		}
		return time.Duration(f * float64(time.Second))
	}
	millis := func(key string, def int64) time.Duration {
		n, ok := conf.Int(c, key)
		if !ok {
			n = def
		}
		return time.Duration(n) * time.Millisecond
	}
	integer := func(m map[string]any, key string, def int64) int {
		n, ok := conf.Int(m, key)
		if !ok || n <= 0 {
			n = def
		}
		return int(min(n, math.MaxInt32))
	}
	s := exportSettings{
		Endpoint:     endpoint,
		Headers:      conf.StringMap(c, "headers"),
		Resource:     conf.StringMap(c, "resource_attributes"),
		BatchSize:    integer(q, "max_batch_size", 200),
		BatchDelay:   seconds(q, "max_coalescing_delay", 1),
		QueueSize:    integer(q, "max_entries", 10000),
		RetryInitial: seconds(q, "initial_retry_delay", 0.01),
		RetryMax:     seconds(q, "max_retry_delay", 60),
		RetryElapsed: seconds(q, "max_retry_time", 60),
		Connect:      millis("connect_timeout", 1000),
		Send:         millis("send_timeout", 5000),
		Read:         millis("read_timeout", 5000),
	}
	if n, ok := conf.Int(c, "batch_span_count"); ok && n > 0 {
		s.BatchSize = int(min(n, math.MaxInt32))
	}
	if n, ok := conf.Int(c, "batch_flush_delay"); ok && n >= 0 {
		s.BatchDelay = time.Duration(n) * time.Second
	}
	if s.BatchDelay <= 0 {
		s.BatchDelay = time.Millisecond
	}
	if s.BatchSize > s.QueueSize {
		s.BatchSize = s.QueueSize
	}
	return s
}

// instance is one configured opentelemetry plugin.
type instance struct {
	env         pdk.Env
	prop        propagation
	rate        float64
	hasRate     bool
	traceHeader string
	exp         *exporter // nil without traces_endpoint
	unsupported []string
}

var (
	_ pdk.Accesser       = (*instance)(nil)
	_ pdk.HeaderFilterer = (*instance)(nil)
	_ pdk.Logger         = (*instance)(nil)
)

// state is one request's tracing as this plugin sees it.
type state struct {
	ex      extracted
	traceID trace.TraceID
	// rootID is the exported "kong" span, balancerID the upstream call's
	// span (the id injected upstream), parentID the incoming span.
	rootID, balancerID, parentID trace.SpanID
	sampled                      bool
}

// Access decides sampling, clears and injects the trace headers.
func (p *instance) Access(ctx pdk.Context) error {
	st := p.newState(ctx)
	ctx.Set(stateKey, st)
	up := ctx.Upstream()
	for _, h := range p.prop.clear {
		up.DelHeader(h)
	}
	out := &outgoing{
		traceID: st.traceID, spanID: st.balancerID, parentID: st.rootID,
		sampled: st.sampled, flags: st.ex.flags,
	}
	if st.ex.hasTrace {
		out.traceSize = st.ex.traceSize
	}
	// A data plane that traces the request writes its own traceparent
	// upstream (its upstream call's span); a second one would conflict.
	own := trace.SpanContextFromContext(ctx.Context())
	dataPlaneW3C := own.IsValid() && !own.IsRemote()
	for _, f := range p.prop.inject {
		f = injectFormat(f, &st.ex, p.prop.defaultFormat)
		if f == fmtW3C && dataPlaneW3C {
			continue
		}
		inject(up, f, out)
	}
	return nil
}

// HeaderFilter adds the trace id header.
func (p *instance) HeaderFilter(ctx pdk.Context) {
	if p.traceHeader == "" {
		return
	}
	st := p.state(ctx)
	ctx.Response().AddHeader(p.traceHeader, st.traceID.String())
}

// Log exports the request's spans when it is sampled.
func (p *instance) Log(ctx pdk.Context) {
	if p.exp == nil {
		return
	}
	st := p.state(ctx)
	if !st.sampled {
		return
	}
	p.export(ctx, st)
}

// state returns the request's state, made now when Access did not run
// (a request answered before this plugin's access phase).
func (p *instance) state(ctx pdk.Context) *state {
	if st, ok := ctx.Get(stateKey).(*state); ok {
		return st
	}
	st := p.newState(ctx)
	ctx.Set(stateKey, st)
	return st
}

// newState extracts the incoming context and decides sampling, as Kong's
// get_inject_ctx and get_sampling_decision do.
func (p *instance) newState(ctx pdk.Context) *state {
	st := &state{ex: extract(ctx.Request(), p.prop.extract), rootID: randomSpanID(), balancerID: randomSpanID()}
	own := trace.SpanContextFromContext(ctx.Context())
	switch {
	case st.ex.hasTrace && st.ex.traceID.IsValid():
		st.traceID = st.ex.traceID
	case own.IsValid():
		st.traceID = own.TraceID()
	default:
		st.traceID = randomTraceID()
	}
	if st.ex.hasTrace {
		if st.ex.spanID.IsValid() {
			st.parentID = st.ex.spanID
		} else {
			st.parentID = st.ex.parentID
		}
	}
	switch {
	case st.ex.sampled != nil:
		st.sampled = *st.ex.sampled
	case p.hasRate:
		st.sampled = ratio(st.traceID, p.rate)
	case own.IsValid() && !own.IsRemote():
		st.sampled = own.IsSampled()
	default:
		st.sampled = true
	}
	return st
}

// ratio is the trace-id ratio sampler (OpenTelemetry's: the low 63 bits
// of the trace id's last 8 bytes against the rate).
func ratio(id trace.TraceID, rate float64) bool {
	switch {
	case rate >= 1:
		return true
	case rate <= 0:
		return false
	}
	bound := uint64(rate * (1 << 63))
	return binary.BigEndian.Uint64(id[8:16])>>1 < bound
}
