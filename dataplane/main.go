// Command dataplane proxies traffic with the configuration it receives from
// sync-hub, keeps the last good configuration in an on-disk cache, and serves
// the status API.
//
// Usage:
//
//	dataplane [flags] [command]
//
// Run it with --help for the commands and settings. README.md describes the
// prefix, the cache and how to provision a data plane from another's cache.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gatehouse.dev/dataplane/internal/agent"
	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/lkg"
	"gatehouse.dev/dataplane/internal/plugins"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/proxy/realip"
	"gatehouse.dev/dataplane/internal/proxy/tlsterm"
	"gatehouse.dev/dataplane/internal/proxy/upstream"
	"gatehouse.dev/dataplane/internal/statussource"
	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/shared/version"
	statusapi "gatehouse.dev/status-api"
)

const name = "dataplane"

// shutdownTimeout bounds the graceful part of shutting down: draining the
// proxy (requests in flight get this long), then flushing spans.
const shutdownTimeout = 10 * time.Second

const usageHead = `Usage: dataplane [flags] [command]

dataplane proxies traffic. It serves from its cache at start-up, then follows
the control planes (sync-hub), or runs standalone from a declarative file.

Commands:
  (none)             run the data plane
  cache export DIR   write a consistent copy of the cache to DIR (a new
                     directory); a new data plane whose GATEHOUSE_PREFIX/cache
                     is that copy starts from it. Works while the data plane
                     runs.

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit

Settings (environment variable, or the flag beside it):
`

const usageTail = `  OTEL_*
      OpenTelemetry settings (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, ...).
`

// usage is the --help text, with every setting.
var usage = func() string {
	var b strings.Builder
	b.WriteString(usageHead)
	config.WriteUsage(&b)
	b.WriteString(usageTail)
	return b.String()
}()

// errUsage marks a command line that could not be parsed. The problem and the
// usage text have already been written to stderr.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run is the whole command, with its inputs and outputs passed in so tests
// can drive it. ctx is cancelled on SIGINT or SIGTERM; getenv reads settings.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			_, err := io.WriteString(stdout, usage)
			return err
		case "-version", "--version":
			_, err := fmt.Fprintln(stdout, version.String(name))
			return err
		}
	}
	cfg, rest, err := config.Load(args, getenv)
	if errors.Is(err, config.ErrUsage) {
		_, _ = fmt.Fprintf(stderr, "%s: %s\n%s", name, strings.TrimPrefix(err.Error(), config.ErrUsage.Error()+": "), usage)
		return errUsage
	}
	if err != nil {
		return err
	}
	switch cmd := strings.Join(rest, " "); {
	case cmd == "":
		defer startProfile(getenv)()
		return serve(ctx, cfg, stdout, stderr)
	case rest[0] == "cache":
		if len(rest) != 3 || rest[1] != "export" {
			_, _ = fmt.Fprintf(stderr, "%s: want cache export DIR\n%s", name, usage)
			return errUsage
		}
		return exportCache(ctx, cfg, rest[2], stdout)
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, rest[0], usage)
		return errUsage
	}
}

// newLogger writes JSON lines to w at the configured level.
func newLogger(w io.Writer, level string) *slog.Logger {
	levels := map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "notice": protocol.LevelNotice,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: levels[level]}))
}

// serve runs the data plane until ctx is cancelled: it builds the runtime
// it serves first (from the cache, else the declarative file, else
// nothing), starts the proxy on it, then runs its components together;
// the first to fail stops the others. The access log goes to stdout, the
// log to stderr.
func serve(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	// The data plane's one Prometheus registry: plugins add their metrics
	// to it, and the status API (issue 8) serves it at /metrics.
	reg := prometheus.NewRegistry()

	defCert, err := defaultCertificate(cfg)
	if err != nil {
		return err
	}
	// Health probes present an upstream's client certificate, which the
	// runtime being served holds.
	var holder atomic.Pointer[gateway.Holder]
	balancers, err := balancer.New(ctx, balancer.Options{
		Logger: log,
		ClientCertificate: func(id string) (*tls.Certificate, error) {
			return clientCertificate(holder.Load(), id)
		},
	})
	if err != nil {
		return err
	}
	defer balancers.Close()
	a, err := agent.New(ctx, cfg, agent.Options{
		Logger: log,
		// The balancers come last: Manager.Update starts probing the
		// upstreams it is given, so it runs once the rest of the runtime
		// has built.
		Extensions: []gateway.Extension{
			proxy.RouterExtension(log),
			proxy.TLSExtension(defCert),
			chain.NewExtension(chain.Options{Factories: plugins.Loaded(cfg.PluginSet), Registerer: reg, Logger: log}),
			proxy.BalancerExtension(balancers),
		},
	})
	if err != nil {
		return err
	}
	holder.Store(a.Holder())
	tel, err := telemetry.Setup(ctx, name, telemetry.WithInstanceID(a.NodeID()))
	if err != nil {
		_ = a.Close()
		return err
	}
	log.Info("starting data plane", slog.String("version", version.Version), slog.String("node_id", a.NodeID()),
		slog.Any("settings", cfg.Redacted()), slog.String("traces_to", tel.Endpoint()))

	srv, plain, secure, err := newProxy(ctx, cfg, a.Holder(), log, stdout, defCert)
	if err != nil {
		_ = a.Close()
		_ = tel.Shutdown(ctx)
		return err
	}
	status, err := newStatus(ctx, cfg, a, srv, balancers, reg, log)
	if err != nil {
		_ = a.Close()
		_ = tel.Shutdown(ctx)
		return err
	}
	components := []func(context.Context) error{
		a.Run,
		func(ctx context.Context) error { return srv.Serve(ctx, plain, secure) },
		status,
	}
	err = runAll(ctx, components)
	// Every component has stopped, the proxy included: shared plugin state
	// (Redis pools, pending rate-limit counts) can be flushed and closed.
	if cerr := a.CloseShared(); cerr != nil {
		log.Warn("close shared plugin state: " + cerr.Error())
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if terr := tel.Shutdown(sctx); terr != nil {
		log.Warn("shut down tracing: " + terr.Error())
	}
	log.Info("data plane stopped")
	return err
}

// defaultCertificate is GATEHOUSE_SSL_CERT, else a self-signed one.
func defaultCertificate(cfg *config.Config) (*tls.Certificate, error) {
	if cfg.SSLCert == "" {
		return tlsterm.SelfSigned(time.Now())
	}
	c, err := tlsterm.LoadKeyPair(cfg.SSLCert, cfg.SSLCertKey)
	if err != nil {
		return nil, fmt.Errorf("ssl_cert: %w", err)
	}
	return c, nil
}

// clientCertificate returns the certificate entity id of the runtime
// holder serves.
func clientCertificate(h *gateway.Holder, id string) (*tls.Certificate, error) {
	if h == nil {
		return nil, errors.New("no runtime yet")
	}
	store, _ := h.Load().Part(proxy.TLSPart).(*tlsterm.Store)
	if store == nil {
		return nil, errors.New("no TLS material")
	}
	c, ok := store.ClientCertificate(id)
	if !ok {
		return nil, fmt.Errorf("certificate %s not found", id)
	}
	return c, nil
}

// newProxy makes the proxy and opens its listeners (nil when "off").
func newProxy(ctx context.Context, cfg *config.Config, h *gateway.Holder, log *slog.Logger, stdout io.Writer, defCert *tls.Certificate) (*proxy.Server, net.Listener, net.Listener, error) {
	realIP, err := realip.New(cfg.TrustedIPs, cfg.RealIPHeader, cfg.RealIPRecursive)
	if err != nil {
		return nil, nil, nil, err
	}
	opts := proxy.Options{
		Holder: h, Logger: log, RealIP: realIP, DefaultCertificate: defCert,
		MaxHeaderSize: cfg.ClientMaxHeaderSize, ClientMaxBodySize: cfg.ClientMaxBodySize,
		ClientBodyBufferSize: cfg.ClientBodyBufferSize, ShutdownTimeout: shutdownTimeout,
		Upstream: upstream.Options{
			PoolSize:    cfg.UpstreamKeepalivePoolSize,
			MaxRequests: cfg.UpstreamKeepaliveMaxRequests,
			IdleTimeout: cfg.UpstreamKeepaliveIdleTimeout,
		},
	}
	if opts.Upstream.PoolSize == 0 {
		opts.Upstream.PoolSize = -1 // 0 turns keep-alive off
	}
	if opts.Upstream.MaxRequests == 0 {
		opts.Upstream.MaxRequests = -1 // 0 means no limit
	}
	if cfg.ProxyAccessLog {
		opts.AccessLog = stdout
	}
	srv, err := proxy.New(opts)
	if err != nil {
		return nil, nil, nil, err
	}
	listen := func(setting, addr string) (net.Listener, error) {
		if addr == config.Off {
			return nil, nil
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		log.Info("proxy listening", slog.String("setting", setting), slog.String("address", ln.Addr().String()))
		return ln, nil
	}
	plain, err := listen("proxy_listen", cfg.ProxyListen)
	if err != nil {
		return nil, nil, nil, err
	}
	secure, err := listen("proxy_ssl_listen", cfg.ProxySSLListen)
	if err != nil {
		if plain != nil {
			_ = plain.Close()
		}
		return nil, nil, nil, err
	}
	return srv, plain, secure, nil
}

// runAll runs every component until ctx is done or one fails, which
// cancels the others; it returns when all have returned, with their
// errors.
func runAll(ctx context.Context, components []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(components))
	var wg sync.WaitGroup
	for i, c := range components {
		wg.Go(func() {
			errs[i] = c(ctx)
			cancel()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// exportCache writes a consistent copy of the cache to dir.
func exportCache(ctx context.Context, cfg *config.Config, dir string, stdout io.Writer) error {
	var key []byte
	if cfg.CacheEncryptionKeyFile != "" {
		var err error
		if key, err = lkg.ReadKeyFile(cfg.CacheEncryptionKeyFile); err != nil {
			return err
		}
	}
	if err := agent.ExportCache(ctx, cfg.Prefix, dir, key); err != nil {
		return fmt.Errorf("cache export: %w", err)
	}
	abs, _ := filepath.Abs(dir)
	_, err := fmt.Fprintf(stdout, "exported the cache of %s to %s\n", cfg.Prefix, abs)
	return err
}

// exitCode reports err on stderr, unless it is a usage error that has already
// been reported, and returns the process exit status: 0 for success, 2 for a
// usage error and 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// newStatus builds the status API (GATEHOUSE_STATUS_LISTEN): health
// probes, the read-only upstream endpoints and /metrics from the data
// plane's one registry, which also gets Kong's data-plane gauges
// (kong_upstream_target_health among them, always on). It returns the
// component that serves it until ctx is done.
func newStatus(ctx context.Context, cfg *config.Config, a *agent.Agent, srv *proxy.Server, balancers *balancer.Manager,
	reg *prometheus.Registry, log *slog.Logger,
) (func(context.Context) error, error) {
	src := &statussource.Source{State: a.State(), Holder: a.Holder(), Balancers: balancers, Stats: srv.Stats}
	if !cfg.Standalone() {
		if m, err := clustertls.Load(cfg.ClusterTLS()); err == nil {
			src.CertExpiry = m.Expiry()
		}
	}
	reg.MustRegister(statusapi.NewCollector(src), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.StatusListen == config.Off {
		return func(ctx context.Context) error { <-ctx.Done(); return nil }, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.StatusListen)
	if err != nil {
		return nil, fmt.Errorf("status_listen %s: %w", cfg.StatusListen, err)
	}
	log.Info("status API listening", slog.String("address", ln.Addr().String()))
	handler := statusapi.Handler(src, statusapi.Options{
		NodeID: a.NodeID(), Token: cfg.StatusToken, Gatherer: reg, Logger: log,
		OnDrain: func() { log.Info("draining: /status/ready now answers 503") },
	})
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- hs.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("status API: %w", err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return fmt.Errorf("stop status API: %w", err)
		}
		// Serve returns http.ErrServerClosed after Shutdown; anything
		// else went wrong before it.
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("status API: %w", err)
		}
		return nil
	}, nil
}
