package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gatehouse.dev/benchtool/internal/propagation"
)

// runPropagation runs the propagation benchmark and writes JSON lines.
func runPropagation(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("propagation", stderr)
	o := propagation.Options{Progress: stderr}
	fs.StringVar(&o.Bin, "bin", "bin", "directory holding admin-api, sync-hub and dataplane")
	fs.StringVar(&o.Dir, "dir", "", "scratch directory (logs, data-plane prefixes); default a temporary one, removed after")
	fs.StringVar(&o.PGURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server URL")
	sizes := fs.String("sizes", "1000,10000,30000", "configuration sizes (entities), comma-separated")
	realFleets := fs.String("real", "1,10", "real data-plane fleets, ascending, comma-separated")
	fs.IntVar(&o.SimFleet, "sim", 100, "simulated data planes (0: none)")
	fs.IntVar(&o.Deltas, "deltas", 10, "one-entity changes timed per fleet")
	fs.IntVar(&o.Snapshots, "snapshots", 2, "full snapshots timed per fleet")
	fs.IntVar(&o.ColdStarts, "coldstarts", 3, "restarts from the cache timed per size")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "longest wait for any step")
	out := fs.String("o", "", "file to write the JSON lines to (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.Sizes, err = ints(*sizes); err != nil {
		return fmt.Errorf("propagation: -sizes: %w", err)
	}
	if o.RealFleets, err = ints(*realFleets); err != nil {
		return fmt.Errorf("propagation: -real: %w", err)
	}
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "propagation."); err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
		defer func() { _ = os.RemoveAll(o.Dir) }()
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("propagation: %w", err)
		}
		defer func() { _ = f.Close() }()
		w = f
	}
	return propagation.Run(ctx, o, propagation.WriteJSON(w))
}

// ints parses a comma-separated list of positive integers ("" is none).
func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, errors.New("not a positive integer: " + f)
		}
		out = append(out, n)
	}
	return out, nil
}
