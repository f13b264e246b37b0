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
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
)

// PartName is the runtime part the Extension builds: rt.Part(PartName) is
// a *Chains.
const PartName = "plugins"

// Options configure the Extension.
type Options struct {
	// Factories are the plugins this data plane runs (the bundled list,
	// narrowed by GATEHOUSE_PLUGINS).
	Factories []pdk.Factory
	// Registerer is the data plane's Prometheus registry.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// NewExtension returns the gateway.Extension that builds a *Chains for
// every runtime.
func NewExtension(opts Options) gateway.Extension {
	return &extension{opts: opts}
}

type extension struct{ opts Options }

func (e *extension) Name() string { return PartName }

func (e *extension) Build(_ context.Context, _ gateway.Input) (any, error) {
	return nil, errors.New("chain: not implemented yet")
}

// Chains are a runtime's compiled plugin chains.
type Chains struct{}

// Plan returns the compiled chain for requests matched to a route
// (serviceID may be ""); Plan("", "") is the chain of requests that
// matched no route (global plugins only). It never returns nil.
func (c *Chains) Plan(routeID, serviceID string) *Plan { return &Plan{} }

// Plan is one route's compiled chain. It is immutable and shared by
// every request on that route.
type Plan struct{}

// Execution is one request's run through a plan. The zero value is ready
// to use; Reset makes it reusable (the proxy pools them).
type Execution struct{}

// Start prepares x to run plan p for one request.
func (x *Execution) Start(p *Plan) {}

// Reset clears x for reuse.
func (x *Execution) Reset() {}

// Access runs the access phase. Afterwards ctx.Exited() tells whether a
// plugin answered the request; a plugin error has been answered with
// Kong's 500 body.
func (x *Execution) Access(ctx pdk.Context) {}

// WantsBody reports whether a selected instance needs the whole response
// body (BodyFilterer.WantsBody); the proxy then buffers it.
func (x *Execution) WantsBody(ctx pdk.Context) bool { return false }

// HeaderFilter runs the header-filter phase on ctx.Response().
func (x *Execution) HeaderFilter(ctx pdk.Context) {}

// BodyFilter runs the body filters over the buffered response body.
func (x *Execution) BodyFilter(ctx pdk.Context, body []byte) []byte { return body }

// Log runs the log phase.
func (x *Execution) Log(ctx pdk.Context) {}
