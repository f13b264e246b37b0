package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

// Extension builds one part of the runtime: the router, the plugin
// chains, the balancers. Build is called for every new runtime, in the
// order the extensions were given to NewBuilder; it must not modify
// in.Next's configuration and may read the parts earlier extensions built
// (in.Next.Part). What it returns is stored as in.Next.Part(Name()). An
// error refuses the whole configuration: the data plane keeps serving the
// previous runtime.
type Extension interface {
	// Name names the part, unique among a builder's extensions.
	Name() string
	// Build returns the part for in.Next.
	Build(ctx context.Context, in Input) (any, error)
}

// Input is what an Extension builds from.
type Input struct {
	// Next is the runtime being built: its configuration, what is served,
	// and the parts built so far.
	Next *Runtime
	// Prev is the runtime being replaced, with the part this extension
	// built for it; nil for a full build.
	Prev *Runtime
	// Changes are the changes from Prev to Next; nil for a full build
	// (the first runtime, a snapshot). An extension may rebuild only what
	// they touch, reusing Prev's part for the rest.
	Changes []protocol.Change
}

// Shared holds state that outlives runtime swaps, such as upstream health
// or a balancer's position, by key (for instance "health:<upstream id>").
// Values that are io.Closers (a Redis client pool) are closed when Retain
// drops them and when the data plane stops (Close). It is safe for
// concurrent use.
type Shared struct {
	mu sync.Mutex
	m  map[string]any
}

// LoadOrStore returns the value under key, storing create's result first
// when there is none.
func (s *Shared) LoadOrStore(key string, create func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v
	}
	if s.m == nil {
		s.m = map[string]any{}
	}
	v := create()
	s.m[key] = v
	return v
}

// Load returns the value under key.
func (s *Shared) Load(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

// Retain drops every key keep refuses: an extension calls it with the
// keys its new part uses, so state of removed entities goes away. Dropped
// io.Closers are closed.
func (s *Shared) Retain(keep func(key string) bool) {
	s.mu.Lock()
	var dropped []any
	maps.DeleteFunc(s.m, func(k string, v any) bool {
		if keep(k) {
			return false
		}
		dropped = append(dropped, v)
		return true
	})
	s.mu.Unlock()
	_ = closeAll(dropped)
}

// Close closes every io.Closer held and forgets every value: the data
// plane is stopping (a rate limiter flushes its pending counts).
func (s *Shared) Close() error {
	s.mu.Lock()
	values := slices.Collect(maps.Values(s.m))
	s.m = nil
	s.mu.Unlock()
	return closeAll(values)
}

func closeAll(values []any) error {
	var errs []error
	for _, v := range values {
		if c, ok := v.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Len reports how many keys are held.
func (s *Shared) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Close closes the state shared across runtimes (see Shared.Close).
func (b *Builder) Close() error { return b.shared.Close() }

// Builder builds runtimes. It is safe for concurrent use, though the data
// plane builds one at a time.
type Builder struct {
	catalog *entity.Catalog
	exts    []Extension
	shared  *Shared
	now     func() time.Time
	// refs lists, per type, its foreign keys; children, per type, the
	// foreign keys pointing at it.
	refs     map[string][]entity.ForeignKey
	children map[string][]entity.Reference
}

// NewBuilder returns a builder validating with catalog and extended by
// exts, in order.
func NewBuilder(catalog *entity.Catalog, exts ...Extension) *Builder {
	b := &Builder{
		catalog: catalog, exts: exts, shared: &Shared{}, now: time.Now,
		refs: map[string][]entity.ForeignKey{}, children: map[string][]entity.Reference{},
	}
	for _, t := range catalog.Types() {
		b.refs[t.Name] = t.ForeignKeys()
		b.children[t.Name] = catalog.Children(t.Name)
	}
	return b
}

// Catalog is the catalog the builder validates with.
func (b *Builder) Catalog() *entity.Catalog { return b.catalog }

// Empty builds the runtime of a data plane that has loaded nothing: no
// entities, not Loaded (readiness says so), every request unmatched.
func (b *Builder) Empty(ctx context.Context) (*Runtime, error) {
	return b.build(ctx, configset.New(), "", nil, nil)
}

// Build builds a runtime from the whole of set, whose hash the data plane
// reports as configHash (the control plane's; set.Hash() for a
// declarative file). It returns a *ValidationError when entities are
// invalid or reference missing ones. set must not be modified afterwards.
func (b *Builder) Build(ctx context.Context, set *configset.Set, configHash string) (*Runtime, error) {
	if err := b.validateAll(set); err != nil {
		return nil, err
	}
	return b.build(ctx, set, configHash, nil, nil)
}

// Restore builds a runtime from a configuration this data plane built
// before, as read back from its verified cache: the entities and
// references are not validated again, so a large configuration is served
// quickly after a restart. Only use it for a cache written by the same
// Gatehouse version; anything else goes through Build.
func (b *Builder) Restore(ctx context.Context, set *configset.Set, configHash string) (*Runtime, error) {
	return b.build(ctx, set, configHash, nil, nil)
}

// Update builds the runtime for next, which is prev's configuration with
// changes applied: only the changed entities are validated, and the
// references they make or lose are checked. It returns a *ValidationError
// like Build.
func (b *Builder) Update(ctx context.Context, prev *Runtime, next *configset.Set, configHash string, changes []protocol.Change) (*Runtime, error) {
	if err := b.validateChanges(next, changes); err != nil {
		return nil, err
	}
	return b.build(ctx, next, configHash, prev, changes)
}

func (b *Builder) build(ctx context.Context, set *configset.Set, configHash string, prev *Runtime, changes []protocol.Change) (*Runtime, error) {
	r := &Runtime{
		set: set, configHash: configHash, builtAt: b.now(),
		parts: make(map[string]any, len(b.exts)), shared: b.shared,
	}
	if prev == nil {
		r.disabled = disabledServices(set)
	} else {
		r.disabled = updateDisabled(prev.disabled, set, changes)
	}
	in := Input{Next: r, Prev: prev, Changes: changes}
	for _, ext := range b.exts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part, err := ext.Build(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", ext.Name(), err)
		}
		r.parts[ext.Name()] = part
	}
	return r, nil
}

// disabledServices collects the ids of the services with enabled false.
func disabledServices(set *configset.Set) map[string]struct{} {
	out := map[string]struct{}{}
	set.Each(entity.Services, func(e map[string]any) {
		if isDisabled(e) {
			id, _ := e["id"].(string)
			out[id] = struct{}{}
		}
	})
	return out
}

// updateDisabled returns prev's disabled services after changes; prev is
// shared when no service changed.
func updateDisabled(prev map[string]struct{}, set *configset.Set, changes []protocol.Change) map[string]struct{} {
	out := prev
	copied := false
	for _, c := range changes {
		if c.Type != entity.Services {
			continue
		}
		if !copied {
			out = maps.Clone(prev)
			copied = true
		}
		delete(out, c.ID)
		if e, ok := set.Get(entity.Services, c.ID); ok && isDisabled(e) {
			out[c.ID] = struct{}{}
		}
	}
	return out
}

func isDisabled(e map[string]any) bool {
	enabled, ok := e["enabled"].(bool)
	return ok && !enabled
}
