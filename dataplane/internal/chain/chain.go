// Package chain decides which plugin instances run for a request and runs
// them, as Kong's plugins iterator does: for each plugin name the single
// most specific enabled configuration for the request's route, service,
// consumer and consumer groups (Kong's precedence, first match wins),
// resolved lazily in priority order so that a consumer authenticated by
// an auth plugin selects consumer-scoped configurations for the plugins
// after it; access handlers in priority order until one exits; header and
// body filters and log handlers for every instance that was selected.
// Chains are compiled per route when the runtime is built, not per
// request.
//
// THIS FILE IS THE CONTRACT between the proxy and the chain: the proxy
// calls only what is declared here.
package chain

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	sharedplugin "gatehouse.dev/shared/plugin"
)

// PartName is the runtime part the Extension builds: rt.Part(PartName) is
// a *Chains.
const PartName = "plugins"

// Options configure the Extension.
type Options struct {
	// Factories are the plugins this data plane runs (the bundled list,
	// narrowed by GATEHOUSE_PLUGINS).
	Factories []pdk.Factory
	// Registerer is the data plane's Prometheus registry (a registry of
	// its own when nil).
	Registerer prometheus.Registerer
	// Logger is the data plane's logger (discarding when nil).
	Logger *slog.Logger
	// Now is the clock plugins read through pdk.Env (time.Now when nil).
	Now func() time.Time
}

// NewExtension returns the gateway.Extension that builds a *Chains for
// every runtime. Plugins run in Kong's order: shared/plugin's PRIORITY,
// descending, equal priorities by name descending.
//
// A runtime built from a previous one and its changes keeps the previous
// runtime's instances whose plugin entity did not change and whose
// Factory, while New ran, read nothing through pdk.Env that changed
// (Entity, Each, Consumer, and the builds of Index, are recorded);
// every other instance is made again. Factories should therefore do their
// configuration lookups in New, through Index for tables shared by all
// instances; after New, an instance's Env reads the newest runtime that
// keeps it.
func NewExtension(opts Options) gateway.Extension {
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &builder{
		opts: &opts, factories: map[string]pdk.Factory{}, priority: map[string]int{},
		spans: map[string]*[numPhases]string{},
	}
	for _, f := range opts.Factories {
		b.factories[f.Name()] = f
		b.spans[f.Name()] = spanNames(f.Name())
	}
	for _, p := range sharedplugin.Bundled() {
		b.priority[p.Name] = p.Priority
	}
	return &extension{b: b}
}

type extension struct{ b *builder }

func (e *extension) Name() string { return PartName }

// Build compiles the chains of in.Next, keeping what it can of
// in.Prev's when in.Changes lists the changes between them.
func (e *extension) Build(ctx context.Context, in gateway.Input) (any, error) {
	var prev *Chains
	if in.Prev != nil && in.Changes != nil {
		prev, _ = in.Prev.Part(PartName).(*Chains)
	}
	return e.b.build(ctx, in.Next, in.Prev, prev, in.Changes)
}

// Chains are a runtime's compiled plugin chains. They are immutable and
// safe for concurrent use.
type Chains struct {
	env     *runtimeEnv
	entries map[string]*entry // by plugin id
	names   []string          // plugin names in execution order
	global  *Plan
	// routes holds the plans of routes with route-scoped plugins,
	// services those of services with service-scoped plugins; every
	// other route shares its service's plan or the global one.
	routes, services map[string]*Plan
	// byRoute lists the plugins scoped to each route, served or not (for
	// the next build); shared between chains, never modified.
	byRoute map[string][]string
	// kept are the Envs of the instances kept from the previous chains.
	// They are pointed at this runtime when it serves its first request
	// (activate), not when it is built: a runtime that fails to build, or
	// is never swapped in, must not change what serving instances read.
	kept     []*env
	activate sync.Once
	// buckets are the entries grouped by name and scope, kept for the
	// next build (never modified once compiled).
	buckets map[bucketKey]*bucket
}

// repoint makes the kept instances read this runtime.
// A runtime that serves late (its first request after a newer one's) does
// not take the instances back.
func (c *Chains) repoint() {
	for _, e := range c.kept {
		for {
			cur := e.rt.Load()
			if cur.gen >= c.env.gen || e.rt.CompareAndSwap(cur, c.env) {
				break
			}
		}
	}
	c.kept = nil
}

// emptyPlan is the plan of a runtime without chains.
var emptyPlan = &Plan{}

// Plan returns the compiled chain for requests matched to a route
// (serviceID may be ""); Plan("", "") is the chain of requests that
// matched no route (global plugins only). It never returns nil.
func (c *Chains) Plan(routeID, serviceID string) *Plan {
	if c == nil {
		return emptyPlan
	}
	c.activate.Do(c.repoint)
	if p, ok := c.routes[routeID]; ok && routeID != "" {
		return p
	}
	if p, ok := c.services[serviceID]; ok && serviceID != "" {
		return p
	}
	return c.global
}

// Len reports how many plugin instances the chains hold.
func (c *Chains) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}

// Plan is one route's compiled chain. It is immutable and shared by
// every request on that route.
type Plan struct {
	slots []slot // one per plugin name with candidates, in execution order
	body  bool   // some candidate filters bodies
}

// Execution is one request's run through a plan. The zero value is ready
// to use; Reset makes it reusable (the proxy pools them). An Execution is
// used by one goroutine at a time.
type Execution struct {
	plan      *Plan
	selected  []*entry // in execution order
	wants     []bool   // per selected entry: it asked for the body
	collected bool     // selected is known (the access phase ran)
	wrap      spanContext
}

// Start prepares x to run plan p for one request.
func (x *Execution) Start(p *Plan) {
	if p == nil {
		p = emptyPlan
	}
	x.plan = p
}

// Reset clears x for reuse.
func (x *Execution) Reset() {
	clear(x.selected)
	x.selected = x.selected[:0]
	x.wants = x.wants[:0]
	x.plan, x.collected = nil, false
	x.wrap = spanContext{}
}

// Access runs the access phase. Afterwards ctx.Exited() tells whether a
// plugin answered the request; a plugin error has been answered with
// Kong's 500 body.
func (x *Execution) Access(ctx pdk.Context) { x.access(ctx) }

// WantsBody reports whether a selected instance needs the whole response
// body (BodyFilterer.WantsBody); the proxy then buffers it.
func (x *Execution) WantsBody(ctx pdk.Context) bool { return x.wantsBody(ctx) }

// HeaderFilter runs the header-filter phase on ctx.Response().
func (x *Execution) HeaderFilter(ctx pdk.Context) { x.headerFilter(ctx) }

// BodyFilter runs the body filters over the buffered response body.
func (x *Execution) BodyFilter(ctx pdk.Context, body []byte) []byte { return x.bodyFilter(ctx, body) }

// Log runs the log phase.
func (x *Execution) Log(ctx pdk.Context) { x.logPhase(ctx) }
