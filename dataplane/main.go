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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatehouse.dev/dataplane/internal/agent"
	"gatehouse.dev/dataplane/internal/config"
	"gatehouse.dev/dataplane/internal/lkg"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/shared/version"
)

const name = "dataplane"

// shutdownTimeout bounds the graceful part of shutting down (flushing
// spans; later, draining the proxy).
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
		return serve(ctx, cfg, stderr)
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
// nothing), then runs its components together; the first to fail stops
// the others.
func serve(ctx context.Context, cfg *config.Config, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	a, err := agent.New(ctx, cfg, agent.Options{
		Logger: log,
		// Issues 6 and 7 add the router, plugin chain and balancer
		// extensions here: agent.Options.Extensions.
	})
	if err != nil {
		return err
	}
	tel, err := telemetry.Setup(ctx, name, telemetry.WithInstanceID(a.NodeID()))
	if err != nil {
		_ = a.Close()
		return err
	}
	log.Info("starting data plane", slog.String("version", version.Version), slog.String("node_id", a.NodeID()),
		slog.Any("settings", cfg.Redacted()), slog.String("traces_to", tel.Endpoint()))

	components := []func(context.Context) error{
		a.Run,
		// The proxy (issue 6) serves from a.Holder() on cfg.ProxyListen and
		// cfg.ProxySSLListen; the status API (issue 8) serves
		// statusapi.Handler(a.State()) and /metrics on cfg.StatusListen.
		// Each is a func(ctx) error that returns when ctx is done, after a
		// graceful shutdown bounded by shutdownTimeout.
	}
	err = runAll(ctx, components)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if terr := tel.Shutdown(sctx); terr != nil {
		log.Warn("shut down tracing: " + terr.Error())
	}
	log.Info("data plane stopped")
	return err
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
