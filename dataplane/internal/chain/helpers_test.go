package chain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

var (
	catOnce sync.Once
	cat     *entity.Catalog
)

func catalog() *entity.Catalog {
	catOnce.Do(func() { cat = fixture.Catalog() })
	return cat
}

// Fixed ids of the test configuration.
var (
	serviceID  = fixture.ID("service", 1)
	routeID    = fixture.ID("route", 1)
	otherRoute = fixture.ID("route", 2)
	consumerID = fixture.ID("consumer", 1)
	alphaID    = fixture.ID("group", 1)
	betaID     = fixture.ID("group", 2)
)

// config builds a test configuration: one service with two routes, a
// consumer "alice" in the consumer groups "beta" and "alpha", and the
// plugins added.
type config struct {
	tb      testing.TB
	set     *configset.Set
	plugins int
}

func newConfig(tb testing.TB) *config {
	tb.Helper()
	c := &config{tb: tb, set: configset.New()}
	c.put(entity.Services, map[string]any{"id": serviceID, "name": "svc", "host": "upstream.internal"})
	c.put(entity.Routes, map[string]any{"id": routeID, "name": "r1", "paths": []any{"/one"}, "service": ref(serviceID)})
	c.put(entity.Routes, map[string]any{"id": otherRoute, "name": "r2", "paths": []any{"/two"}, "service": ref(serviceID)})
	c.put(entity.Consumers, map[string]any{"id": consumerID, "username": "alice", "custom_id": "A-1"})
	c.put(entity.ConsumerGroups, map[string]any{"id": alphaID, "name": "alpha"})
	c.put(entity.ConsumerGroups, map[string]any{"id": betaID, "name": "beta"})
	for _, g := range []string{betaID, alphaID} {
		c.put(entity.ConsumerGroupConsumers, map[string]any{"consumer_group": ref(g), "consumer": ref(consumerID)})
	}
	return c
}

func ref(id string) map[string]any { return map[string]any{"id": id} }

func (c *config) put(typ string, in map[string]any) {
	c.tb.Helper()
	if err := c.set.Put(typ, fixture.Write(catalog(), typ, in)); err != nil {
		c.tb.Fatal(err)
	}
}

// plugin adds a plugin entity; scope holds route, service, consumer and
// consumer_group ids ("" for none).
func (c *config) plugin(name string, cfg map[string]any, scope ...string) string {
	c.tb.Helper()
	c.plugins++
	id := fixture.ID("plugin-"+name, c.plugins)
	in := map[string]any{"id": id, "name": name, "config": cfg}
	for i, field := range []string{"route", "service", "consumer", "consumer_group"} {
		if i < len(scope) && scope[i] != "" {
			in[field] = ref(scope[i])
		}
	}
	c.put(entity.Plugins, in)
	return id
}

// recFactory makes recorders: instances that record each phase they run
// in the request's "trace" (name=marker, the marker being the value of
// one config field) and act on request headers: X-Exit-At, X-Fail-At and
// X-Panic-At name the plugin that exits, fails or panics in access; X-User
// makes the "basic-auth" recorder authenticate that consumer.
type recFactory struct {
	name, field string
	news        *atomic.Int64
}

func (f recFactory) Name() string { return f.name }

func (f recFactory) New(cfg pdk.Config) (pdk.Instance, error) {
	if f.news != nil {
		f.news.Add(1)
	}
	marker := fmt.Sprint(cfg.Config[f.field])
	if marker == "fail-new" {
		return nil, errors.New("refused")
	}
	return &recorder{name: f.name, marker: marker, env: cfg.Env}, nil
}

type recorder struct {
	name, marker string
	env          pdk.Env
}

func trace(ctx pdk.Context, s string) {
	t, _ := ctx.Get("trace").([]string)
	ctx.Set("trace", append(t, s))
}

func traceOf(ctx pdk.Context) string {
	t, _ := ctx.Get("trace").([]string)
	return strings.Join(t, " ")
}

func (r *recorder) Access(ctx pdk.Context) error {
	trace(ctx, "access:"+r.name+"="+r.marker)
	h := ctx.Request().Header
	if r.name == "basic-auth" && h("X-User") != "" {
		if c, ok := r.env.Consumer(h("X-User")); ok {
			ctx.Authenticate(c, &pdk.Credential{ID: "cred", ConsumerID: c.ID, Type: "basicauth_credentials"})
		}
	}
	switch r.name {
	case h("X-Exit-At"):
		ctx.Exit(403, map[string]string{"message": "stopped by " + r.name}, nil)
	case h("X-Fail-At"):
		return errors.New("boom")
	case h("X-Panic-At"):
		panic("boom")
	}
	return nil
}

func (r *recorder) HeaderFilter(ctx pdk.Context) { trace(ctx, "header:"+r.name) }
func (r *recorder) Log(ctx pdk.Context)          { trace(ctx, "log:"+r.name) }

// factories are the recorders of the test plugins, each marked by a
// config field its schema accepts.
func factories(news *atomic.Int64) []pdk.Factory {
	return []pdk.Factory{
		recFactory{"correlation-id", "header_name", news},  // 100001
		recFactory{"cors", "max_age", news},                // 2000
		recFactory{"basic-auth", "realm", news},            // 1100
		recFactory{"ip-restriction", "message", news},      // 990
		recFactory{"rate-limiting", "minute", news},        // 910
		recFactory{"request-termination", "message", news}, // 2
	}
}

// build builds a runtime of c with the chain extension.
func build(tb testing.TB, c *config, fs ...pdk.Factory) (*gateway.Builder, *gateway.Runtime) {
	tb.Helper()
	if fs == nil {
		fs = factories(nil)
	}
	b := gateway.NewBuilder(catalog(), chain.NewExtension(chain.Options{Factories: fs}))
	rt, err := b.Build(context.Background(), c.set, "0123456789abcdef0123456789abcdef")
	if err != nil {
		tb.Fatal(err)
	}
	return b, rt
}

func chains(rt *gateway.Runtime) *chain.Chains { return rt.Part(chain.PartName).(*chain.Chains) }

// run runs every phase of a request on the plan for route (with the
// test service) and returns its context.
func run(p *chain.Plan, ctx *pdktest.Context) *pdktest.Context {
	var x chain.Execution
	x.Start(p)
	x.Access(ctx)
	if !ctx.Exited() {
		ctx.WithResponse(200, nil, []byte("ok"))
	}
	x.HeaderFilter(ctx)
	if x.WantsBody(ctx) {
		x.BodyFilter(ctx, []byte("ok"))
	}
	x.Log(ctx)
	return ctx
}

// update applies changes to a clone of rt's configuration and builds the
// next runtime incrementally.
func update(tb testing.TB, b *gateway.Builder, rt *gateway.Runtime, changes ...protocol.Change) *gateway.Runtime {
	tb.Helper()
	next := rt.Set().Clone()
	if err := next.Apply(changes); err != nil {
		tb.Fatal(err)
	}
	out, err := b.Update(context.Background(), rt, next, "0123456789abcdef0123456789abcdef", changes)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
