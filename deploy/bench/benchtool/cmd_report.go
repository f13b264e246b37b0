package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gatehouse.dev/benchtool/internal/report"
	"gatehouse.dev/benchtool/internal/results"
)

// runReport writes the report from a results directory.
func runReport(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	dir := fs.String("results", "", "results directory written by deploy/bench/report.sh (required)")
	out := fs.String("out", "docs/performance.md", "the report to write; its charts go to the directory of the same name without .md")
	strict := fs.Bool("strict", false, "fail when a figure is missing or was not measured (the report is written all the same)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("report: -results is required")
	}
	res, err := results.Read(*dir)
	if err != nil {
		return err
	}
	sum, err := report.Write(res, *out)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "benchtool report: wrote %s and %d charts; %d figures missing, %d not part of this run\n",
		*out, len(sum.Charts), len(sum.Missing), len(sum.NotRun))
	for _, m := range sum.Missing {
		fmt.Fprintln(&b, "  missing:", m)
	}
	for _, p := range sum.Problems {
		fmt.Fprintln(&b, "  unreadable:", p)
	}
	if _, err := io.WriteString(stderr, b.String()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if *strict && (len(sum.Missing) > 0 || len(sum.NotRun) > 0 || len(sum.Problems) > 0) {
		return fmt.Errorf("report: %d figures missing, %d not measured, %d unreadable lines",
			len(sum.Missing), len(sum.NotRun), len(sum.Problems))
	}
	return nil
}
