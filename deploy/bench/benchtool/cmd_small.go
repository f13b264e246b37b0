package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gatehouse.dev/benchtool/internal/gen"
	"gatehouse.dev/benchtool/internal/idle"
	"gatehouse.dev/benchtool/internal/loadgen"
)

// runIdle waits for idle CPUs and prints the observation on stdout.
func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("idle", stderr)
	threshold := fs.Float64("busy", 0.25, "fraction of all CPUs that may be busy for the machine to count as idle")
	window := fs.Duration("window", time.Second, "sample window")
	maxWait := fs.Duration("max", 20*time.Second, "longest wait; then go on and say the machine was not idle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o, err := idle.Wait(ctx, *threshold, *window, *maxWait)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, o.Line())
	return err
}

// runGenProxy writes the proxy benchmark's inputs.
func runGenProxy(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("gen-proxy", stderr)
	dir := fs.String("dir", "", "directory to write none.yaml, local.yaml, redis.yaml, rotate.lua and requests.txt into")
	o := gen.ProxyOptions{}
	fs.IntVar(&o.Routes, "routes", 100, "routes")
	fs.IntVar(&o.Consumers, "consumers", 100, "consumers, each with a key-auth key")
	fs.StringVar(&o.RedisHost, "redis-host", "127.0.0.1", "Redis host of the redis policy")
	fs.IntVar(&o.RedisPort, "redis-port", 6379, "Redis port of the redis policy")
	fs.IntVar(&o.Rotation, "rotation", 1000, "requests in the rotation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("gen-proxy: -dir is required")
	}
	return gen.WriteProxy(*dir, o)
}

// runLatency measures one target and prints the result line.
func runLatency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("latency", stderr)
	addr := fs.String("addr", os.Getenv("TARGET_ADDR"), "host:port to measure (default $TARGET_ADDR)")
	requests := fs.String("requests", "", "rotation file (path<TAB>Name: value per line); default GET /")
	mode := fs.String("mode", "seq", "seq: sequential requests on one connection; rate: open loop at -rate")
	n := fs.Int("n", 2000, "seq: requests measured")
	warmup := fs.Int("warmup", 200, "seq: requests sent first, not measured")
	rate := fs.Float64("rate", 2000, "rate: requests per second")
	duration := fs.Duration("d", 3*time.Second, "rate: duration")
	conns := fs.Int("c", 16, "rate: connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		return errors.New("latency: -addr (or TARGET_ADDR) is required")
	}
	target := loadgen.Target{Addr: *addr}
	if *requests != "" {
		f, err := os.Open(*requests)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		target.Requests, err = loadgen.ParseRequests(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("latency: %s: %w", *requests, err)
		}
	}
	var res loadgen.Result
	var err error
	switch *mode {
	case "seq":
		res, err = loadgen.Sequential(ctx, target, *n, *warmup)
	case "rate":
		res, err = loadgen.Rate(ctx, target, *rate, *duration, *conns)
	default:
		return fmt.Errorf("latency: unknown mode %q", *mode)
	}
	if err != nil {
		return fmt.Errorf("latency %s %s: %w", *mode, *addr, err)
	}
	_, err = fmt.Fprintf(stdout, "mode=%s %s\n", *mode, res.Line())
	return err
}
