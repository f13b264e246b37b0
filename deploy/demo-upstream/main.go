// Command demo-upstream is the upstream service of Gatehouse's demo (make
// run and docker-compose.yml): an HTTP server that answers every request
// with a JSON description of what it received, so you can see what a data
// plane forwards (the path after strip_path, X-Forwarded-*, the consumer
// headers key-auth adds, the traceparent of the proxied request).
//
// It uses the standard library only:
//
//	demo-upstream -listen 127.0.0.1:8080 -name demo
//
// GET /healthz answers 200 "ok" for health checks. Any other request gets
// 200 and the JSON echo, or the status given with ?status=NNN (100 < NNN <
// 600). It stops gracefully on SIGINT and SIGTERM, with exit status 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// maxBody is how much of a request body is read (and counted).
const maxBody = 1 << 20

// Echo is the JSON body of every answer but /healthz.
type Echo struct {
	Upstream   string              `json:"upstream"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Query      string              `json:"query,omitempty"`
	Host       string              `json:"host"`
	RemoteAddr string              `json:"remote_addr"`
	Headers    map[string][]string `json:"headers"`
	BodyBytes  int64               `json:"body_bytes"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv)
	stop()
	if err != nil {
		_, _ = fmt.Fprintf(os.Stderr, "demo-upstream: %v\n", err)
		os.Exit(1)
	}
}

// run parses the flags (defaults from DEMO_UPSTREAM_LISTEN and
// DEMO_UPSTREAM_NAME) and serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("demo-upstream", flag.ContinueOnError)
	listen := fs.String("listen", envOr(getenv, "DEMO_UPSTREAM_LISTEN", "127.0.0.1:8080"), "address to listen on (host:port)")
	name := fs.String("name", envOr(getenv, "DEMO_UPSTREAM_NAME", "demo"), "name reported in every answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "demo-upstream", "name", *name)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler(*name, log),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "address", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// handler answers /healthz with "ok" and everything else with an Echo.
func handler(name string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		code := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			if c, err := strconv.Atoi(s); err == nil && c > 100 && c < 600 {
				code = c
			}
		}
		e := Echo{
			Upstream: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, RemoteAddr: r.RemoteAddr, Headers: r.Header, BodyBytes: n,
		}
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", code, "remote_addr", r.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Demo-Upstream", name)
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(e)
	})
	return mux
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
