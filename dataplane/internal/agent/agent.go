// Package agent assembles a data plane: its identity, its cache, the
// runtime it serves first, and the sync client that keeps the runtime
// current. It follows the start-up order of DESIGN.md: the cache if it
// holds a configuration, else GATEHOUSE_DECLARATIVE_CONFIG, else nothing;
// the runtime is served before, and whatever becomes of, the connection to
// the control plane, which is then tried for as long as the data plane
// runs.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/identity"
	"gatehouse.dev/dataplane/internal/lkg"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/dataplane/internal/syncclient"
	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/declarative"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/version"
)

// CacheDir is the cache's directory name in the prefix.
const CacheDir = "cache"

// Options are what the agent takes beside the configuration.
type Options struct {
	// Extensions build the runtime's parts (router, plugin chains,
	// balancers), in order.
	Extensions []gateway.Extension
	// Logger receives every log line; nil discards them.
	Logger *slog.Logger
	// Sync adjusts the sync client's options (timings in tests).
	Sync func(*syncclient.Options)
}

// Agent is an assembled data plane.
type Agent struct {
	cfg     *config.Config
	log     *slog.Logger
	nodeID  string
	catalog *entity.Catalog
	builder *gateway.Builder
	holder  *gateway.Holder
	store   *lkg.Store
	state   *state.State
	client  *syncclient.Client
}

// New builds the data plane and the runtime it serves first; it does not
// connect yet. Its errors are start-up errors, worded as Kong's.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Agent, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: log}
	var err error
	if a.nodeID, err = identity.NodeID(cfg.Prefix, log); err != nil {
		return nil, fmt.Errorf("prefix %s: %w", cfg.Prefix, err)
	}
	if a.catalog, err = entity.New(cfg.PluginSet); err != nil {
		return nil, fmt.Errorf("entity catalog: %w", err)
	}
	a.builder = gateway.NewBuilder(a.catalog, opts.Extensions...)

	// The cluster certificate is checked before anything is opened, so a
	// misconfigured data plane fails at once.
	var material *clustertls.Material
	if !cfg.Standalone() {
		if material, err = clustertls.Load(cfg.ClusterTLS()); err != nil {
			return nil, err
		}
	}
	var key []byte
	if cfg.CacheEncryptionKeyFile != "" {
		if key, err = lkg.ReadKeyFile(cfg.CacheEncryptionKeyFile); err != nil {
			return nil, err
		}
	}
	a.store, err = lkg.Open(ctx, filepath.Join(cfg.Prefix, CacheDir), lkg.Options{Key: key, Logger: log})
	if err != nil {
		return nil, err
	}
	rt, origin, cacheDigest, err := a.initialRuntime(ctx)
	if err != nil {
		_ = a.store.Close()
		return nil, err
	}
	a.holder = gateway.NewHolder(rt)
	a.state = state.New(a.holder, a.nodeID, identity.Hostname(), cfg.Labels, cfg.Standalone())
	a.state.Loaded(origin)

	if !cfg.Standalone() {
		so := syncclient.Options{
			ControlPlanes: cfg.ControlPlanes,
			TLS:           material,
			Identity: syncclient.Identity{
				NodeID: a.nodeID, Hostname: identity.Hostname(), Version: version.Version,
				Plugins: pluginInfo(cfg), Labels: cfg.Labels,
			},
			MaxPayload:  int64(cfg.MaxPayload),
			Logger:      log,
			CacheDigest: cacheDigest,
		}
		if opts.Sync != nil {
			opts.Sync(&so)
		}
		a.client = syncclient.New(so, a.holder, a.builder, a.store, a.state)
	}
	return a, nil
}

// initialRuntime builds what the data plane serves first, and says where
// it came from and the digest of what the cache holds.
func (a *Agent) initialRuntime(ctx context.Context) (*gateway.Runtime, string, string, error) {
	if aside, reason := a.store.SetAside(); aside != "" {
		a.log.Warn(fmt.Sprintf("the cache was set aside to %s (%v); it will be rebuilt from the control plane", aside, reason))
	}
	cacheDigest := ""
	if set, meta, ok := a.store.Load(); ok {
		cacheDigest = meta.Digest
		a.log.Info(fmt.Sprintf("found persisted cache config (revision %d), loading...", meta.Revision),
			slog.Int64("revision", meta.Revision), slog.String("config_hash", meta.ConfigHash), slog.Int("entities", set.Len()))
		var rt *gateway.Runtime
		var err error
		if meta.Version == version.Version {
			rt, err = a.builder.Restore(ctx, set, meta.ConfigHash)
		} else {
			// Written by another version: its schemas may differ.
			rt, err = a.builder.Build(ctx, set, meta.ConfigHash)
		}
		if err == nil {
			return rt, state.OriginCache, cacheDigest, nil
		}
		a.log.Error(fmt.Sprintf("the cached configuration (revision %d, written by %s) cannot be served: %v", meta.Revision, meta.Version, err))
	}
	if path := a.cfg.DeclarativeConfig; path != "" {
		rt, err := a.declarative(ctx, path)
		if err != nil {
			return nil, "", "", err
		}
		a.log.Info(fmt.Sprintf("loaded declarative config %s (%d entities)", path, rt.Set().Len()))
		return rt, state.OriginDeclarative, cacheDigest, nil
	}
	rt, err := a.builder.Empty(ctx)
	if err != nil {
		return nil, "", "", err
	}
	return rt, "", cacheDigest, nil
}

// declarative parses and builds the declarative file at path.
func (a *Agent) declarative(ctx context.Context, path string) (*gateway.Runtime, error) {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("error parsing declarative config file %s:\n%w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, declarative.DefaultMaxSize+1))
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("error parsing declarative config file %s:\n%w", path, err)
	}
	cfg, err := declarative.Parse(data, a.catalog, declarative.Options{})
	if err != nil {
		return nil, fmt.Errorf("error parsing declarative config file %s:\n%w", path, err)
	}
	set, err := configset.FromEntities(0, cfg.AsMap())
	if err != nil {
		return nil, fmt.Errorf("error parsing declarative config file %s:\n%w", path, err)
	}
	rt, err := a.builder.Build(ctx, set, set.Hash())
	if err != nil {
		return nil, fmt.Errorf("declarative config file %s: %w", path, err)
	}
	return rt, nil
}

func pluginInfo(cfg *config.Config) []protocol.PluginInfo {
	var out []protocol.PluginInfo
	for _, p := range cfg.PluginSet.List() {
		out = append(out, protocol.PluginInfo{Name: p.Name, Version: p.Version})
	}
	return out
}

// Run follows the control plane until ctx is done (a standalone data
// plane just waits), answering cache exports on the control socket
// meanwhile, then closes the cache.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { a.serveControl(ctx) })
	var err error
	if a.client != nil {
		err = a.client.Run(ctx)
	} else {
		a.log.Info("no control plane configured: running standalone")
		<-ctx.Done()
	}
	wg.Wait()
	return errors.Join(err, a.store.Close())
}

// CloseShared closes the state plugins and extensions share across
// runtimes (a rate limiter flushes its pending counts to Redis). Call it
// once nothing serves requests any more: after Run and the proxy stop.
func (a *Agent) CloseShared() error { return a.builder.Close() }

// Close releases the cache of an agent that will not Run.
func (a *Agent) Close() error { return errors.Join(a.builder.Close(), a.store.Close()) }

// NodeID is the data plane's node id.
func (a *Agent) NodeID() string { return a.nodeID }

// Holder holds the runtime the proxy serves from.
func (a *Agent) Holder() *gateway.Holder { return a.holder }

// State is what the status API reports.
func (a *Agent) State() *state.State { return a.state }

// Store is the cache.
func (a *Agent) Store() *lkg.Store { return a.store }
