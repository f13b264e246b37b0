package gateway_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

var (
	catOnce sync.Once
	cat     *entity.Catalog
	ents    protocol.Entities
)

// setup returns the catalog and a small configuration shared by the tests
// (which must not modify it).
func setup(t *testing.T) (*entity.Catalog, *configset.Set) {
	t.Helper()
	catOnce.Do(func() {
		cat = fixture.Catalog()
		ents = fixture.Entities(cat, 36)
	})
	set, err := configset.FromEntities(1, ents)
	if err != nil {
		t.Fatal(err)
	}
	return cat, set
}

func validationError(t *testing.T, err error) *gateway.ValidationError {
	t.Helper()
	var verr *gateway.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v, want a *ValidationError", err)
	}
	return verr
}

func TestBuildServesAValidConfiguration(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	b := gateway.NewBuilder(cat)
	rt, err := b.Build(t.Context(), set, "0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Loaded() || rt.Revision() != 1 || rt.ConfigHash() != "0123456789abcdef0123456789abcdef" || rt.Digest() != set.Hash() {
		t.Errorf("runtime = rev %d hash %s digest %s", rt.Revision(), rt.ConfigHash(), rt.Digest())
	}
	for _, typ := range set.Types() {
		for _, e := range set.List(typ) {
			if !rt.Served(typ, e["id"].(string)) {
				t.Errorf("%s %s is not served", typ, e["id"])
			}
		}
	}
	empty, err := b.Empty(t.Context())
	if err != nil || empty.Loaded() || empty.ReportedHash() != protocol.EmptyHash || empty.Set().Len() != 0 {
		t.Errorf("empty runtime: loaded %v hash %s err %v", empty.Loaded(), empty.ReportedHash(), err)
	}
}

func TestBuildRefusesInvalidEntities(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	route := fixture.Wire(set.List(entity.Routes)[0])
	id := route["id"].(string)
	tests := []struct {
		name   string
		change func(e map[string]any)
		path   string
		msg    string
	}{
		{"bad path", func(e map[string]any) { e["paths"] = []any{"/ok", "no-slash"} }, "routes." + id + ".paths.2", "should start with: / (fixed path) or ~/ (regex path)"},
		{"unknown field with a value", func(e map[string]any) { e["shiny"] = "new" }, "routes." + id + ".shiny", "unknown field"},
		{
			"missing service", func(e map[string]any) { e["service"] = map[string]any{"id": fixture.ID("service", 9999)} },
			"routes." + id + ".service", "invalid reference 'service: " + fixture.ID("service", 9999) + "' (no such entry in 'services')",
		},
		{"stream protocol", func(e map[string]any) { e["protocols"] = []any{"tcp"} }, "routes." + id + ".protocols", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, set := setup(t) // Clone writes to its source: one set per test
			bad := fixture.Wire(route)
			tt.change(bad)
			next := set.Clone()
			if err := next.Put(entity.Routes, bad); err != nil {
				t.Fatal(err)
			}
			b := gateway.NewBuilder(cat)
			_, err := b.Build(t.Context(), next, next.Hash())
			verr := validationError(t, err)
			got, ok := verr.Fields[tt.path]
			if !ok || (tt.msg != "" && got != tt.msg) {
				t.Errorf("fields = %v, want %s: %q", verr.Fields, tt.path, tt.msg)
			}
			if !strings.Contains(err.Error(), "routes."+id) {
				t.Errorf("error %q does not name the route", err)
			}
			// The same change as a delta is refused by Update too.
			prev, err := b.Build(t.Context(), set, set.Hash())
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Update(t.Context(), prev, next, next.Hash(), []protocol.Change{{Op: protocol.OpUpsert, Type: entity.Routes, ID: id, Entity: bad}})
			if verr := validationError(t, err); verr.Fields[tt.path] != got {
				t.Errorf("Update fields = %v", verr.Fields)
			}
		})
	}
}

func TestUnknownNullFieldsAreIgnored(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	svc := fixture.Wire(set.List(entity.Services)[0])
	svc["added_in_a_later_version"] = nil
	next := set.Clone()
	if err := next.Put(entity.Services, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.NewBuilder(cat).Build(t.Context(), next, next.Hash()); err != nil {
		t.Fatalf("an unknown null field was refused: %v", err)
	}
}

func TestUpdateChecksReferencesToDeletedEntities(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	b := gateway.NewBuilder(cat)
	prev, err := b.Build(t.Context(), set, set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	svc := fixture.ID("service", 0)
	next := set.Clone()
	del := []protocol.Change{{Op: protocol.OpDelete, Type: entity.Services, ID: svc}}
	if err := next.Apply(del); err != nil {
		t.Fatal(err)
	}
	_, err = b.Update(t.Context(), prev, next, next.Hash(), del)
	verr := validationError(t, err)
	// Two routes and a plugin still point at the service.
	if verr.Count != 3 {
		t.Errorf("problems = %d %v, want 3", verr.Count, verr.Fields)
	}
	for path, msg := range verr.Fields {
		if !strings.Contains(msg, "no such entry in 'services'") || !strings.HasSuffix(path, ".service") {
			t.Errorf("%s: %s", path, msg)
		}
	}
	// Deleting the service with everything that references it is fine.
	var all []protocol.Change
	all = append(all, del...)
	for _, typ := range []string{entity.Routes, entity.Plugins} {
		for _, e := range set.List(typ) {
			if ref, _ := e["service"].(map[string]any); ref != nil && ref["id"] == svc {
				all = append(all, protocol.Change{Op: protocol.OpDelete, Type: typ, ID: e["id"].(string)})
			}
		}
	}
	next = set.Clone()
	if err := next.Apply(all); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update(t.Context(), prev, next, next.Hash(), all); err != nil {
		t.Fatalf("a consistent delete was refused: %v", err)
	}
}

func TestDisabledServicesAreNotServed(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	b := gateway.NewBuilder(cat)
	prev, err := b.Build(t.Context(), set, set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	svcID := fixture.ID("service", 0)
	svc := fixture.Wire(set.List(entity.Services)[0])
	for _, s := range set.List(entity.Services) {
		if s["id"] == svcID {
			svc = fixture.Wire(s)
		}
	}
	svc["enabled"] = false
	change := []protocol.Change{{Op: protocol.OpUpsert, Type: entity.Services, ID: svcID, Entity: svc}}
	next := set.Clone()
	if err := next.Apply(change); err != nil {
		t.Fatal(err)
	}
	check := func(rt *gateway.Runtime) {
		t.Helper()
		if rt.Served(entity.Services, svcID) || rt.DisabledServices() != 1 {
			t.Error("the disabled service is served")
		}
		for _, typ := range []string{entity.Routes, entity.Plugins} {
			for _, e := range rt.Set().List(typ) {
				ref, _ := e["service"].(map[string]any)
				onService := ref != nil && ref["id"] == svcID
				if rt.ServedEntity(typ, e) == onService {
					t.Errorf("%s %s on the disabled service: served %v", typ, e["id"], !onService)
				}
			}
		}
		if !rt.Served(entity.Services, fixture.ID("service", 1)) {
			t.Error("another service is not served")
		}
	}
	updated, err := b.Update(t.Context(), prev, next, next.Hash(), change)
	if err != nil {
		t.Fatal(err)
	}
	check(updated)
	full, err := b.Build(t.Context(), next, next.Hash())
	if err != nil {
		t.Fatal(err)
	}
	check(full)
	if !prev.Served(entity.Services, svcID) {
		t.Error("the previous runtime changed")
	}
}

// recorder is an Extension that records what it is given and keeps a
// counter in Shared.
type recorder struct {
	mu     sync.Mutex
	inputs []gateway.Input
	fail   error
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Build(_ context.Context, in gateway.Input) (any, error) {
	r.mu.Lock()
	r.inputs = append(r.inputs, in)
	r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	counter := in.Next.Shared().LoadOrStore("builds", func() any { return new(atomic.Int64) }).(*atomic.Int64)
	counter.Add(1)
	return in.Next.Set().Len(), nil
}

func TestExtensionsBuildPartsAndShareState(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	rec := &recorder{}
	b := gateway.NewBuilder(cat, rec)
	first, err := b.Build(t.Context(), set, set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if first.Part("recorder") != set.Len() {
		t.Errorf("part = %v", first.Part("recorder"))
	}
	consumer := fixture.Write(cat, entity.Consumers, map[string]any{"username": "new"})
	change := []protocol.Change{{Op: protocol.OpUpsert, Type: entity.Consumers, ID: consumer["id"].(string), Entity: consumer}}
	next := set.Clone()
	if err := next.Apply(change); err != nil {
		t.Fatal(err)
	}
	second, err := b.Update(t.Context(), first, next, next.Hash(), change)
	if err != nil {
		t.Fatal(err)
	}
	in := rec.inputs[1]
	if in.Prev != first || len(in.Changes) != 1 || in.Next != second || rec.inputs[0].Prev != nil || rec.inputs[0].Changes != nil {
		t.Errorf("inputs = %+v", rec.inputs)
	}
	if n, _ := second.Shared().Load("builds"); n.(*atomic.Int64).Load() != 2 {
		t.Errorf("shared counter = %v, want 2 across the swap", n)
	}
	second.Shared().Retain(func(string) bool { return false })
	if second.Shared().Len() != 0 {
		t.Error("Retain kept a refused key")
	}

	rec.fail = errors.New("no router for you")
	if _, err := b.Build(t.Context(), set, set.Hash()); err == nil || !strings.Contains(err.Error(), "build recorder: no router for you") {
		t.Errorf("failing extension: %v", err)
	}
}

func TestHolderSwaps(t *testing.T) {
	t.Parallel()
	cat, set := setup(t)
	b := gateway.NewBuilder(cat)
	a, _ := b.Empty(t.Context())
	c, _ := b.Restore(t.Context(), set, set.Hash())
	h := gateway.NewHolder(a)
	if h.Load() != a || h.Swap(c) != a || h.Load() != c {
		t.Error("holder does not swap")
	}
}

type closer struct{ closed int }

func (c *closer) Close() error { c.closed++; return nil }

func TestSharedClosesClosers(t *testing.T) {
	t.Parallel()
	var s gateway.Shared
	kept, dropped := &closer{}, &closer{}
	s.LoadOrStore("kept", func() any { return kept })
	s.LoadOrStore("dropped", func() any { return dropped })
	s.LoadOrStore("value", func() any { return 42 })
	s.Retain(func(k string) bool { return k != "dropped" })
	if dropped.closed != 1 || kept.closed != 0 {
		t.Errorf("Retain closed kept %d times, dropped %d times; want 0 and 1", kept.closed, dropped.closed)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if kept.closed != 1 || s.Len() != 0 {
		t.Errorf("Close: kept closed %d times, %d values left", kept.closed, s.Len())
	}
}
