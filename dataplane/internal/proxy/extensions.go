package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/proxy/tlsterm"
	"gatehouse.dev/dataplane/internal/router"
	"gatehouse.dev/shared/entity"
)

// The names of the runtime parts the proxy reads.
const (
	// RouterPart is a *router.Router.
	RouterPart = "router"
	// BalancerPart is a *balancer.Set.
	BalancerPart = "balancer"
	// TLSPart is a *tlsterm.Store.
	TLSPart = "tls"
)

// changed reports whether in is a full build, or its changes touch one
// of types.
func changed(in gateway.Input, types ...string) bool {
	if in.Prev == nil || in.Changes == nil {
		return true
	}
	for _, c := range in.Changes {
		if slices.Contains(types, c.Type) {
			return true
		}
	}
	return false
}

// reuse returns prev's part name when in changes none of types.
func reuse[T any](in gateway.Input, name string, types ...string) (T, bool) {
	var zero T
	if changed(in, types...) {
		return zero, false
	}
	p, ok := in.Prev.Part(name).(T)
	return p, ok
}

type routerExtension struct{ log *slog.Logger }

// RouterExtension builds the runtime's router from its routes and
// services (router.Compile leaves out disabled services and their
// routes). A change that touches neither keeps the previous router; a
// delta that does compiles only the routes it changed (router.Patch), a
// snapshot only the records that are new (router.Update). Routes whose
// fields do not compile are left out and logged when compiled.
func RouterExtension(log *slog.Logger) gateway.Extension {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &routerExtension{log: log}
}

func (e *routerExtension) Name() string { return RouterPart }

func (e *routerExtension) Build(_ context.Context, in gateway.Input) (any, error) {
	if r, ok := reuse[*router.Router](in, RouterPart, entity.Routes, entity.Services); ok {
		return r, nil
	}
	set := in.Next.Set()
	var prev *router.Router
	if in.Prev != nil {
		prev, _ = in.Prev.Part(RouterPart).(*router.Router)
	}
	var r *router.Router
	var err error
	if prev != nil && in.Changes != nil {
		// A delta: compile what it changed (router.Patch).
		var routes, services []string
		for _, c := range in.Changes {
			switch c.Type {
			case entity.Routes:
				routes = append(routes, c.ID)
			case entity.Services:
				services = append(services, c.ID)
			}
		}
		r, err = router.Patch(prev, set, routes, services)
	} else {
		r, err = router.Rebuild(prev, set)
	}
	if err != nil {
		return nil, err
	}
	for _, err := range r.Skipped() {
		e.log.Error("route left out of the router: " + err.Error())
	}
	return r, nil
}

type balancerExtension struct{ m *balancer.Manager }

// BalancerExtension builds the runtime's balancers with m, which lives
// as long as the data plane (health and DNS survive swaps). A change that
// touches no upstream or target keeps the previous set.
func BalancerExtension(m *balancer.Manager) gateway.Extension {
	return &balancerExtension{m: m}
}

func (e *balancerExtension) Name() string { return BalancerPart }

func (e *balancerExtension) Build(ctx context.Context, in gateway.Input) (any, error) {
	if s, ok := reuse[*balancer.Set](in, BalancerPart, entity.Upstreams, entity.Targets); ok {
		return s, nil
	}
	set := in.Next.Set()
	s, err := e.m.Update(ctx, set.List(entity.Upstreams), set.List(entity.Targets))
	if err != nil {
		return nil, fmt.Errorf("balancers: %w", err)
	}
	return s, nil
}

type tlsExtension struct{ def *tls.Certificate }

// TLSExtension builds the runtime's TLS material from its certificates,
// snis and ca_certificates, with def as the default certificate. Parsed
// certificates are reused from the previous runtime when unchanged.
func TLSExtension(def *tls.Certificate) gateway.Extension {
	return &tlsExtension{def: def}
}

func (e *tlsExtension) Name() string { return TLSPart }

func (e *tlsExtension) Build(_ context.Context, in gateway.Input) (any, error) {
	types := []string{entity.Certificates, entity.SNIs, entity.CACertificates}
	if s, ok := reuse[*tlsterm.Store](in, TLSPart, types...); ok {
		return s, nil
	}
	var prev *tlsterm.Store
	if in.Prev != nil {
		prev, _ = in.Prev.Part(TLSPart).(*tlsterm.Store)
	}
	set := in.Next.Set()
	return tlsterm.Build(tlsterm.Entities{
		Certificates:   set.List(entity.Certificates),
		SNIs:           set.List(entity.SNIs),
		CACertificates: set.List(entity.CACertificates),
	}, prev, e.def)
}
