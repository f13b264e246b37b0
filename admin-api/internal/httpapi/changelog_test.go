package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"gatehouse.dev/shared/store"
)

// change is the part of a change-log row a test compares.
type change struct {
	typ, id string
	op      store.Op
}

// TestWritesMakeExactChanges checks, for each kind of write, that it
// made one revision (the next one) holding exactly the expected
// change-log rows, with the entity as stored; and that failed writes and
// reads make none.
func TestWritesMakeExactChanges(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var svcID, routeID, pluginID, certID string
	cert, key := certPEM(t, false)
	steps := []struct {
		name   string
		do     func() response
		status int
		want   func() []change // nil: no revision
	}{
		{
			name: "create service", status: http.StatusCreated,
			do: func() response {
				r := s.post("/services", map[string]any{"name": "svc", "host": "a.example"})
				svcID = r.id()
				return r
			},
			want: func() []change { return []change{{"services", svcID, store.OpUpsert}} },
		},
		{
			name: "create route", status: http.StatusCreated,
			do: func() response {
				r := s.post("/services/svc/routes", map[string]any{"name": "r", "paths": []any{"/"}})
				routeID = r.id()
				return r
			},
			want: func() []change { return []change{{"routes", routeID, store.OpUpsert}} },
		},
		{
			name: "create plugin", status: http.StatusCreated,
			do: func() response {
				r := s.post("/routes/r/plugins", map[string]any{"name": "cors"})
				pluginID = r.id()
				return r
			},
			want: func() []change { return []change{{"plugins", pluginID, store.OpUpsert}} },
		},
		{
			name: "patch service", status: http.StatusOK,
			do:   func() response { return s.patch("/services/svc", map[string]any{"retries": 1}) },
			want: func() []change { return []change{{"services", svcID, store.OpUpsert}} },
		},
		{
			name: "put service", status: http.StatusOK,
			do:   func() response { return s.put("/services/svc", map[string]any{"host": "b.example"}) },
			want: func() []change { return []change{{"services", svcID, store.OpUpsert}} },
		},
		{
			name: "failed create", status: http.StatusConflict,
			do: func() response { return s.post("/services", map[string]any{"name": "svc", "host": "a.example"}) },
		},
		{
			name: "failed delete", status: http.StatusBadRequest,
			do: func() response { return s.delete("/services/svc") },
		},
		{
			name: "delete of nothing", status: http.StatusNoContent,
			do: func() response { return s.delete("/services/nope") },
		},
		{
			name: "read", status: http.StatusOK,
			do: func() response { return s.get("/services/svc") },
		},
		{
			name: "cascading delete", status: http.StatusNoContent,
			do: func() response { return s.delete("/routes/r") },
			want: func() []change {
				return []change{{"plugins", pluginID, store.OpDelete}, {"routes", routeID, store.OpDelete}}
			},
		},
		{
			name: "certificate with snis", status: http.StatusCreated,
			do: func() response {
				r := s.post("/certificates", map[string]any{"cert": cert, "key": key, "snis": []any{"a.example.com"}})
				certID = r.id()
				return r
			},
			want: func() []change {
				sni := must(t, s.get("/snis/a.example.com"), http.StatusOK).id()
				return []change{{"certificates", certID, store.OpUpsert}, {"snis", sni, store.OpUpsert}}
			},
		},
	}
	for _, st := range steps {
		before := s.latest()
		r := st.do()
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.raw)
		}
		revs, changes := s.changes(before)
		if st.want == nil {
			if len(revs) != 0 || s.latest() != before {
				t.Errorf("%s: made revisions %v", st.name, revs)
			}
			continue
		}
		want := st.want()
		if len(revs) != 1 || revs[0].Revision != before+1 {
			t.Errorf("%s: revisions %v after %d, want exactly %d", st.name, revs, before, before+1)
			continue
		}
		var got []change
		for _, c := range changes {
			got = append(got, change{c.Type, c.ID, c.Op})
			if c.Revision != before+1 {
				t.Errorf("%s: change in revision %d", st.name, c.Revision)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: changes %v, want %v", st.name, got, want)
		}
		// An upsert row holds the entity as the API reads it back.
		for _, c := range changes {
			if c.Op != store.OpUpsert || c.Type != "services" {
				continue
			}
			stored := must(t, s.get("/services/"+c.ID), http.StatusOK).obj()
			if !jsonEqual(c.Entity, stored) {
				t.Errorf("%s: change-log entity %v, API %v", st.name, c.Entity, stored)
			}
		}
	}
}

// TestConcurrentWriters runs 8 writers at once: every write gets its own
// revision, the revisions are contiguous, and each holds its one change.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const writers, each = 8, 15
	before := s.latest()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := s.post("/consumers", map[string]any{"username": fmt.Sprintf("u-%d-%d", w, i)})
				if r.status != http.StatusCreated {
					errs <- fmt.Errorf("writer %d: %d %s", w, r.status, r.raw)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	revs, changes := s.changes(before)
	if len(revs) != writers*each || len(changes) != writers*each {
		t.Fatalf("%d revisions, %d changes; want %d each", len(revs), len(changes), writers*each)
	}
	seen := map[string]bool{}
	for i, r := range revs {
		if r.Revision != before+int64(i)+1 {
			t.Fatalf("revision %d at position %d: not contiguous after %d", r.Revision, i, before)
		}
		if changes[i].Revision != r.Revision || changes[i].Op != store.OpUpsert || seen[changes[i].ID] {
			t.Errorf("change %d: %+v", i, changes[i])
		}
		seen[changes[i].ID] = true
	}
}

// TestRevisionCarriesTrace checks that a write's revision records the
// trace context of the request's server span.
func TestRevisionCarriesTrace(t *testing.T) {
	// Not parallel: it installs a global tracer provider.
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	restore := setGlobalTracing(tp, propagation.TraceContext{})
	defer restore()

	s := newServer(t)
	before := s.latest()
	must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	revs, _ := s.changes(before)
	if len(revs) != 1 || revs[0].Trace["traceparent"] == "" {
		t.Fatalf("revision trace: %+v", revs)
	}
	var server sdktrace.ReadOnlySpan
	dbChildren := 0
	for _, sp := range exp.GetSpans().Snapshots() {
		if sp.Name() == "POST /services" {
			server = sp
		}
	}
	if server == nil {
		t.Fatal("no server span POST /services")
	}
	for _, sp := range exp.GetSpans().Snapshots() {
		if sp.Parent().SpanID() == server.SpanContext().SpanID() {
			dbChildren++
		}
	}
	if dbChildren == 0 {
		t.Error("the server span has no database child spans")
	}
	wantTrace := server.SpanContext().TraceID().String()
	if tp := revs[0].Trace["traceparent"]; len(tp) < 35 || tp[3:35] != wantTrace {
		t.Errorf("revision traceparent %q, want trace %s", tp, wantTrace)
	}
}
