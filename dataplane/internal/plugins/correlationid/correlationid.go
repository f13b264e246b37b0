// Package correlationid is Kong's correlation-id plugin: a request
// without the configured header (Kong-Request-ID by default) gets one
// before it goes upstream, made by the configured generator ("uuid",
// "uuid#counter" or "tracker"); a request that has one keeps it. With
// echo_downstream the id is also sent back in the response.
package correlationid

import (
	"fmt"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "correlation-id"

// ctxKey is where Access leaves the id for HeaderFilter (Kong's
// kong.ctx.plugin.correlation_id).
const ctxKey = "correlation-id.id"

// Factory makes correlation-id instances.
type Factory struct{}

// Name returns "correlation-id".
func (Factory) Name() string { return Name }

// New reads one plugin entity's configuration.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	name := conf.String(c, "generator")
	gen, ok := generators[name]
	if !ok {
		return nil, fmt.Errorf("unknown generator %q", name)
	}
	header := conf.String(c, "header_name")
	if header == "" {
		header = "Kong-Request-ID"
	}
	return &instance{header: header, generate: gen, echo: conf.Bool(c, "echo_downstream")}, nil
}

// instance is one configured correlation-id.
type instance struct {
	header   string
	generate generator
	echo     bool
}

var (
	_ pdk.Accesser       = (*instance)(nil)
	_ pdk.HeaderFilterer = (*instance)(nil)
)

// Access keeps the request's id, or sets a new one on the upstream
// request. An id sent empty is kept: Kong generates one only when the
// header is absent (kong.request.get_header returns "", which Lua holds
// true).
func (p *instance) Access(ctx pdk.Context) error {
	id, ok := p.requestID(ctx)
	if !ok {
		id = p.generate(ctx)
		ctx.Upstream().SetHeader(p.header, id)
	}
	if p.echo {
		ctx.Set(ctxKey, id)
	}
	return nil
}

// requestID returns the request's id header (its first value) and whether
// the request has one.
func (p *instance) requestID(ctx pdk.Context) (string, bool) {
	values := ctx.Request().HeaderValues(p.header)
	if len(values) == 0 {
		return "", false
	}
	return values[0], true
}

// HeaderFilter echoes the id to the client with echo_downstream: the one
// Access used, else the request's, else a new one (a request answered
// before this plugin's access phase ran). An empty id is not echoed:
// Kong's kong.response.set_header with "" removes the header.
func (p *instance) HeaderFilter(ctx pdk.Context) {
	if !p.echo {
		return
	}
	id, ok := ctx.Get(ctxKey).(string)
	if !ok {
		if id, ok = p.requestID(ctx); !ok {
			id = p.generate(ctx)
		}
	}
	if id == "" {
		ctx.Response().DelHeader(p.header)
		return
	}
	ctx.Response().SetHeader(p.header, id)
}
