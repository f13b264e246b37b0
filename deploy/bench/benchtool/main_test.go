package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "performance.md")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"report", "-results", "testdata/results", "-out", out}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "and 9 charts;") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "performance", "proxy-throughput.png")); err != nil {
		t.Error(err)
	}
	// The fixture misses figures: -strict fails, after writing the report.
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"report", "-strict", "-results", "testdata/results", "-out", out}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "figures missing") {
		t.Errorf("-strict: %v", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("-strict did not write the report: %v", err)
	}
	if err := run(context.Background(), []string{"report"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("no -results is not an error")
	}
	if err := run(context.Background(), []string{"report", "-results", "testdata/none", "-out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("a missing results directory is not an error")
	}
}
