package opentelemetry

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk/pdktest"
)

const (
	traceHex  = "0af7651916cd43dd8448eb211c80319c"
	spanHex   = "b7ad6b7169203331"
	parentHex = "00f067aa0ba902b7"
)

func mustTrace(t *testing.T, s string) trace.TraceID {
	t.Helper()
	var id trace.TraceID
	if !decodeID(id[:], s) {
		t.Fatalf("bad trace id %s", s)
	}
	return id
}

func mustSpan(t *testing.T, s string) trace.SpanID {
	t.Helper()
	var id trace.SpanID
	if !decodeID(id[:], s) {
		t.Fatalf("bad span id %s", s)
	}
	return id
}

func TestExtract(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	all := []string{"b3", "w3c", "jaeger", "ot", "datadog", "aws", "gcp"}
	tests := []struct {
		name    string
		headers map[string]string
		formats []string
		from    string
		trace   string
		size    int
		span    string
		parent  string
		sampled *bool
		single  bool
		flags   string
	}{
		{"nothing", nil, all, "", "", 0, "", "", nil, false, ""},
		{"w3c", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-01"}, all, "w3c", traceHex, 16, spanHex, "", &yes, false, ""},
		{"w3c not sampled", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-00"}, all, "w3c", traceHex, 16, spanHex, "", &no, false, ""},
		{"w3c version 01 refused", map[string]string{"traceparent": "01-" + traceHex + "-" + spanHex + "-01"}, all, "", "", 0, "", "", nil, false, ""},
		{"w3c zero trace refused", map[string]string{"traceparent": "00-00000000000000000000000000000000-" + spanHex + "-01"}, all, "", "", 0, "", "", nil, false, ""},
		{"w3c short parent refused", map[string]string{"traceparent": "00-" + traceHex + "-b7ad6b71-01"}, all, "", "", 0, "", "", nil, false, ""},
		{
			"b3 multi",
			map[string]string{"X-B3-TraceId": traceHex, "X-B3-SpanId": spanHex, "X-B3-ParentSpanId": parentHex, "X-B3-Sampled": "1"},
			all,
			"b3", traceHex, 16, spanHex, parentHex, &yes, false, "",
		},
		{
			"b3 64-bit trace id",
			map[string]string{"X-B3-TraceId": "8448eb211c80319c", "X-B3-SpanId": spanHex, "X-B3-Sampled": "0"},
			all,
			"b3", "00000000000000008448eb211c80319c", 8, spanHex, "", &no, false, "",
		},
		{"b3 debug flag", map[string]string{"X-B3-TraceId": traceHex, "X-B3-SpanId": spanHex, "X-B3-Flags": "1"}, all, "b3", traceHex, 16, spanHex, "", &yes, false, "1"},
		{"b3 sampling only", map[string]string{"X-B3-Sampled": "true"}, all, "b3", "", 0, "", "", &yes, false, ""},
		{"b3 invalid ids ignored", map[string]string{"X-B3-TraceId": "xyz", "X-B3-SpanId": spanHex, "X-B3-Sampled": "1"}, all, "b3", "", 0, "", "", &yes, false, ""},
		{"b3 single", map[string]string{"b3": traceHex + "-" + spanHex + "-1-" + parentHex}, all, "b3", traceHex, 16, spanHex, parentHex, &yes, true, ""},
		{"b3 single debug", map[string]string{"b3": traceHex + "-" + spanHex + "-d"}, all, "b3", traceHex, 16, spanHex, "", &yes, true, "1"},
		{"b3 single deny", map[string]string{"b3": "0"}, all, "b3", "", 0, "", "", &no, true, ""},
		{"b3 in tracestate", map[string]string{"tracestate": "b3=" + traceHex + "-" + spanHex + "-0"}, all, "b3", traceHex, 16, spanHex, "", &no, true, ""},
		{"jaeger", map[string]string{"uber-trace-id": traceHex + ":" + spanHex + ":" + parentHex + ":1"}, all, "jaeger", traceHex, 16, spanHex, parentHex, &yes, false, ""},
		{"jaeger short ids", map[string]string{"uber-trace-id": "abc:def:0:0"}, all, "jaeger", "00000000000000000000000000000abc", 2, "0000000000000def", "", &no, false, ""},
		{"ot", map[string]string{"ot-tracer-traceid": "8448eb211c80319c", "ot-tracer-spanid": spanHex, "ot-tracer-sampled": "1"}, all, "ot", "00000000000000008448eb211c80319c", 8, spanHex, "", &yes, false, ""},
		{"b3 comes first", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-01", "X-B3-Sampled": "0"}, all, "b3", "", 0, "", "", &no, false, ""},
		{"only the formats asked", map[string]string{"X-B3-Sampled": "0", "traceparent": "00-" + traceHex + "-" + spanHex + "-01"}, []string{"w3c"}, "w3c", traceHex, 16, spanHex, "", &yes, false, ""},
		{"no extraction", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-01"}, nil, "", "", 0, "", "", nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			for k, v := range tt.headers {
				ctx.WithHeader(k, v)
			}
			ex := extract(ctx.Request(), tt.formats)
			if ex.from != tt.from || ex.singleB3 != tt.single || ex.flags != tt.flags || !reflect.DeepEqual(ex.sampled, tt.sampled) {
				t.Errorf("from %q single %v flags %q sampled %v", ex.from, ex.singleB3, ex.flags, ex.sampled)
			}
			if tt.trace == "" {
				if ex.hasTrace {
					t.Errorf("trace %s extracted", ex.traceID)
				}
				return
			}
			if !ex.hasTrace || ex.traceID != mustTrace(t, tt.trace) || ex.traceSize != tt.size || ex.spanID != mustSpan(t, tt.span) {
				t.Errorf("trace %s (%d) span %s", ex.traceID, ex.traceSize, ex.spanID)
			}
			var wantParent trace.SpanID
			if tt.parent != "" {
				wantParent = mustSpan(t, tt.parent)
			}
			if ex.parentID != wantParent {
				t.Errorf("parent %s, want %s", ex.parentID, wantParent)
			}
		})
	}
}

func TestInject(t *testing.T) {
	t.Parallel()
	o := &outgoing{
		traceID: mustTrace(t, traceHex), spanID: mustSpan(t, spanHex), parentID: mustSpan(t, parentHex), sampled: true,
	}
	short := *o
	short.traceSize = 8
	debug := *o
	debug.flags = "1"
	unsampled := *o
	unsampled.sampled = false
	tests := []struct {
		name   string
		format string
		o      *outgoing
		want   http.Header
	}{
		{"w3c", fmtW3C, o, http.Header{"Traceparent": {"00-" + traceHex + "-" + spanHex + "-01"}}},
		{"w3c not sampled", fmtW3C, &unsampled, http.Header{"Traceparent": {"00-" + traceHex + "-" + spanHex + "-00"}}},
		{"b3", fmtB3, o, http.Header{
			"X-B3-Traceid": {traceHex}, "X-B3-Spanid": {spanHex}, "X-B3-Parentspanid": {parentHex}, "X-B3-Sampled": {"1"},
		}},
		{"b3 keeps a 64-bit trace id", fmtB3, &short, http.Header{
			"X-B3-Traceid": {"8448eb211c80319c"}, "X-B3-Spanid": {spanHex}, "X-B3-Parentspanid": {parentHex}, "X-B3-Sampled": {"1"},
		}},
		{"b3 debug", fmtB3, &debug, http.Header{
			"X-B3-Traceid": {traceHex}, "X-B3-Spanid": {spanHex}, "X-B3-Parentspanid": {parentHex}, "X-B3-Flags": {"1"},
		}},
		{"b3-single", fmtB3Single, o, http.Header{"B3": {traceHex + "-" + spanHex + "-1-" + parentHex}}},
		{"b3-single debug", fmtB3Single, &debug, http.Header{"B3": {traceHex + "-" + spanHex + "-d-" + parentHex}}},
		{"jaeger", fmtJaeger, &unsampled, http.Header{"Uber-Trace-Id": {traceHex + ":" + spanHex + ":" + parentHex + ":00"}}},
		{"ot defaults to 64-bit", fmtOT, o, http.Header{
			"Ot-Tracer-Traceid": {"8448eb211c80319c"}, "Ot-Tracer-Spanid": {spanHex}, "Ot-Tracer-Sampled": {"1"},
		}},
		{"unsupported", "datadog", o, http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := pdktest.NewContext("GET", "/")
			inject(ctx.Upstream(), tt.format, tt.o)
			if got := ctx.UpstreamRequest().Headers(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("headers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInjectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		ex     extracted
		def    string
		want   string
	}{
		{"b3", extracted{}, "w3c", "b3"},
		{"preserve", extracted{}, "w3c", "w3c"},
		{"preserve", extracted{}, "jaeger", "jaeger"},
		{"preserve", extracted{from: "b3"}, "w3c", "b3"},
		{"preserve", extracted{from: "b3", singleB3: true}, "w3c", "b3-single"},
		{"preserve", extracted{from: "ot"}, "w3c", "ot"},
	}
	for _, tt := range tests {
		if got := injectFormat(tt.format, &tt.ex, tt.def); got != tt.want {
			t.Errorf("injectFormat(%s, from %q, default %s) = %s, want %s", tt.format, tt.ex.from, tt.def, got, tt.want)
		}
	}
}

func TestLegacyHeaderType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		want   propagation
	}{
		{
			"preserve (the default)",
			map[string]any{"header_type": "preserve", "propagation": map[string]any{"default_format": "w3c"}},
			propagation{extract: legacyExtract, inject: []string{"preserve"}, defaultFormat: "w3c"},
		},
		{
			"ignore",
			map[string]any{"header_type": "ignore", "propagation": map[string]any{"default_format": "b3"}},
			propagation{inject: []string{"b3"}, defaultFormat: "b3"},
		},
		{
			"b3",
			map[string]any{"header_type": "b3", "propagation": map[string]any{"default_format": "w3c"}},
			propagation{extract: legacyExtract, inject: []string{"preserve", "b3"}, defaultFormat: "w3c"},
		},
		{"propagation wins", map[string]any{"header_type": "b3", "propagation": map[string]any{
			"default_format": "w3c", "extract": []any{"w3c"}, "inject": []any{"w3c", "b3"}, "clear": []any{"X-Trace"},
		}}, propagation{extract: []string{"w3c"}, inject: []string{"w3c", "b3"}, clear: []string{"X-Trace"}, defaultFormat: "w3c"}},
		{
			"empty extract is set",
			map[string]any{"header_type": "b3", "propagation": map[string]any{"default_format": "w3c", "extract": []any{}}},
			propagation{extract: []string{}, defaultFormat: "w3c"},
		},
	}
	for _, tt := range tests {
		if got := readPropagation(tt.config); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	low := mustTrace(t, "ffffffffffffffff0000000000000001")
	high := mustTrace(t, "0000000000000000fffffffffffffff0")
	if !ratio(low, 0.5) || ratio(high, 0.5) || ratio(low, 0) || !ratio(high, 1) {
		t.Error("ratio sampler disagrees with OpenTelemetry's")
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("00-"+traceHex+"-"+spanHex+"-01", traceHex+"-"+spanHex+"-1-"+parentHex, traceHex+":"+spanHex+":0:1", "8448eb211c80319c")
	f.Add("", "d", "::::", "")
	f.Fuzz(func(t *testing.T, traceparent, b3, jaeger, ot string) {
		ctx := pdktest.NewContext("GET", "/")
		for _, h := range [][2]string{{"traceparent", traceparent}, {"b3", b3}, {"uber-trace-id", jaeger}, {"ot-tracer-traceid", ot}, {"x-b3-traceid", ot}} {
			if h[1] != "" && !strings.ContainsAny(h[1], "\r\n\x00") {
				ctx.WithHeader(h[0], h[1])
			}
		}
		ex := extract(ctx.Request(), []string{"b3", "w3c", "jaeger", "ot"})
		if ex.hasTrace && ex.from == "" {
			t.Errorf("trace without a format: %+v", ex)
		}
		up := pdktest.NewContext("GET", "/")
		o := &outgoing{traceID: ex.traceID, traceSize: ex.traceSize, spanID: ex.spanID, parentID: ex.parentID, flags: ex.flags}
		for _, format := range []string{fmtW3C, fmtB3, fmtB3Single, fmtJaeger, fmtOT} {
			inject(up.Upstream(), format, o)
		}
	})
}
