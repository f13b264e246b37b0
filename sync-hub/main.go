// Command sync-hub pushes the configuration that admin-api stores in Postgres
// to the data planes over websocket connections with mutual TLS, and records
// each data plane's state.
//
// Usage:
//
//	sync-hub [flags] [command]
//
// Run it with --help for the commands and settings. The server and the cert
// command are not built yet.
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

const name = "sync-hub"

const usage = `Usage: sync-hub [flags] [command]

sync-hub follows the configuration revisions in Postgres and brings every
connected data plane to the newest one, with a delta or a full snapshot.

Commands:
  (none)    run the cluster listener
  cert      generate a cluster certificate and key (EC P-384, 3 years)

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit

Settings (environment):
  GATEHOUSE_PG_URL                          Postgres connection URL
  GATEHOUSE_CLUSTER_LISTEN                  cluster listener address (default 0.0.0.0:8005)
  GATEHOUSE_CLUSTER_CERT                    cluster certificate file
  GATEHOUSE_CLUSTER_CERT_KEY                cluster certificate key file
  GATEHOUSE_CLUSTER_MTLS                    mutual TLS mode: shared or pki
  GATEHOUSE_CLUSTER_CA_CERT                 CA certificate file for pki mode
  GATEHOUSE_CLUSTER_MAX_PAYLOAD             largest websocket message, in bytes
  GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY  how long a silent data plane stays listed
  GATEHOUSE_STATUS_LISTEN                   health and /metrics address (default 127.0.0.1:8007, or off)
  GATEHOUSE_PLUGINS                         plugins to load: bundled (default) or a comma list
  GATEHOUSE_LOG_LEVEL                       log level
  OTEL_*                                    OpenTelemetry settings (OTEL_EXPORTER_OTLP_ENDPOINT, ...)
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
	case "cert":
		return fmt.Errorf("cert: %w", errNotImplemented)
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, cmd, usage)
		return errUsage
	}
}

// serve will run the cluster listener until ctx is cancelled, with the
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
