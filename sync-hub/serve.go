package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/shared/version"
	"gatehouse.dev/sync-hub/internal/backoff"
	"gatehouse.dev/sync-hub/internal/config"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/status"
)

// serve runs sync-hub until ctx is done: the follower, the cluster listener
// and the status listener. Start-up refuses bad settings, missing or
// unreadable certificates, and a database schema that is not current;
// Postgres being down only delays it.
func serve(ctx context.Context, cfg *config.Config, getenv func(string) string, stderr io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	level, _ := config.ParseLevel(cfg.LogLevel)
	log := newLogger(stderr, level)
	material, err := clustertls.Load(cfg.TLS())
	if err != nil {
		return err
	}
	plugins, err := plugin.Load(cfg.Plugins)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_PLUGINS: %w", err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		return fmt.Errorf("entity catalog: %w", err)
	}
	tel, err := telemetry.Setup(ctx, name, telemetry.WithGetenv(getenv), telemetry.WithInstanceID(cfg.HubID))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", "error", err)
		}
	}()
	st, err := store.Open(ctx, cfg.PGURL, cat, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	follower := follow.New(st, follow.Options{PollInterval: cfg.PollInterval, Logger: log})
	h, err := hub.New(hub.Options{
		Addr:       cfg.ClusterListen,
		TLS:        material,
		Follower:   follower,
		Store:      st,
		Plugins:    pluginInfos(plugins),
		HubID:      cfg.HubID,
		PurgeDelay: cfg.PurgeDelay,
		MaxPayload: int64(cfg.MaxPayload),
		Logger:     log,
	})
	if err != nil {
		return err
	}
	log.Info("sync-hub starting", "version", version.Version, "hub_id", cfg.HubID, "settings", cfg.Redacted(),
		"cluster_cert_expiry", material.Expiry().UTC().Format(time.RFC3339))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	fail := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			errs <- err
			cancel()
		}
	}
	if cfg.StatusEnabled() {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.StatusListen)
		if err != nil {
			return fmt.Errorf("status listener: %w", err)
		}
		srv := status.Server(cfg.StatusListen, status.Handler(status.Sources{Hub: h, Follower: follower, HubID: cfg.HubID}))
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("status listener: %w", err))
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		})
		log.Info("status listener started", "address", ln.Addr().String())
	}
	if err := waitForSchema(ctx, st, log); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	wg.Go(func() { fail(follower.Run(ctx)) })
	wg.Go(func() { fail(h.Run(ctx)) })
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

// waitForSchema checks the schema, waiting with backoff while Postgres is
// unreachable. A schema that is not current is an error that says what to
// do.
func waitForSchema(ctx context.Context, st *store.Store, log *slog.Logger) error {
	retry := backoff.New(200*time.Millisecond, 5*time.Second)
	logged := false
	for {
		err := store.CheckSchema(ctx, st.Pool())
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, store.ErrUnavailable):
			return err
		case !logged:
			log.Warn("waiting for Postgres", "error", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry.Next()):
		}
	}
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// pluginInfos lists the loaded plugins for the compatibility checks.
func pluginInfos(set *plugin.Set) []protocol.PluginInfo {
	var out []protocol.PluginInfo
	for _, p := range set.List() {
		out = append(out, protocol.PluginInfo{Name: p.Name, Version: p.Version})
	}
	return out
}

// newLogger logs JSON to w at level, naming Kong's notice level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l == protocol.LevelNotice {
					a.Value = slog.StringValue("NOTICE")
				}
			}
			return a
		},
	}))
}
