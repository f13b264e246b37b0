// Command admin-api serves Kong's Admin API on Postgres: it validates
// configuration writes, stores them with a new revision and a change-log
// entry, and applies the database migrations.
//
// Usage:
//
//	admin-api [flags] [command]
//
// Run it with --help for the commands and settings. The server and the
// migrate command are not built yet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"gatehouse.dev/shared/version"
)

const name = "admin-api"

const usage = `Usage: admin-api [flags] [command]

admin-api serves Kong's Admin API. Every write is stored in Postgres with a
new configuration revision, which sync-hub pushes to the data planes.

Commands:
  (none)    run the Admin API server
  migrate   apply the database migrations and exit

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit

Settings (environment):
  GATEHOUSE_PG_URL                      Postgres connection URL
  GATEHOUSE_ADMIN_LISTEN                Admin API address (default 127.0.0.1:8001, or off)
  GATEHOUSE_ADMIN_SSL_LISTEN            Admin API TLS address (or off)
  GATEHOUSE_ADMIN_SSL_CERT              Admin API TLS certificate file
  GATEHOUSE_ADMIN_SSL_CERT_KEY          Admin API TLS key file
  GATEHOUSE_ADMIN_TOKEN                 admin token, required beyond loopback
  GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS   revisions of change log to keep
  GATEHOUSE_CHANGE_LOG_MAX_AGE          oldest change-log entry to keep
  GATEHOUSE_PLUGINS                     plugins to load: bundled (default) or a comma list
  GATEHOUSE_LOG_LEVEL                   log level
  OTEL_*                                OpenTelemetry settings (OTEL_EXPORTER_OTLP_ENDPOINT, ...)
`

// errUsage marks a command line that could not be parsed. The problem and the
// usage text have already been written to stderr.
var errUsage = errors.New("usage")

// errNotImplemented is returned by the parts of the command that later issues
// build.
var errNotImplemented = errors.New("not implemented yet")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run is the whole command, with its inputs and outputs passed in so tests
// can drive it. ctx is cancelled on SIGINT or SIGTERM; getenv reads settings.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = io.WriteString(fs.Output(), usage) }
	var help, showVersion bool
	fs.BoolVar(&help, "h", false, "print this help and exit")
	fs.BoolVar(&help, "help", false, "print this help and exit")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	switch {
	case help:
		_, err := io.WriteString(stdout, usage)
		return err
	case showVersion:
		_, err := fmt.Fprintln(stdout, version.String(name))
		return err
	}

	switch cmd := fs.Arg(0); cmd {
	case "":
		return serve(ctx, getenv)
	case "migrate":
		return fmt.Errorf("migrate: %w", errNotImplemented)
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, cmd, usage)
		return errUsage
	}
}

// serve will run the Admin API server until ctx is cancelled, with the
// settings that getenv reads. It is a stub until the server is built.
func serve(_ context.Context, _ func(string) string) error {
	return errNotImplemented
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
