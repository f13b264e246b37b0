package chain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

// levels are Kong's precedence levels (kong-admin-api.md 7.1, with Kong
// Enterprise's consumer groups), most specific first: route, service,
// consumer and consumer group of each.
var levels = []struct {
	name     string
	scope    [4]string
	consumer bool // applies only once a consumer is known
}{
	{"consumer+route+service", [4]string{routeID, serviceID, consumerID, ""}, true},
	{"group+route+service", [4]string{routeID, serviceID, "", alphaID}, true},
	{"consumer+route", [4]string{routeID, "", consumerID, ""}, true},
	{"consumer+service", [4]string{"", serviceID, consumerID, ""}, true},
	{"group+route", [4]string{routeID, "", "", alphaID}, true},
	{"group+service", [4]string{"", serviceID, "", alphaID}, true},
	{"route+service", [4]string{routeID, serviceID, "", ""}, false},
	{"consumer", [4]string{"", "", consumerID, ""}, true},
	{"group", [4]string{"", "", "", alphaID}, true},
	{"route", [4]string{routeID, "", "", ""}, false},
	{"service", [4]string{"", serviceID, "", ""}, false},
	{"global", [4]string{"", "", "", ""}, false},
}

// applied runs a request on route (authenticated as alice when user) and
// returns the marker of the rate-limiting configuration that ran, or "".
func applied(rt *gateway.Runtime, route string, user bool) string {
	ctx := pdktest.NewContext("GET", "/one")
	if user {
		ctx.WithHeader("X-User", "alice")
	}
	run(chains(rt).Plan(route, serviceID), ctx)
	for s := range strings.FieldsSeq(traceOf(ctx)) {
		if m, ok := strings.CutPrefix(s, "access:rate-limiting="); ok {
			return m
		}
	}
	return ""
}

// want is the marker the first of the present levels gives.
func want(present []int, user bool, route string) string {
	for _, i := range present {
		l := levels[i]
		if l.consumer && !user || l.scope[0] != "" && l.scope[0] != route {
			continue
		}
		return strconv.Itoa(i + 1)
	}
	return ""
}

func TestPrecedenceEveryLevelAndPair(t *testing.T) {
	t.Parallel()
	var sets [][]int
	for i := range levels {
		sets = append(sets, []int{i})
		for j := i + 1; j < len(levels); j++ {
			sets = append(sets, []int{i, j})
		}
	}
	for _, present := range sets {
		names := make([]string, len(present))
		for k, i := range present {
			names[k] = levels[i].name
		}
		t.Run(strings.Join(names, "/"), func(t *testing.T) {
			t.Parallel()
			c := newConfig(t)
			c.plugin("basic-auth", map[string]any{"realm": "auth"})
			for _, i := range present {
				s := levels[i].scope
				c.plugin("rate-limiting", map[string]any{"minute": i + 1}, s[0], s[1], s[2], s[3])
			}
			_, rt := build(t, c)
			for _, route := range []string{routeID, otherRoute} {
				for _, user := range []bool{true, false} {
					if got, w := applied(rt, route, user), want(present, user, route); got != w {
						t.Errorf("route %s, consumer %v: applied %q, want %q", route[:8], user, got, w)
					}
				}
			}
		})
	}
}

func TestConsumerGroupsDecideAlphabetically(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		groups []string
		want   string
	}{
		{"both", []string{betaID, alphaID}, "1"}, // alpha sorts first
		{"beta only", []string{betaID}, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConfig(t)
			c.plugin("basic-auth", map[string]any{"realm": "auth"})
			for _, g := range tt.groups {
				minute := map[string]int{alphaID: 1, betaID: 2}[g]
				c.plugin("rate-limiting", map[string]any{"minute": minute}, "", "", "", g)
			}
			_, rt := build(t, c)
			if got := applied(rt, routeID, true); got != tt.want {
				t.Errorf("applied %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDisabledConfigurationFallsBack(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.put(entity.Plugins, map[string]any{
		"id": "9a2d0b4c-7c2f-4bd4-8f3c-1c2d3e4f5a6b", "name": "rate-limiting", "enabled": false,
		"config": map[string]any{"minute": 1}, "route": ref(routeID),
	})
	c.plugin("rate-limiting", map[string]any{"minute": 2}, "", serviceID)
	_, rt := build(t, c)
	if got := applied(rt, routeID, false); got != "2" {
		t.Errorf("applied %q, want the service's 2", got)
	}
	if chains(rt).Len() != 1 {
		t.Errorf("chains hold %d instances, want 1", chains(rt).Len())
	}
}

func TestPluginsOfDisabledServicesAreNotServed(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.put(entity.Services, map[string]any{"id": serviceID, "name": "svc", "host": "upstream.internal", "enabled": false})
	c.plugin("rate-limiting", map[string]any{"minute": 1}, "", serviceID)
	c.plugin("rate-limiting", map[string]any{"minute": 2}, routeID)
	_, rt := build(t, c)
	if chains(rt).Len() != 0 {
		t.Errorf("chains hold %d instances, want none", chains(rt).Len())
	}
}

// everyPlugin configures every recorder globally.
func everyPlugin(t *testing.T) *config {
	t.Helper()
	c := newConfig(t)
	c.plugin("request-termination", map[string]any{"message": "m"})
	c.plugin("rate-limiting", map[string]any{"minute": 1})
	c.plugin("ip-restriction", map[string]any{"allow": []any{"0.0.0.0/0"}, "message": "m"})
	c.plugin("basic-auth", map[string]any{"realm": "r"})
	c.plugin("cors", map[string]any{"max_age": 1})
	c.plugin("correlation-id", map[string]any{"header_name": "h"})
	return c
}

const (
	allAccess = "access:correlation-id=h access:cors=1 access:basic-auth=r access:ip-restriction=m access:rate-limiting=1 access:request-termination=m"
	allHeader = "header:correlation-id header:cors header:basic-auth header:ip-restriction header:rate-limiting header:request-termination"
	allLog    = "log:correlation-id log:cors log:basic-auth log:ip-restriction log:rate-limiting log:request-termination"
)

func TestPhasesRunInPriorityOrder(t *testing.T) {
	t.Parallel()
	_, rt := build(t, everyPlugin(t))
	ctx := run(chains(rt).Plan(routeID, serviceID), pdktest.NewContext("GET", "/one"))
	if got, want := traceOf(ctx), allAccess+" "+allHeader+" "+allLog; got != want {
		t.Errorf("trace\n got %s\nwant %s", got, want)
	}
}

func TestAnswerSkipsLaterAccessHandlersOnly(t *testing.T) {
	t.Parallel()
	_, rt := build(t, everyPlugin(t))
	firstThree := "access:correlation-id=h access:cors=1 access:basic-auth=r"
	tests := []struct {
		header, status, message string
	}{
		{"X-Exit-At", "403", "stopped by basic-auth"},
		{"X-Fail-At", "500", "An unexpected error occurred"},
		{"X-Panic-At", "500", "An unexpected error occurred"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			ctx := run(chains(rt).Plan(routeID, serviceID), pdktest.NewContext("GET", "/one").WithHeader(tt.header, "basic-auth"))
			if got, want := traceOf(ctx), firstThree+" "+allHeader+" "+allLog; got != want {
				t.Errorf("trace\n got %s\nwant %s", got, want)
			}
			e := ctx.ExitCall()
			m, err := e.JSON()
			if err != nil || strconv.Itoa(e.Status) != tt.status || m["message"] != tt.message {
				t.Errorf("answer = %d %s (%v)", e.Status, e.Body, err)
			}
		})
	}
}

func TestConsumerResolvedLazily(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.plugin("basic-auth", map[string]any{"realm": "r"})
	// correlation-id runs before the auth plugin: its consumer-scoped
	// configuration never applies.
	c.plugin("correlation-id", map[string]any{"header_name": "global"})
	c.plugin("correlation-id", map[string]any{"header_name": "consumer"}, "", "", consumerID)
	c.plugin("rate-limiting", map[string]any{"minute": 1})
	c.plugin("rate-limiting", map[string]any{"minute": 99}, "", "", consumerID)
	_, rt := build(t, c)
	tests := []struct {
		user bool
		want string
	}{
		{true, "access:correlation-id=global access:basic-auth=r access:rate-limiting=99"},
		{false, "access:correlation-id=global access:basic-auth=r access:rate-limiting=1"},
	}
	for _, tt := range tests {
		ctx := pdktest.NewContext("GET", "/one")
		if tt.user {
			ctx.WithHeader("X-User", "alice")
		}
		run(chains(rt).Plan(routeID, serviceID), ctx)
		if got := traceOf(ctx); !strings.HasPrefix(got, tt.want+" header:") {
			t.Errorf("consumer %v: trace %s, want %s first", tt.user, got, tt.want)
		}
	}
}

func TestUnmatchedRequestsRunGlobalPluginsOnly(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1})
	c.plugin("rate-limiting", map[string]any{"minute": 1}, routeID)
	c.plugin("request-termination", map[string]any{"message": "svc"}, "", serviceID)
	_, rt := build(t, c)
	p := chains(rt).Plan("", "")
	if p != chains(rt).Plan(fixture404, "") {
		t.Error("an unknown route does not get the global plan")
	}
	// The proxy may answer without the access phase (no route matched):
	// the later phases then run what applies without a consumer.
	var x chain.Execution
	x.Start(p)
	ctx := pdktest.NewContext("GET", "/nowhere").WithResponse(404, nil, nil)
	x.HeaderFilter(ctx)
	x.Log(ctx)
	if got := traceOf(ctx); got != "header:cors log:cors" {
		t.Errorf("trace %s", got)
	}
	ctx = run(chains(rt).Plan(otherRoute, serviceID), pdktest.NewContext("GET", "/two"))
	if got := traceOf(ctx); !strings.HasPrefix(got, "access:cors=1 access:request-termination=svc header:") {
		t.Errorf("other route: trace %s", got)
	}
}

const fixture404 = "00000000-0000-4000-8000-000000000404"

func TestExecutionIsReusable(t *testing.T) {
	t.Parallel()
	_, rt := build(t, everyPlugin(t))
	var x chain.Execution
	for range 3 {
		ctx := pdktest.NewContext("GET", "/one")
		x.Start(chains(rt).Plan(routeID, serviceID))
		x.Access(ctx)
		ctx.WithResponse(200, nil, nil)
		x.HeaderFilter(ctx)
		x.Log(ctx)
		x.Reset()
		if got, want := traceOf(ctx), allAccess+" "+allHeader+" "+allLog; got != want {
			t.Fatalf("trace\n got %s\nwant %s", got, want)
		}
	}
}

func TestSpansPerPluginPhase(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1})
	c.plugin("rate-limiting", map[string]any{"minute": 1})
	_, rt := build(t, c)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reqCtx, span := tp.Tracer("test").Start(context.Background(), "kong")
	ctx := pdktest.NewContext("GET", "/one").WithContext(reqCtx).WithHeader("X-Fail-At", "rate-limiting")
	run(chains(rt).Plan(routeID, serviceID), ctx)
	span.End()
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() != "kong" && s.Parent().SpanID() != span.SpanContext().SpanID() {
			t.Errorf("span %s is not a child of the request's", s.Name())
		}
		if s.Name() == "kong.access.plugin.rate-limiting" && s.Status().Description != "boom" {
			t.Errorf("failed plugin span status = %+v", s.Status())
		}
	}
	want := "kong.access.plugin.cors kong.access.plugin.rate-limiting kong.header_filter.plugin.cors " +
		"kong.header_filter.plugin.rate-limiting kong.log.plugin.cors kong.log.plugin.rate-limiting kong"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("spans\n got %s\nwant %s", got, want)
	}
}

func TestBuildRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, plugin string
		config       map[string]any
		want         string
	}{
		{"no factory", "acl", map[string]any{"allow": []any{"a"}}, "does not run the acl plugin"},
		{"New fails", "request-termination", map[string]any{"message": "fail-new"}, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newConfig(t)
			id := c.plugin(tt.plugin, tt.config)
			b := gateway.NewBuilder(catalog(), chain.NewExtension(chain.Options{Factories: factories(nil)}))
			_, err := b.Build(context.Background(), c.set, "0123456789abcdef0123456789abcdef")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), id) {
				t.Errorf("error = %v", err)
			}
		})
	}
}

func TestNewPanicIsAnError(t *testing.T) {
	t.Parallel()
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1})
	b := gateway.NewBuilder(catalog(), chain.NewExtension(chain.Options{Factories: []pdk.Factory{panicFactory{}}}))
	if _, err := b.Build(context.Background(), c.set, "0123456789abcdef0123456789abcdef"); err == nil ||
		!strings.Contains(err.Error(), "panic: broken") {
		t.Errorf("error = %v", err)
	}
}

type panicFactory struct{}

func (panicFactory) Name() string                         { return "cors" }
func (panicFactory) New(pdk.Config) (pdk.Instance, error) { panic("broken") }

// envFactory makes ip-restriction instances that count consumers through
// an Index in New, and say the count in their trace.
type envFactory struct{ news, builds *atomic.Int64 }

func (envFactory) Name() string { return "ip-restriction" }

func (f envFactory) New(cfg pdk.Config) (pdk.Instance, error) {
	f.news.Add(1)
	n := cfg.Env.Index("test:consumers", func() any {
		f.builds.Add(1)
		n := 0
		cfg.Env.Each(entity.Consumers, func(map[string]any) { n++ })
		return n
	}).(int)
	_, alice := cfg.Env.Consumer("alice")
	return &recorder{name: "ip-restriction", marker: fmt.Sprintf("%d-%v", n, alice), env: cfg.Env}, nil
}

func TestIncrementalBuildKeepsWhatDidNotChange(t *testing.T) {
	t.Parallel()
	var news, envNews, builds atomic.Int64
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1})
	rl := c.plugin("rate-limiting", map[string]any{"minute": 1}, routeID)
	c.plugin("ip-restriction", map[string]any{"allow": []any{"0.0.0.0/0"}}, routeID)
	c.plugin("ip-restriction", map[string]any{"allow": []any{"0.0.0.0/0"}}, otherRoute)
	recorders := factories(&news)
	fs := []pdk.Factory{recorders[0], recorders[1], recorders[2], envFactory{&envNews, &builds}, recorders[4]}
	b, rt := build(t, c, fs...)
	if news.Load() != 2 || envNews.Load() != 2 || builds.Load() != 1 {
		t.Fatalf("first build: %d recorders, %d env instances, %d index builds", news.Load(), envNews.Load(), builds.Load())
	}
	check := func(rt *gateway.Runtime, want string) {
		t.Helper()
		ctx := run(chains(rt).Plan(routeID, serviceID), pdktest.NewContext("GET", "/one"))
		if got := traceOf(ctx); !strings.HasPrefix(got, want+" header:") {
			t.Errorf("trace %s, want %s first", got, want)
		}
	}
	check(rt, "access:cors=1 access:ip-restriction=1-true access:rate-limiting=1")

	// A changed plugin is made again; nothing else is.
	upd := upsert(t, entity.Plugins, map[string]any{"id": rl, "name": "rate-limiting", "config": map[string]any{"minute": 5}, "route": ref(routeID)})
	rt = update(t, b, rt, upd)
	if news.Load() != 3 || envNews.Load() != 2 || builds.Load() != 1 {
		t.Errorf("plugin change: %d recorders, %d env instances, %d index builds", news.Load(), envNews.Load(), builds.Load())
	}
	check(rt, "access:cors=1 access:ip-restriction=1-true access:rate-limiting=5")

	// A route change touches no instance.
	route := upsert(t, entity.Routes, map[string]any{"id": otherRoute, "name": "r2", "paths": []any{"/2"}, "service": ref(serviceID)})
	rt = update(t, b, rt, route)
	if news.Load() != 3 || envNews.Load() != 2 || builds.Load() != 1 {
		t.Errorf("route change: %d recorders, %d env instances, %d index builds", news.Load(), envNews.Load(), builds.Load())
	}

	// A consumer change remakes the instances that read consumers, and
	// their shared index once.
	bob := upsert(t, entity.Consumers, map[string]any{"id": fixture2, "username": "bob"})
	rt = update(t, b, rt, bob)
	if news.Load() != 3 || envNews.Load() != 4 || builds.Load() != 2 {
		t.Errorf("consumer change: %d recorders, %d env instances, %d index builds", news.Load(), envNews.Load(), builds.Load())
	}
	check(rt, "access:cors=1 access:ip-restriction=2-true access:rate-limiting=5")

	// Deleting the consumer the instances looked up remakes them too.
	del := append(deleteMemberships(rt), protocol.Change{Op: protocol.OpDelete, Type: entity.Consumers, ID: consumerID})
	rt = update(t, b, rt, del...)
	check(rt, "access:cors=1 access:ip-restriction=1-false access:rate-limiting=5")
}

const fixture2 = "3f0c8a52-2b1e-4c7d-9e6f-0a1b2c3d4e5f"

// upsert returns an upsert change of a processed entity.
func upsert(t *testing.T, typ string, in map[string]any) protocol.Change {
	t.Helper()
	e := fixture.Write(catalog(), typ, in)
	return protocol.Change{Op: protocol.OpUpsert, Type: typ, ID: e["id"].(string), Entity: e}
}

func deleteMemberships(rt *gateway.Runtime) []protocol.Change {
	var out []protocol.Change
	for _, m := range rt.Set().List(entity.ConsumerGroupConsumers) {
		out = append(out, protocol.Change{Op: protocol.OpDelete, Type: entity.ConsumerGroupConsumers, ID: m["id"].(string)})
	}
	return out
}

// TestIncrementalBuildMatchesFullBuild applies random changes (plugins of
// every scope added, changed, disabled and removed; a route moved between
// services) and checks after each that the incrementally built chains
// resolve every request as a full build of the same configuration does.
func TestIncrementalBuildMatchesFullBuild(t *testing.T) {
	t.Parallel()
	const service2 = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"
	const disabled = "5f6a7b8c-9d0e-4f1a-b2c3-d4e5f6a7b8c9"
	c := newConfig(t)
	c.put(entity.Services, map[string]any{"id": service2, "name": "svc2", "host": "other.internal"})
	c.put(entity.Services, map[string]any{"id": disabled, "name": "off", "host": "off.internal", "enabled": false})
	c.plugin("basic-auth", map[string]any{"realm": "r"})
	b, rt := build(t, c)
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible sequence of test changes
	pick := func(options ...string) string { return options[rng.IntN(len(options))] }
	var ids []string
	for step := range 300 {
		var changes []protocol.Change
		switch n := rng.IntN(12); {
		case n < 5 || len(ids) == 0: // add a plugin
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", step, step)
			ids = append(ids, id)
			changes = append(changes, randomPlugin(id, rng, pick, service2))
		case n < 7: // change one
			changes = append(changes, randomPlugin(ids[rng.IntN(len(ids))], rng, pick, service2))
		case n < 9: // remove one
			i := rng.IntN(len(ids))
			changes = append(changes, protocol.Change{Op: protocol.OpDelete, Type: entity.Plugins, ID: ids[i]})
			ids = slices.Delete(ids, i, i+1)
		case n < 11: // move the second route, possibly to or from a disabled service
			changes = append(changes, upsert(t, entity.Routes, map[string]any{
				"id": otherRoute, "name": "r2", "paths": []any{"/two"}, "service": ref(pick(serviceID, service2, disabled)),
			}))
		default: // turn the second service on or off, or rename it
			changes = append(changes, upsert(t, entity.Services, map[string]any{
				"id": service2, "name": pick("svc2", "svc2-renamed"), "host": "other.internal", "enabled": rng.IntN(2) == 0,
			}))
		}
		rt = update(t, b, rt, changes...)
		_, full := build(t, &config{tb: t, set: rt.Set()})
		for _, route := range []string{routeID, otherRoute, ""} {
			service := ""
			if r, ok := rt.Set().Get(entity.Routes, route); ok {
				service = r["service"].(map[string]any)["id"].(string)
			}
			for _, user := range []string{"", "alice"} {
				got, want := pdktest.NewContext("GET", "/"), pdktest.NewContext("GET", "/")
				if user != "" {
					got.WithHeader("X-User", user)
					want.WithHeader("X-User", user)
				}
				run(chains(rt).Plan(route, service), got)
				run(chains(full).Plan(route, service), want)
				if traceOf(got) != traceOf(want) {
					t.Fatalf("step %d (%v), route %q user %q:\nincremental %s\n       full %s", step, changes[0].Op,
						route, user, traceOf(got), traceOf(want))
				}
			}
		}
	}
}

func randomPlugin(id string, rng *rand.Rand, pick func(...string) string, service2 string) protocol.Change {
	name := pick("rate-limiting", "request-termination")
	in := map[string]any{"id": id, "name": name, "enabled": rng.IntN(8) != 0}
	marker := strconv.Itoa(rng.IntN(1000))
	if name == "rate-limiting" {
		in["config"] = map[string]any{"minute": rng.IntN(1000) + 1}
	} else {
		in["config"] = map[string]any{"message": marker}
	}
	if r := pick("", routeID, otherRoute); r != "" {
		in["route"] = ref(r)
	}
	if s := pick("", serviceID, service2); s != "" {
		in["service"] = ref(s)
	}
	switch rng.IntN(4) {
	case 0:
		in["consumer"] = ref(consumerID)
	case 1:
		in["consumer_group"] = ref(pick(alphaID, betaID))
	}
	e := fixture.Write(catalog(), entity.Plugins, in)
	return protocol.Change{Op: protocol.OpUpsert, Type: entity.Plugins, ID: id, Entity: e}
}

// TestChainsConcurrentSafe runs requests on one runtime's plans while
// later runtimes are built from it, keeping its instances.
func TestChainsConcurrentSafe(t *testing.T) {
	t.Parallel()
	c := everyPlugin(t)
	c.plugin("rate-limiting", map[string]any{"minute": 7}, "", "", consumerID)
	b, rt := build(t, c)
	first := rt
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var x chain.Execution
			for range 200 {
				ctx := pdktest.NewContext("GET", "/one").WithHeader("X-User", "alice")
				x.Start(chains(first).Plan(routeID, serviceID))
				x.Access(ctx)
				ctx.WithResponse(200, nil, nil)
				x.HeaderFilter(ctx)
				x.Log(ctx)
				x.Reset()
				if !strings.Contains(traceOf(ctx), "access:rate-limiting=7") {
					t.Errorf("trace %s", traceOf(ctx))
					return
				}
			}
		})
	}
	for i := range 20 {
		rt = update(t, b, rt, upsert(t, entity.Consumers, map[string]any{
			"id": fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), "username": fmt.Sprintf("u%d", i),
		}))
	}
	wg.Wait()
}

// liveFactory makes cors instances holding a Live count of consumers,
// which they put in the request's trace.
type liveFactory struct{ news, builds *atomic.Int64 }

func (liveFactory) Name() string { return "cors" }

func (f liveFactory) New(cfg pdk.Config) (pdk.Instance, error) {
	f.news.Add(1)
	l := cfg.Env.Live("test:consumers", func(env pdk.Env) any {
		f.builds.Add(1)
		n := 0
		env.Each(entity.Consumers, func(map[string]any) { n++ })
		return n
	})
	return &liveInstance{l: l}, nil
}

type liveInstance struct{ l pdk.Live }

func (i *liveInstance) Access(ctx pdk.Context) error {
	trace(ctx, fmt.Sprintf("consumers=%d", i.l.Get().(int)))
	return nil
}

// TestLiveValuesFollowTheRuntime: an instance holding a Live is kept
// when the entities its value reads change; the value is built again for
// the new runtime, once, before it serves, and kept when nothing it reads
// changed.
func TestLiveValuesFollowTheRuntime(t *testing.T) {
	t.Parallel()
	var news, builds atomic.Int64
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1}, routeID)
	c.plugin("cors", map[string]any{"max_age": 2}, otherRoute)
	b, rt := build(t, c, liveFactory{&news, &builds})
	seen := func(rt *gateway.Runtime) string {
		return traceOf(run(chains(rt).Plan(routeID, serviceID), pdktest.NewContext("GET", "/")))
	}
	if news.Load() != 2 || builds.Load() != 1 || !strings.HasPrefix(seen(rt), "consumers=1") {
		t.Fatalf("first build: %d instances, %d builds, trace %s", news.Load(), builds.Load(), seen(rt))
	}

	// A consumer added: the instances are kept, the value built once,
	// before the runtime serves.
	next := update(t, b, rt, upsert(t, entity.Consumers, map[string]any{"id": fixture2, "username": "bob"}))
	if news.Load() != 2 || builds.Load() != 2 {
		t.Errorf("consumer change: %d instances made, %d builds; want 2 and 2", news.Load(), builds.Load())
	}
	if got := seen(next); !strings.HasPrefix(got, "consumers=2") {
		t.Errorf("after a consumer change the instance sees %s", got)
	}
	if builds.Load() != 2 {
		t.Errorf("a request built the value (%d builds)", builds.Load())
	}

	// A route change: the value is kept, not built again.
	next = update(t, b, next, upsert(t, entity.Routes, map[string]any{"id": otherRoute, "name": "r2", "paths": []any{"/zwei"}, "service": ref(serviceID)}))
	if got := seen(next); news.Load() != 2 || builds.Load() != 2 || !strings.HasPrefix(got, "consumers=2") {
		t.Errorf("route change: %d instances, %d builds, trace %s", news.Load(), builds.Load(), got)
	}
}

// TestFailedBuildLeavesServingInstancesAlone: instances kept by a build
// that fails, or by a runtime that has not served yet, go on reading the
// runtime that serves; and an older runtime serving late does not take
// them back from a newer one.
func TestFailedBuildLeavesServingInstancesAlone(t *testing.T) {
	t.Parallel()
	var news, builds, panics atomic.Int64
	c := newConfig(t)
	c.plugin("cors", map[string]any{"max_age": 1}, routeID)
	b, rt := build(t, c, liveFactory{&news, &builds}, panicOnDemand{&panics})
	seen := func(rt *gateway.Runtime) string {
		return traceOf(run(chains(rt).Plan(routeID, serviceID), pdktest.NewContext("GET", "/")))
	}
	if got := seen(rt); !strings.HasPrefix(got, "consumers=1") {
		t.Fatalf("first build: %s", got)
	}
	// A consumer and a plugin whose New panics: the build fails.
	bob := upsert(t, entity.Consumers, map[string]any{"id": fixture2, "username": "bob"})
	bad := upsert(t, entity.Plugins, map[string]any{"id": fixture.ID("plugin-bad", 1), "name": "request-termination", "config": map[string]any{"message": "m"}})
	next := rt.Set().Clone()
	if err := next.Apply([]protocol.Change{bob, bad}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update(context.Background(), rt, next, "0123456789abcdef0123456789abcdef", []protocol.Change{bob, bad}); err == nil {
		t.Fatal("the build with a panicking plugin succeeded")
	}
	if got := seen(rt); !strings.HasPrefix(got, "consumers=1") {
		t.Errorf("after a failed build the serving runtime's instance sees %s", got)
	}
	// Two good builds; the newer serves first, then the older late.
	r2 := update(t, b, rt, bob)
	r3 := update(t, b, r2, upsert(t, entity.Consumers, map[string]any{"id": fixture.ID("consumer", 3), "username": "carol"}))
	if got := seen(r3); !strings.HasPrefix(got, "consumers=3") {
		t.Errorf("newest runtime: %s", got)
	}
	seen(r2)
	if got := seen(r3); !strings.HasPrefix(got, "consumers=3") {
		t.Errorf("after an older runtime served late, the newest sees %s", got)
	}
}

// panicOnDemand makes request-termination instances whose New panics.
type panicOnDemand struct{ n *atomic.Int64 }

func (panicOnDemand) Name() string { return "request-termination" }

func (p panicOnDemand) New(pdk.Config) (pdk.Instance, error) {
	p.n.Add(1)
	panic("broken on purpose")
}
