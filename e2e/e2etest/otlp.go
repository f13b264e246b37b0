package e2etest

import (
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span an OTLPReceiver received.
type Span struct {
	// TraceID, SpanID and ParentSpanID are lower-case hex ("" for no
	// parent).
	TraceID, SpanID, ParentSpanID string
	// Name is the span's name; Service its resource's service.name.
	Name, Service string
	// Kind is the span kind's name (SPAN_KIND_SERVER...).
	Kind string
	// Attributes are the span's attributes, as text.
	Attributes map[string]string
	// Links are the span contexts the span links to, as "trace/span".
	Links []string
	// Start and End are the span's times.
	Start, End time.Time
}

// String describes the span for failure messages.
func (s Span) String() string {
	return fmt.Sprintf("%s:%q span=%s parent=%s", s.Service, s.Name, s.SpanID, s.ParentSpanID)
}

// OTLPReceiver is a small OTLP/HTTP trace receiver: point the services'
// OTEL_EXPORTER_OTLP_ENDPOINT at it (see Env) and read what they export.
// It decodes protobuf (the default OTLP/HTTP encoding) with
// go.opentelemetry.io/proto/otlp. Its methods are safe for concurrent use.
type OTLPReceiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	spans []Span
	errs  []error
}

// NewOTLPReceiver starts a receiver; it is closed when the test ends, and
// a request it could not decode fails the test then.
func NewOTLPReceiver(tb testing.TB) *OTLPReceiver {
	tb.Helper()
	r := &OTLPReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(func() {
		r.srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, err := range r.errs {
			tb.Errorf("OTLP receiver: %v", err)
		}
	})
	return r
}

// Endpoint is the receiver's base URL: traces go to <Endpoint>/v1/traces.
func (r *OTLPReceiver) Endpoint() string { return r.srv.URL }

// Env is the environment that makes a service export every span to the
// receiver at once (a 100 ms batch delay instead of 5 s).
func (r *OTLPReceiver) Env() map[string]string {
	return map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": r.Endpoint(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_TRACES_SAMPLER":         "parentbased_always_on",
		"OTEL_BSP_SCHEDULE_DELAY":     "100",
	}
}

func (r *OTLPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	spans, err := decodeExport(req)
	r.mu.Lock()
	if err != nil {
		r.errs = append(r.errs, err)
	}
	r.spans = append(r.spans, spans...)
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func decodeExport(req *http.Request) ([]Span, error) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		return nil, err
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return nil, fmt.Errorf("content type %q: the receiver reads application/x-protobuf", ct)
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &export); err != nil {
		return nil, fmt.Errorf("decode export: %w", err)
	}
	var spans []Span
	for _, rs := range export.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span := Span{
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Name:         s.GetName(),
					Service:      service,
					Kind:         s.GetKind().String(),
					Attributes:   attrs(s.GetAttributes()),
					Start:        time.Unix(0, int64(s.GetStartTimeUnixNano())), //nolint:gosec // nanoseconds since 1970 fit
					End:          time.Unix(0, int64(s.GetEndTimeUnixNano())),   //nolint:gosec // likewise
				}
				for _, l := range s.GetLinks() {
					span.Links = append(span.Links, hex.EncodeToString(l.GetTraceId())+"/"+hex.EncodeToString(l.GetSpanId()))
				}
				spans = append(spans, span)
			}
		}
	}
	return spans, nil
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(v.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = strconv.FormatBool(v.BoolValue)
		case *commonpb.AnyValue_DoubleValue:
			m[kv.GetKey()] = strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
		default:
			m[kv.GetKey()] = fmt.Sprint(kv.GetValue())
		}
	}
	return m
}

// Spans returns every span received so far.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Trace returns the spans of trace traceID received so far, in start
// order.
func (r *OTLPReceiver) Trace(traceID string) []Span {
	var out []Span
	for _, s := range r.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// WaitSpan waits until a span matching match arrives and returns it.
func (r *OTLPReceiver) WaitSpan(tb testing.TB, timeout time.Duration, what string, match func(Span) bool) Span {
	tb.Helper()
	var found Span
	Eventually(tb, timeout, "a span "+what+" reaches the OTLP receiver", func() error {
		for _, s := range r.Spans() {
			if match(s) {
				found = s
				return nil
			}
		}
		return fmt.Errorf("not among %d spans", len(r.Spans()))
	})
	return found
}

// Connected checks that spans form one tree: exactly one root (a span
// without a parent, or whose parent is not among them when external is its
// parent) and every other span's parent among them. external is a parent
// span id from outside (a caller's traceparent), or "".
func Connected(spans []Span, external string) error {
	if len(spans) == 0 {
		return errors.New("no spans")
	}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots, orphans []string
	for _, s := range spans {
		switch {
		case s.ParentSpanID == "" || s.ParentSpanID == external:
			roots = append(roots, s.String())
		case !ids[s.ParentSpanID]:
			orphans = append(orphans, s.String())
		}
	}
	if len(roots) != 1 || len(orphans) > 0 {
		return fmt.Errorf("want one root and no orphans, got roots %v, orphans %v", roots, orphans)
	}
	return nil
}

// Services lists the distinct services of spans, sorted.
func Services(spans []Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Service)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
