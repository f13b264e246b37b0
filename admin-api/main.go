// Command admin-api serves Kong's Admin API on Postgres: it validates
// configuration writes, stores them with a new revision and a change-log
// entry (which sync-hub pushes to the data planes), trims the change log,
// removes expired credentials, and applies the database migrations.
//
// Usage:
//
//	admin-api [flags] [command]
//
// Run it with --help for the commands and settings.
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
	"strings"
	"syscall"
	"time"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/admin-api/internal/config"
	"gatehouse.dev/admin-api/internal/httpapi"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/shared/version"
)

const name = "admin-api"

const usageHead = `Usage: admin-api [flags] [command]

admin-api serves Kong's Admin API. Every write is stored in Postgres with a
new configuration revision, which sync-hub pushes to the data planes.

Commands:
  (none)    run the Admin API server
  migrate   apply the database migrations and exit (idempotent)

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit

Settings (each an environment variable and a flag; a flag wins):
`

const usageTail = `  OTEL_*
      OpenTelemetry settings (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
`

// usage returns the help text.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	config.WriteUsage(&b)
	b.WriteString(usageTail)
	return b.String()
}

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
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		if a == "-version" || a == "--version" {
			_, err := fmt.Fprintln(stdout, version.String(name))
			return err
		}
	}
	cfg, rest, err := config.Load(args, getenv)
	switch {
	case errors.Is(err, config.ErrHelp):
		_, err := io.WriteString(stdout, usage())
		return err
	case err != nil && cfg == nil && rest == nil && isFlagError(err):
		_, _ = fmt.Fprintf(stderr, "%s: %v\n%s", name, err, usage())
		return errUsage
	case err != nil:
		return err
	}
	switch cmd := first(rest); cmd {
	case "":
		return serve(ctx, cfg, getenv, stderr)
	case "migrate":
		if len(rest) > 1 {
			_, _ = fmt.Fprintf(stderr, "%s: migrate takes no arguments\n%s", name, usage())
			return errUsage
		}
		return migrate(ctx, cfg, stdout)
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, cmd, usage())
		return errUsage
	}
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// isFlagError reports an error of the command line itself (an unknown
// flag), as opposed to a setting's invalid value.
func isFlagError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "flag provided but not defined") || strings.Contains(msg, "flag needs an argument") ||
		strings.HasPrefix(msg, "invalid value for flag") || strings.Contains(msg, "bad flag syntax")
}

// newLogger logs JSON lines to w at the configured level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l == config.LevelNotice {
					a.Value = slog.StringValue("NOTICE")
				}
			}
			return a
		},
	})).With("service", name)
}

// openStore builds the plugin set, the catalog and the store.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, *plugin.Set, error) {
	plugins, err := plugin.Load(cfg.Plugins)
	if err != nil {
		return nil, nil, fmt.Errorf("GATEHOUSE_PLUGINS: %w", err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		return nil, nil, fmt.Errorf("build entity catalog: %w", err)
	}
	st, err := store.Open(ctx, cfg.PGURL, cat, store.Options{MaxConns: int32(cfg.PGPoolSize), ConnectTimeout: cfg.PGTimeout}) //nolint:gosec // G115: checked to be at most 10000
	if err != nil {
		return nil, nil, fmt.Errorf("GATEHOUSE_PG_URL: %w", err)
	}
	return st, plugins, nil
}

// migrate applies the migrations and prints what it did.
func migrate(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := store.Migrate(ctx, st.Pool())
	for _, v := range applied {
		_, _ = fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", config.RedactURL(cfg.PGURL), err)
	}
	if len(applied) == 0 {
		_, _ = fmt.Fprintf(stdout, "database schema is up to date (version %d)\n", store.SchemaVersion())
		return nil
	}
	_, err = fmt.Fprintf(stdout, "database schema is at version %d\n", store.SchemaVersion())
	return err
}

// serve runs the Admin API until ctx is cancelled, then shuts down
// gracefully.
func serve(ctx context.Context, cfg *config.Config, getenv func(string) string, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	nodeID := cfg.NodeID
	if nodeID == "" {
		nodeID = schema.NewUUID()
	}
	tel, err := telemetry.Setup(ctx, name, telemetry.WithGetenv(getenv), telemetry.WithInstanceID(nodeID))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("flush traces", "error", err)
		}
	}()

	st, plugins, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := prepareSchema(ctx, cfg, st, log); err != nil {
		return err
	}

	metrics := httpapi.NewMetrics()
	svc := admin.New(st, plugins, admin.Options{Logger: log, OnCommit: metrics.Committed})
	hostname, _ := os.Hostname()
	// The API's handlers work with each request's own context.
	api := httpapi.New(httpapi.Options{ //nolint:contextcheck // handlers take the request's context, not serve's
		Service: svc, Settings: cfg.Redacted(), NodeID: nodeID, Hostname: hostname,
		Token: cfg.Token, MaxBodySize: cfg.MaxBodySize, Metrics: metrics, Logger: log,
	})

	listeners, err := listen(ctx, cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api,
		ConnState:         api.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		log.Log(ctx, config.LevelNotice, "admin API listening", "address", l.Addr().String(), "tls", isTLS(l), "node_id", nodeID,
			"version", version.Version, "kong_version", version.KongLevel, "tracing", tel.Endpoint())
		go func() { errc <- srv.Serve(l) }()
	}

	mctx, stopMaintenance := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunMaintenance(mctx, cfg.MaintenanceInterval, admin.MaintenanceOptions{
			KeepRevisions: int64(cfg.ChangeLogKeepRevisions), MaxAge: cfg.ChangeLogMaxAge,
		}, metrics.Maintained)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Log(ctx, config.LevelNotice, "shutting down")
	stopMaintenance()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	<-done
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// prepareSchema applies the migrations (GATEHOUSE_MIGRATE_ON_START) or
// checks that the schema is the one this binary needs. While Postgres is
// unreachable the server starts anyway, and requests answer 503 until it
// answers; with migrations on start it waits for Postgres instead.
func prepareSchema(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) error {
	if cfg.MigrateOnStart {
		for {
			applied, err := store.Migrate(ctx, st.Pool())
			if err == nil {
				if len(applied) > 0 {
					log.Log(ctx, config.LevelNotice, "applied migrations", "versions", applied)
				}
				return nil
			}
			if !errors.Is(err, store.ErrUnavailable) {
				return fmt.Errorf("migrate: %w", err)
			}
			log.Warn("database unavailable; retrying the migrations", "error", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Second):
			}
		}
	}
	err := store.CheckSchema(ctx, st.Pool())
	if errors.Is(err, store.ErrUnavailable) {
		log.Warn("database unavailable at start; requests answer 503 until it answers", "error", err)
		return nil
	}
	return err
}

// listen opens the configured listeners.
func listen(ctx context.Context, cfg *config.Config) ([]net.Listener, error) {
	var out []net.Listener
	closeAll := func() {
		for _, l := range out {
			_ = l.Close()
		}
	}
	lc := net.ListenConfig{}
	for _, l := range cfg.Listen {
		ln, err := lc.Listen(ctx, "tcp", l.Addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("GATEHOUSE_ADMIN_LISTEN: %w", err)
		}
		out = append(out, ln)
	}
	if len(cfg.SSLListen) > 0 {
		cert, err := tls.LoadX509KeyPair(cfg.SSLCert, cfg.SSLCertKey)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("GATEHOUSE_ADMIN_SSL_CERT / GATEHOUSE_ADMIN_SSL_CERT_KEY: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		for _, l := range cfg.SSLListen {
			ln, err := lc.Listen(ctx, "tcp", l.Addr)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("GATEHOUSE_ADMIN_SSL_LISTEN: %w", err)
			}
			out = append(out, tlsListener{tls.NewListener(ln, tc)})
		}
	}
	return out, nil
}

// tlsListener marks a listener as TLS for the start-up log.
type tlsListener struct{ net.Listener }

func isTLS(l net.Listener) bool {
	_, ok := l.(tlsListener)
	return ok
}

// exitCode reports err on stderr, unless it is a usage error that has already
// been reported, and returns the process exit status: 0 for success, 2 for a
// usage error and 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}
