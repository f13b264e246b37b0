// Package proxytest runs the real proxy in the tests of the packages that
// plug into it (plugin chains, plugins): balancers resolving through a
// test DNS server, and a proxy serving a runtime on loopback.
package proxytest

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/dns/dnstest"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/proxy"
)

// Balancers returns a balancer manager whose DNS is a test server; it is
// closed when tb ends (after a proxy Serve started later stops).
func Balancers(tb testing.TB) *balancer.Manager {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dnsSrv := dnstest.NewServer(tb)
	mgr, err := balancer.New(ctx, balancer.Options{
		Resolver: &dns.Client{Servers: []string{dnsSrv.Addr}, Timeout: time.Second, Attempts: 1},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		mgr.Close()
		cancel()
	})
	return mgr
}

// Serve runs the proxy on holder's runtime, cleartext and TLS on loopback,
// with its spans made by tp (nil: none), until tb ends; it returns the
// cleartext address.
func Serve(tb testing.TB, holder *gateway.Holder, tp trace.TracerProvider) string {
	tb.Helper()
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	srv, err := proxy.New(proxy.Options{Holder: holder, TracerProvider: tp, ShutdownTimeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var lc net.ListenConfig
	plain, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	secure, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, plain, secure) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("Serve did not return")
		}
	})
	return plain.Addr().String()
}
