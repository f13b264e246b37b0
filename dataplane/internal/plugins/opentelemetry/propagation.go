package opentelemetry

import (
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
)

// Propagation formats (Kong's kong.observability.tracing.propagation).
const (
	fmtW3C      = "w3c"
	fmtB3       = "b3"
	fmtB3Single = "b3-single"
	fmtJaeger   = "jaeger"
	fmtOT       = "ot"
	fmtPreserve = "preserve"
)

// supported lists the formats Gatehouse extracts and injects; datadog,
// aws, gcp and instana are accepted by the schema and skipped.
var supported = map[string]bool{fmtW3C: true, fmtB3: true, fmtB3Single: true, fmtJaeger: true, fmtOT: true}

// legacyExtract is the extraction order Kong uses for header_type.
var legacyExtract = []string{"b3", "w3c", "jaeger", "ot", "datadog", "aws", "gcp"}

// propagation is the resolved propagation configuration.
type propagation struct {
	extract       []string
	clear         []string
	inject        []string
	defaultFormat string
}

// extracted is an incoming trace context (Kong's extracted_ctx).
type extracted struct {
	from string // the format it came from; "" when nothing was found
	// traceID is set when hasTrace; traceSize is its size as received
	// (8 or 16 bytes).
	traceID   trace.TraceID
	traceSize int
	hasTrace  bool
	// spanID is the sender's span; parentID its parent (b3, jaeger).
	spanID, parentID trace.SpanID
	// sampled is the sender's decision, when it made one.
	sampled    *bool
	flags      string // b3's debug flag ("1")
	singleB3   bool   // b3 came in the single-header form
	hasContext bool   // something was extracted (Kong's non-empty table)
}

// extract reads the first format of formats that yields a context.
func extract(r pdk.Request, formats []string) extracted {
	for _, f := range formats {
		var ex extracted
		switch f {
		case fmtW3C:
			ex = extractW3C(r)
		case fmtB3:
			ex = extractB3(r)
		case fmtJaeger:
			ex = extractJaeger(r)
		case fmtOT:
			ex = extractOT(r)
		default:
			continue
		}
		if ex.hasContext {
			ex.from = f
			return ex
		}
	}
	return extracted{}
}

// isHex reports whether s is non-empty lower- or upper-case hex.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// allZero reports whether hex s is all zeros.
func allZero(s string) bool { return strings.Trim(s, "0") == "" }

// decodeID decodes hex into the last bytes of dst (Kong pads IDs on the
// left with zeros, and keeps the last bytes of longer ones).
func decodeID(dst []byte, s string) bool {
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return false
	}
	if len(b) > len(dst) {
		b = b[len(b)-len(dst):]
	}
	copy(dst[len(dst)-len(b):], b)
	return true
}

func (ex *extracted) setTrace(s string) {
	if decodeID(ex.traceID[:], s) {
		ex.hasTrace = true
		ex.traceSize = (len(s) + 1) / 2
	}
}

// extractW3C reads traceparent (version 00 only).
func extractW3C(r pdk.Request) extracted {
	tp := r.Header("traceparent")
	if tp == "" {
		return extracted{}
	}
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || !isHex(parts[0]) || !isHex(parts[1]) || !isHex(parts[2]) || !isHex(parts[3]) {
		return extracted{}
	}
	version, traceID, parent, flags := parts[0], parts[1], parts[2], parts[3]
	if version != "00" || len(traceID) != 32 || allZero(traceID) || len(parent) != 16 || allZero(parent) || len(flags) != 2 {
		return extracted{}
	}
	ex := extracted{hasContext: true}
	ex.setTrace(traceID)
	decodeID(ex.spanID[:], parent)
	var f [1]byte
	decodeID(f[:], flags)
	ex.sampled = new(f[0]&1 == 1)
	return ex
}

// extractB3 reads the single b3 header (or a b3= entry of tracestate),
// then the X-B3-* headers, as Kong's b3 extractor does.
func extractB3(r pdk.Request) extracted {
	names := []string{"b3", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"}
	present := false
	for _, n := range names {
		if len(r.HeaderValues(n)) > 0 {
			present = true
			break
		}
	}
	if !present {
		return extracted{}
	}
	ex := extracted{hasContext: true}
	var traceID, spanID, parentID string
	if single, ok := b3Single(r); ok {
		ex.singleB3 = true
		if s := singleB3Sampled(single); s != nil {
			ex.sampled = s.sampled
			ex.flags = s.flags
			if !s.invalid {
				traceID, spanID, parentID = s.traceID, s.spanID, s.parentID
			}
		}
	}
	// Multi-header form.
	var sampled *bool
	switch r.Header("x-b3-sampled") {
	case "1", "true":
		sampled = new(true)
	case "0", "false":
		sampled = new(false)
	}
	flags := r.Header("x-b3-flags")
	if flags == "1" {
		sampled = new(true)
	}
	if ex.sampled == nil {
		ex.sampled = sampled
	}
	if ex.flags == "" {
		ex.flags = flags
	}
	mt, ms, mp := r.Header("x-b3-traceid"), r.Header("x-b3-spanid"), r.Header("x-b3-parentspanid")
	invalid := (mt != "" && ((len(mt) != 16 && len(mt) != 32) || !isHex(mt))) ||
		(ms != "" && (len(ms) != 16 || !isHex(ms))) ||
		(mp != "" && (len(mp) != 16 || !isHex(mp)))
	if !invalid {
		traceID = firstNonEmpty(traceID, mt)
		spanID = firstNonEmpty(spanID, ms)
		parentID = firstNonEmpty(parentID, mp)
	}
	if traceID != "" {
		ex.setTrace(traceID)
		if spanID != "" {
			decodeID(ex.spanID[:], spanID)
		}
		if parentID != "" {
			decodeID(ex.parentID[:], parentID)
		}
	}
	return ex
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// b3Single returns the b3 header, or the value of a "b3=" tracestate.
func b3Single(r pdk.Request) (string, bool) {
	if v := r.Header("b3"); v != "" {
		return v, true
	}
	for _, ts := range r.HeaderValues("tracestate") {
		if v, ok := strings.CutPrefix(ts, "b3="); ok && v != "" {
			return v, true
		}
	}
	return "", false
}

type b3SingleCtx struct {
	traceID, spanID, parentID string
	sampled                   *bool
	flags                     string
	invalid                   bool
}

// singleB3Sampled parses "traceid-spanid[-sampled[-parentid]]" or a bare
// sampling state ("1", "d", "0").
func singleB3Sampled(v string) *b3SingleCtx {
	switch v {
	case "1":
		return &b3SingleCtx{sampled: new(true)}
	case "d":
		return &b3SingleCtx{sampled: new(true), flags: "1"}
	case "0":
		return &b3SingleCtx{sampled: new(false)}
	}
	parts := strings.Split(v, "-")
	c := &b3SingleCtx{}
	if len(parts) < 2 || len(parts) > 4 {
		c.invalid = true
		return c
	}
	traceID, spanID := parts[0], parts[1]
	sampled, parentID := "", ""
	if len(parts) >= 3 {
		sampled = parts[2]
	}
	if len(parts) == 4 {
		parentID = parts[3]
	}
	// Kong's pattern lets the sampled field be omitted before a parent.
	if len(parts) == 3 && len(sampled) == 16 {
		sampled, parentID = "", parts[2]
	}
	if !isHex(traceID) || (len(traceID) != 16 && len(traceID) != 32) || len(spanID) != 16 || !isHex(spanID) ||
		(parentID != "" && (len(parentID) != 16 || !isHex(parentID))) ||
		(sampled != "" && sampled != "0" && sampled != "1" && sampled != "d") {
		c.invalid = true
		return c
	}
	c.traceID, c.spanID, c.parentID = traceID, spanID, parentID
	switch sampled {
	case "1":
		c.sampled = new(true)
	case "d":
		c.sampled, c.flags = new(true), "1"
	case "0":
		c.sampled = new(false)
	}
	return c
}

// extractJaeger reads uber-trace-id "trace:span:parent:flags".
func extractJaeger(r pdk.Request) extracted {
	v := r.Header("uber-trace-id")
	if v == "" {
		return extracted{}
	}
	parts := strings.Split(v, ":")
	if len(parts) != 4 || !isHex(parts[0]) || !isHex(parts[1]) || !isHex(parts[2]) || !isHex(parts[3]) {
		return extracted{}
	}
	traceID, spanID, parentID, flags := parts[0], parts[1], parts[2], parts[3]
	if len(traceID) > 32 || allZero(traceID) || len(spanID) > 16 || allZero(spanID) || (len(flags) != 1 && len(flags) != 2) {
		return extracted{}
	}
	ex := extracted{hasContext: true}
	ex.setTrace(traceID)
	decodeID(ex.spanID[:], spanID)
	if len(parentID) <= 16 {
		decodeID(ex.parentID[:], parentID)
	}
	var f [1]byte
	decodeID(f[:], flags)
	ex.sampled = new(f[0]&1 == 1)
	return ex
}

// extractOT reads the ot-tracer-* headers.
func extractOT(r pdk.Request) extracted {
	s, t, sp := r.Header("ot-tracer-sampled"), r.Header("ot-tracer-traceid"), r.Header("ot-tracer-spanid")
	if len(r.HeaderValues("ot-tracer-sampled")) == 0 && len(r.HeaderValues("ot-tracer-traceid")) == 0 && len(r.HeaderValues("ot-tracer-spanid")) == 0 {
		return extracted{}
	}
	ex := extracted{hasContext: true}
	switch s {
	case "1", "true":
		ex.sampled = new(true)
	case "0", "false":
		ex.sampled = new(false)
	}
	invalid := (t != "" && ((len(t) != 16 && len(t) != 32) || !isHex(t))) || (sp != "" && (len(sp) != 16 || !isHex(sp)))
	if t != "" && !invalid {
		ex.setTrace(t)
		if sp != "" {
			decodeID(ex.spanID[:], sp)
		}
	}
	return ex
}

// outgoing is the context injected upstream: the request's trace, the
// upstream call's span (Kong's balancer span) and its parent (the
// request's span).
type outgoing struct {
	traceID   trace.TraceID
	traceSize int // the incoming trace id's size, 0 when none
	spanID    trace.SpanID
	parentID  trace.SpanID
	sampled   bool
	flags     string
}

// traceHex returns the trace id in one of the sizes a format allows (the
// incoming size when allowed, else the first).
func (o *outgoing) traceHex(allowed ...int) string {
	size := allowed[0]
	for _, a := range allowed {
		if a == o.traceSize {
			size = a
		}
	}
	return hex.EncodeToString(o.traceID[16-size:])
}

func sampledFlag(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// inject sets the headers of format f on the upstream request.
func inject(up pdk.Upstream, f string, o *outgoing) {
	span, parent := o.spanID.String(), o.parentID.String()
	switch f {
	case fmtW3C:
		up.SetHeader("traceparent", "00-"+o.traceHex(16)+"-"+span+"-"+sampledFlag(o.sampled, "01", "00"))
	case fmtB3:
		up.SetHeader("x-b3-traceid", o.traceHex(16, 8))
		up.SetHeader("x-b3-spanid", span)
		up.SetHeader("x-b3-parentspanid", parent)
		if o.flags != "" {
			up.SetHeader("x-b3-flags", o.flags)
		} else {
			up.SetHeader("x-b3-sampled", sampledFlag(o.sampled, "1", "0"))
		}
	case fmtB3Single:
		sampled := sampledFlag(o.sampled, "1", "0")
		if o.flags == "1" {
			sampled = "d"
		}
		up.SetHeader("b3", o.traceHex(16, 8)+"-"+span+"-"+sampled+"-"+parent)
	case fmtJaeger:
		up.SetHeader("uber-trace-id", o.traceHex(16, 8)+":"+span+":"+parent+":"+sampledFlag(o.sampled, "01", "00"))
	case fmtOT:
		up.SetHeader("ot-tracer-traceid", o.traceHex(8, 16))
		up.SetHeader("ot-tracer-spanid", span)
		up.SetHeader("ot-tracer-sampled", sampledFlag(o.sampled, "1", "0"))
	}
}

// injectFormat resolves "preserve": the format the context came from,
// else the default (b3 in its single-header form when it came so).
func injectFormat(f string, ex *extracted, defaultFormat string) string {
	if f != fmtPreserve {
		return f
	}
	f = ex.from
	if f == "" {
		f = defaultFormat
	}
	if f == "" {
		f = fmtW3C
	}
	if f == fmtB3 && ex.singleB3 {
		f = fmtB3Single
	}
	return f
}
