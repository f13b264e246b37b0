// Command dataplane proxies traffic with the configuration it receives from
// sync-hub, keeps the last good configuration in an on-disk cache, and serves
// the status API.
//
// Usage:
//
//	dataplane [flags] [command]
//
// Run it with --help for the commands and settings. The proxy and the cache
// export command are not built yet.
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

const name = "dataplane"

const usage = `Usage: dataplane [flags] [command]

dataplane proxies traffic. It serves from its cache at start-up, then follows
the control planes (sync-hub), or runs standalone from a declarative file.

Commands:
  (none)             run the proxy and the status listener
  cache export DIR   write a consistent copy of the cache to DIR

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit

Settings (environment):
  GATEHOUSE_PREFIX                      working directory, holds the cache
  GATEHOUSE_CLUSTER_CONTROL_PLANE       sync-hub addresses, a comma list (none: standalone)
  GATEHOUSE_CLUSTER_CERT                cluster certificate file
  GATEHOUSE_CLUSTER_CERT_KEY            cluster certificate key file
  GATEHOUSE_CLUSTER_MTLS                mutual TLS mode: shared or pki
  GATEHOUSE_CLUSTER_CA_CERT             CA certificate file for pki mode
  GATEHOUSE_CLUSTER_SERVER_NAME         sync-hub server name to check in pki mode
  GATEHOUSE_CLUSTER_DP_LABELS           labels reported to the control plane
  GATEHOUSE_DECLARATIVE_CONFIG          declarative configuration file
  GATEHOUSE_PROXY_LISTEN                proxy address (default 0.0.0.0:8000, or off)
  GATEHOUSE_PROXY_SSL_LISTEN            proxy TLS address (default 0.0.0.0:8443, or off)
  GATEHOUSE_STATUS_LISTEN               status API and /metrics address (default 0.0.0.0:8100, or off)
  GATEHOUSE_STATUS_TOKEN                token for POST /status/ready from beyond loopback
  GATEHOUSE_PLUGINS                     plugins to load: bundled (default) or a comma list
  GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE   key file that encrypts the cache at rest
  GATEHOUSE_TRUSTED_IPS                 proxies trusted to set the client address
  GATEHOUSE_REAL_IP_HEADER              header that carries the client address
  GATEHOUSE_REAL_IP_RECURSIVE           skip trusted addresses in that header (on or off)
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
	case "cache":
		if fs.NArg() != 3 || fs.Arg(1) != "export" {
			_, _ = fmt.Fprintf(stderr, "%s: want cache export DIR\n%s", name, usage)
			return errUsage
		}
		return fmt.Errorf("cache export: %w", errNotImplemented)
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, cmd, usage)
		return errUsage
	}
}

// serve will run the proxy and the status listener until ctx is cancelled, with the
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
