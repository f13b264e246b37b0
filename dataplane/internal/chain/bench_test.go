package chain_test

import (
	"context"
	"fmt"
	"testing"

	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

// nop is an instance that does nothing in every phase; the "basic-auth"
// one authenticates alice.
type nop struct {
	alice *pdk.Consumer
}

func (n *nop) Access(ctx pdk.Context) error {
	if n.alice != nil {
		ctx.Authenticate(n.alice, nil)
	}
	return nil
}
func (*nop) HeaderFilter(pdk.Context) {}
func (*nop) Log(pdk.Context)          {}

type noopFactory string

func (f noopFactory) Name() string { return string(f) }

func (f noopFactory) New(cfg pdk.Config) (pdk.Instance, error) {
	n := &nop{}
	if f == "basic-auth" {
		n.alice, _ = cfg.Env.Consumer("alice")
	}
	return n, nil
}

func noops() []pdk.Factory {
	var out []pdk.Factory
	for _, n := range []string{"correlation-id", "cors", "basic-auth", "ip-restriction", "rate-limiting", "request-termination"} {
		out = append(out, noopFactory(n))
	}
	return out
}

// BenchmarkResolve runs the phases of one request on a route with five
// plugins, one of which authenticates a consumer that selects a
// consumer-scoped configuration of a later plugin.
func BenchmarkResolve(b *testing.B) {
	c := newConfig(b)
	c.plugin("correlation-id", map[string]any{"header_name": "h"})
	c.plugin("cors", map[string]any{"max_age": 1}, routeID)
	c.plugin("basic-auth", map[string]any{"realm": "r"}, "", serviceID)
	c.plugin("rate-limiting", map[string]any{"minute": 1})
	c.plugin("rate-limiting", map[string]any{"minute": 2}, "", "", consumerID)
	c.plugin("request-termination", map[string]any{"message": "m"}, routeID)
	_, rt := build(b, c, noops()...)
	plan := chains(rt).Plan(routeID, serviceID)
	ctx := pdktest.NewContext("GET", "/one").WithResponse(200, nil, nil)
	var x chain.Execution
	b.ReportAllocs()
	for b.Loop() {
		ctx.Authenticate(nil, nil)
		x.Start(plan)
		x.Access(ctx)
		x.HeaderFilter(ctx)
		if x.WantsBody(ctx) {
			b.Fatal("no plugin filters bodies")
		}
		x.Log(ctx)
		x.Reset()
	}
}

// bigConfig has n (a multiple of 4, plus 1) plugins: per service, two routes with a route-scoped
// rate-limiting each, a service-scoped cors, and a consumer-scoped
// rate-limiting for one of n/4 consumers; and a global correlation-id.
func bigConfig(tb testing.TB, n int) *configset.Set {
	tb.Helper()
	n-- // the global plugin
	cat := catalog()
	set := configset.New()
	put := func(typ string, in map[string]any) {
		if err := set.Put(typ, fixture.Write(cat, typ, in)); err != nil {
			tb.Fatal(err)
		}
	}
	put(entity.Plugins, map[string]any{"id": fixture.ID("plugin", 0), "name": "correlation-id"})
	for i := 0; 4*i < n; i++ {
		svc, consumer := fixture.ID("service", i), fixture.ID("consumer", i)
		put(entity.Services, fixture.Service(i))
		put(entity.Consumers, map[string]any{"id": consumer, "username": fmt.Sprintf("user-%d", i)})
		put(entity.Plugins, map[string]any{"id": fixture.ID("plugin-cors", i), "name": "cors", "service": ref(svc)})
		put(entity.Plugins, map[string]any{
			"id": fixture.ID("plugin-consumer", i), "name": "rate-limiting", "consumer": ref(consumer),
			"config": map[string]any{"minute": 10},
		})
		for j := range 2 {
			route := fixture.ID("route", 2*i+j)
			put(entity.Routes, map[string]any{"id": route, "paths": []any{fmt.Sprintf("/s%d/r%d", i, j)}, "service": ref(svc)})
			put(entity.Plugins, map[string]any{
				"id": fixture.ID("plugin-route", 2*i+j), "name": "rate-limiting", "route": ref(route),
				"config": map[string]any{"minute": 100},
			})
		}
	}
	return set
}

// BenchmarkBuild10k builds the chains of 10,001 plugins from scratch.
func BenchmarkBuild10k(b *testing.B) {
	set := bigConfig(b, 10001)
	rt, err := gateway.NewBuilder(catalog()).Restore(context.Background(), set, "0123456789abcdef0123456789abcdef")
	if err != nil {
		b.Fatal(err)
	}
	ext := chain.NewExtension(chain.Options{Factories: noops()})
	b.ReportAllocs()
	for b.Loop() {
		part, err := ext.Build(context.Background(), gateway.Input{Next: rt})
		if err != nil {
			b.Fatal(err)
		}
		if n := part.(*chain.Chains).Len(); n != 10001 {
			b.Fatalf("%d instances", n)
		}
	}
}

// BenchmarkUpdate10k builds the chains of 10,001 plugins after one plugin
// changed, from the previous runtime's.
func BenchmarkUpdate10k(b *testing.B) {
	set := bigConfig(b, 10001)
	ext := chain.NewExtension(chain.Options{Factories: noops()})
	gb := gateway.NewBuilder(catalog(), ext)
	prev, err := gb.Restore(context.Background(), set, "0123456789abcdef0123456789abcdef")
	if err != nil {
		b.Fatal(err)
	}
	p := fixture.Write(catalog(), entity.Plugins, map[string]any{
		"id": fixture.ID("plugin-route", 7), "name": "rate-limiting", "route": ref(fixture.ID("route", 7)),
		"config": map[string]any{"minute": 5},
	})
	changes := []protocol.Change{{Op: protocol.OpUpsert, Type: entity.Plugins, ID: p["id"].(string), Entity: p}}
	next := set.Clone()
	if err := next.Apply(changes); err != nil {
		b.Fatal(err)
	}
	nextRT, err := gateway.NewBuilder(catalog()).Restore(context.Background(), next, "0123456789abcdef0123456789abcdef")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ext.Build(context.Background(), gateway.Input{Next: nextRT, Prev: prev, Changes: changes}); err != nil {
			b.Fatal(err)
		}
	}
}
