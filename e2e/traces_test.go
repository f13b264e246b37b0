package e2e_test

// Traces (DESIGN.md, Observability): with an OTLP endpoint configured, a
// configuration change is one trace across admin-api, sync-hub and each
// data plane's apply, and a proxied request is one trace whose context
// reaches the upstream. A small OTLP/HTTP receiver in the test collects
// the spans.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/e2e/e2etest"
)

// traceTimeout allows for the services' 100 ms export batches.
const traceTimeout = 15 * time.Second

// TestTraces checks that an Admin API change and a proxied request each
// arrive as one connected trace.
func TestTraces(t *testing.T) { //nolint:tparallel // the subtests are steps on one cluster, in order
	t.Parallel()
	otlp := e2etest.NewOTLPReceiver(t)
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{Env: otlp.Env()})
	up := e2etest.NewUpstream(t, "traced")
	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{Env: otlp.Env()})
	addService(t, c.Admin, "traced", up.URL)
	c.WaitSynced(t, connectTimeout, dp)

	t.Run("an Admin API change is one trace", func(t *testing.T) {
		addRoute(t, c.Admin, "traced", "traced", "/traced")
		c.WaitSynced(t, syncTimeout, dp)
		root := otlp.WaitSpan(t, traceTimeout, "for POST /services/{...}/routes from admin-api", func(s e2etest.Span) bool {
			return s.Service == "admin-api" && s.Kind == "SPAN_KIND_SERVER" &&
				s.Attributes["http.request.method"] == http.MethodPost && strings.HasSuffix(s.Attributes["url.path"], "/routes")
		})
		e2etest.Eventually(t, traceTimeout, "the change's trace reaches every service", func() error {
			spans := otlp.Trace(root.TraceID)
			var apply bool
			for _, s := range spans {
				apply = apply || (s.Service == "dataplane" && strings.HasPrefix(s.Name, "dataplane apply"))
			}
			services := e2etest.Services(spans)
			if !apply || len(services) != 3 {
				return fmt.Errorf("services %v, a data plane apply: %v", services, apply)
			}
			return e2etest.Connected(spans, "")
		})
		t.Logf("change trace %s: %v", root.TraceID, spanNames(otlp.Trace(root.TraceID)))
	})

	t.Run("a proxied request is one trace", func(t *testing.T) {
		dp.RequireProxy(t)
		dp.WaitResponse(t, "/traced", syncTimeout, wantUpstream("traced"))
		r := up.LastRequest()
		tp := ""
		if r != nil {
			tp = r.Header.Get("Traceparent")
		}
		parts := strings.Split(tp, "-")
		if len(parts) != 4 {
			t.Fatalf("the upstream received traceparent %q, want the proxy's trace context", tp)
		}
		traceID, parent := parts[1], parts[2]
		e2etest.Eventually(t, traceTimeout, "the request's trace arrives whole", func() error {
			spans := otlp.Trace(traceID)
			var server, upstreamCall bool
			for _, s := range spans {
				server = server || (s.Service == "dataplane" && s.Kind == "SPAN_KIND_SERVER")
				upstreamCall = upstreamCall || s.SpanID == parent
			}
			if !server || !upstreamCall {
				return fmt.Errorf("spans %v: server span %v, the upstream call's span %s %v", spanNames(spans), server, parent, upstreamCall)
			}
			return e2etest.Connected(spans, "")
		})
		t.Logf("request trace %s: %v", traceID, spanNames(otlp.Trace(traceID)))
	})
}

func spanNames(spans []e2etest.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Service + ":" + s.Name
	}
	return out
}
