// Command sync-hub pushes the configuration that admin-api stores in Postgres
// to the data planes over websocket connections with mutual TLS, and records
// each data plane's state.
//
// Usage:
//
//	sync-hub [flags] [command]
//
// Run it with --help for the commands and settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/version"
	"gatehouse.dev/sync-hub/internal/config"
)

const name = "sync-hub"

const usageHead = `Usage: sync-hub [flags] [command]

sync-hub follows the configuration revisions in Postgres and brings every
connected data plane to the newest one, with a delta or a full snapshot.

Commands:
  (none)                        run the cluster listener
  cert [--days N] [CERT KEY]    generate a cluster certificate and key (EC P-384,
                                3 years by default) into CERT and KEY (default
                                cluster.crt and cluster.key); never overwrites

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit
  --<setting>  any setting below, e.g. --cluster-listen 0.0.0.0:8005

Settings (environment variable, flag; a flag beats the environment):
`

const usageTail = `  OTEL_*
      OpenTelemetry settings (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
`

// usage is the --help text, with every declared setting.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	config.New().WriteUsage(&b)
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
	if wantsVersion(args) {
		_, err := fmt.Fprintln(stdout, version.String(name))
		return err
	}
	cfg := config.New()
	rest, err := cfg.Parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		_, err := io.WriteString(stdout, usage())
		return err
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n%s", name, err, usage())
		return errUsage
	}
	if len(rest) == 0 {
		return serve(ctx, cfg, getenv, stderr)
	}
	switch cmd := rest[0]; cmd {
	case "cert":
		return runCert(rest[1:], stdout, stderr, time.Now())
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown command %q\n%s", name, cmd, usage())
		return errUsage
	}
}

// wantsVersion reports whether --version comes before any command.
func wantsVersion(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--version" || a == "-version":
			return true
		case !strings.HasPrefix(a, "-"):
			return false
		}
	}
	return false
}

// runCert writes a new cluster certificate and key.
func runCert(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet(name+" cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = io.WriteString(stderr, usage()) }
	days := fs.Int("days", clustertls.DefaultDays, "validity in days")
	fs.IntVar(days, "d", clustertls.DefaultDays, "validity in days")
	// Flags may come before or after the file names, as in Kong's
	// `kong hybrid gen_cert [cert key] [-d days]`.
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(paths) {
	case 0:
		paths = []string{"cluster.crt", "cluster.key"}
	case 2:
	default:
		_, _ = fmt.Fprintf(stderr, "%s cert: want a certificate and a key file name, or none (got %d names)\n", name, len(paths))
		return errUsage
	}
	if err := clustertls.Generate(paths[0], paths[1], *days, now); err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	_, err := fmt.Fprintf(stdout, "wrote the cluster certificate %s and its key %s (EC P-384, valid %d days)\n",
		paths[0], paths[1], *days)
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
