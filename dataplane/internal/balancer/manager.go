package balancer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/healthcheck"
)

// Options configure a Manager. The zero value is usable.
type Options struct {
	// Resolver resolves host names; nil uses dns.SystemClient.
	Resolver dns.Resolver

	// DNS tunes the DNS cache (its OnChange is the Manager's).
	DNS dns.CacheOptions

	// Logger receives health changes and probe setup errors; nil uses
	// slog.Default().
	Logger *slog.Logger

	// RootCAs verifies https health probes; nil uses the system roots.
	RootCAs *x509.CertPool

	// ClientCertificate returns the certificate an upstream's
	// client_certificate (an id) names, presented by https health
	// probes. Nil, or an error, probes without one.
	ClientCertificate func(id string) (*tls.Certificate, error)
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("balancer manager closed")

// Manager owns the data plane's balancers and what keeps them current:
// the DNS cache and its refresher, and the active health checkers of
// every upstream that probes. Health state is per data plane and survives
// configuration swaps: Update builds new balancers that adopt the state of
// the addresses they keep. A Manager is safe for concurrent use.
type Manager struct {
	lifeCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	opts    Options
	log     *slog.Logger
	dns     *dns.Cache
	gen     atomic.Uint64 // bumped on every address availability change
	hosts   sync.Map      // hostKey -> *hostTarget

	mu       sync.Mutex // serialises builds (Update, DNS changes) and Close
	current  atomic.Pointer[Set]
	checkers map[string]*checkerRun // by upstream key
	closed   bool
}

// checkerRun is a running active checker.
type checkerRun struct {
	cancel    context.CancelFunc
	checker   *healthcheck.Checker
	intervals [2]time.Duration
}

// New returns a manager with no upstreams and starts its DNS refresher.
// Everything it starts stops when ctx ends or Close is called; Close
// waits for it.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Resolver == nil {
		c, err := dns.SystemClient()
		if err != nil {
			return nil, fmt.Errorf("dns configuration: %w", err)
		}
		opts.Resolver = c
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, log: opts.Logger, checkers: map[string]*checkerRun{}}
	m.lifeCtx, m.stop = context.WithCancel(ctx)
	cacheOpts := opts.DNS
	cacheOpts.OnChange = m.dnsChanged
	m.dns = dns.NewCache(opts.Resolver, cacheOpts)
	m.current.Store(newSet(m, nil))
	m.wg.Go(func() { m.dns.Run(m.lifeCtx) })
	return m, nil
}

// Close stops the DNS refresher and the health checkers and waits for
// them. Sets already returned keep picking (without refreshes). Close is
// idempotent.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for _, run := range m.checkers {
		run.cancel()
	}
	clear(m.checkers)
	m.mu.Unlock()
	m.stop()
	m.wg.Wait()
}

// Current returns the set of the last Update (an empty set before any).
func (m *Manager) Current() *Set { return m.current.Load() }

// Update builds the balancers of a configuration: upstreams and targets
// are entities as a configuration holds them (numbers of any decoded
// type; targets of unknown upstreams are ignored). Host names of targets
// not cached yet are resolved first, within ctx. Balancers whose upstream,
// targets and DNS answers did not change are reused as they are; the
// others adopt the health, connection counts and latencies of the
// addresses they keep.
//
// The returned Set is what the proxy serves from: the caller publishes it
// with the rest of its runtime. From now on the Manager probes, refreshes
// and reports this Set; sets returned earlier keep working for the
// requests still using them. Update returns an error, and changes nothing,
// for a malformed entity or when ctx ends.
func (m *Manager) Update(ctx context.Context, upstreams, targets []map[string]any) (*Set, error) {
	specs, err := parseConfig(upstreams, targets)
	if err != nil {
		return nil, err
	}
	keys := dnsKeys(specs)
	// Keep the previous names refreshed until the new set is in place.
	m.dns.Pin(append(keys, m.current.Load().dnsKeys()...))
	if err := m.resolve(ctx, keys); err != nil {
		return nil, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	prev := m.current.Load()
	set := newSet(m, specs)
	for _, sl := range set.list {
		sl.bal.Store(m.build(ctx, sl.spec, prev.byKey[sl.spec.key].balancer()))
	}
	m.current.Store(set)
	m.dns.Pin(keys)
	m.syncCheckers(set) //nolint:contextcheck // checkers live as long as the manager (lifeCtx), not this call
	m.sweepHosts()
	return set, nil
}

func dnsKeys(specs []*upstreamSpec) []dns.Key {
	var keys []dns.Key
	seen := map[dns.Key]bool{}
	for _, s := range specs {
		for _, t := range s.targets {
			if !t.ip && !seen[t.key] {
				seen[t.key] = true
				keys = append(keys, t.key)
			}
		}
	}
	return keys
}

// resolveConcurrency bounds the lookups of one Update.
const resolveConcurrency = 16

// resolve makes sure every key is cached.
func (m *Manager) resolve(ctx context.Context, keys []dns.Key) error {
	sem := make(chan struct{}, resolveConcurrency)
	var wg sync.WaitGroup
	for _, k := range keys {
		if _, ok := m.dns.Peek(k); ok {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, _ = m.dns.Lookup(ctx, k) // failures are cached; ctx is checked below
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("resolve targets: %w", err)
	}
	return nil
}

// build returns the balancer of spec: prev itself when nothing it was
// built from changed, else a new one adopting prev's address states.
// Called with m.mu held.
func (m *Manager) build(ctx context.Context, spec *upstreamSpec, prev *Balancer) *Balancer {
	entries := make(map[dns.Key]*dns.Entry)
	for _, t := range spec.targets {
		if t.ip {
			continue
		}
		e, ok := m.dns.Peek(t.key)
		if !ok {
			e, _ = m.dns.Lookup(ctx, t.key)
		}
		entries[t.key] = e
	}
	if prev != nil && sameSpec(prev.spec, spec) && maps.Equal(prev.entries, entries) {
		return prev
	}
	return newBalancer(spec, entries, prev, &m.gen, m.log)
}

// dnsChanged rebuilds the balancers that resolve k, when its answer
// changed. It runs on the DNS refresher's goroutine.
func (m *Manager) dnsChanged(k dns.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for _, sl := range m.current.Load().list {
		b := sl.bal.Load()
		if !b.usesKey(k) {
			continue
		}
		nb := m.build(m.lifeCtx, b.spec, b)
		sl.bal.Store(nb)
		m.log.Info("upstream addresses changed", "upstream", b.spec.name, "host", k.Name)
	}
}

// syncCheckers runs one active checker per upstream of set that probes,
// and stops the others. Called with m.mu held.
func (m *Manager) syncCheckers(set *Set) {
	keep := make(map[string]bool)
	for _, sl := range set.list {
		hc := sl.spec.hc
		if hc == nil || !hc.Probing() {
			continue
		}
		key := sl.spec.key
		keep[key] = true
		iv := [2]time.Duration{hc.Active.HealthyInterval, hc.Active.UnhealthyInterval}
		if run := m.checkers[key]; run != nil {
			if run.intervals != iv {
				run.intervals = iv
				run.checker.Reset()
			}
			continue
		}
		ctx, cancel := context.WithCancel(m.lifeCtx)
		c := healthcheck.NewChecker(m.plan(key), m.activeFlip(key))
		m.checkers[key] = &checkerRun{cancel: cancel, checker: c, intervals: iv}
		m.wg.Go(func() { c.Run(ctx) })
	}
	for key, run := range m.checkers {
		if !keep[key] {
			run.cancel()
			delete(m.checkers, key)
		}
	}
}

// plan returns the probe plan of the upstream key: the addresses with
// weight of its current balancer.
func (m *Manager) plan(key string) func() healthcheck.Plan {
	return func() healthcheck.Plan {
		b := m.current.Load().byKey[key].balancer()
		if b == nil || b.spec.hc == nil {
			return healthcheck.Plan{}
		}
		p := healthcheck.Plan{Config: b.spec.hc, Targets: make([]healthcheck.Target, 0, len(b.cands))}
		for _, a := range b.cands {
			p.Targets = append(p.Targets, healthcheck.Target{
				IP: a.probeIP, Port: a.port, Hostname: a.target.spec.host,
				HostHeader: b.spec.hostHeader, State: &a.st.health,
			})
		}
		if b.spec.hc.Active.Type == "https" {
			p.TLS = m.probeTLS(b)
		}
		return p
	}
}

// probeTLS is the base TLS configuration of b's https probes.
func (m *Manager) probeTLS(b *Balancer) *tls.Config {
	cfg := &tls.Config{RootCAs: m.opts.RootCAs, MinVersion: tls.VersionTLS12}
	if id := b.spec.clientCert; id != "" && m.opts.ClientCertificate != nil {
		cert, err := m.opts.ClientCertificate(id)
		if err != nil {
			m.log.Error("health probe client certificate", "upstream", b.spec.name, "certificate", id, "error", err)
		} else if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
	}
	return cfg
}

// activeFlip records an availability change found by an active probe.
func (m *Manager) activeFlip(key string) func(healthcheck.Target, healthcheck.Status) {
	return func(t healthcheck.Target, st healthcheck.Status) {
		m.gen.Add(1)
		name := key
		if b := m.current.Load().byKey[key].balancer(); b != nil {
			name = b.spec.name
		}
		m.log.Warn("upstream address health changed",
			"upstream", name, "target", t.Hostname, "address", t.IP, "port", t.Port,
			"healthy", st.Available(), "check", "active")
	}
}
