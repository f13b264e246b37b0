// Command benchtool is the Go half of `make bench-report`
// (deploy/bench/report.sh). It lives in its own module, outside the
// workspace, so that no service module gains its dependencies; build it
// with GOWORK=off. Subcommands:
//
//	benchtool idle         wait for the CPUs to be idle (capped), print what was seen
//	benchtool gen-proxy    write the proxy benchmark's declarative files, wrk script and rotation
//	benchtool latency      sequential or fixed-rate latency of an HTTP target
//	benchtool propagation  Admin API → data planes propagation with real processes
//	benchtool report       write docs/performance.md and its charts from a results directory
//
// Each takes -h for its flags.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

// commands are the subcommands, by name.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"idle":        runIdle,
	"gen-proxy":   runGenProxy,
	"latency":     runLatency,
	"propagation": runPropagation,
	"report":      runReport,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if _, err := fmt.Fprintln(stderr, "usage: benchtool idle|gen-proxy|latency|propagation|report [flags] (-h for each)"); err != nil {
			return err
		}
		if len(args) == 0 {
			return errors.New("no subcommand")
		}
		return flag.ErrHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// newFlags returns a flag set for a subcommand that prints its errors and
// usage to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("benchtool "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
