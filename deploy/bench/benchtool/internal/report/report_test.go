package report

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/benchtool/internal/results"
	"gatehouse.dev/benchtool/internal/stats"
)

var update = flag.Bool("update", false, "rewrite testdata/performance.md from the fixture")

const fixture = "../../testdata/results"

func readFixture(t *testing.T) *results.Results {
	t.Helper()
	res, err := results.Read(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestGolden keeps the report of the fixture equal to
// testdata/performance.md (go test -update rewrites it).
func TestGolden(t *testing.T) {
	t.Parallel()
	md, _, _ := buildReport(readFixture(t), "performance")
	golden := filepath.Join("testdata", "performance.md")
	if *update {
		if err := os.WriteFile(golden, []byte(md), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); md != string(want) {
		t.Errorf("the report differs from %s (go test -update rewrites it); got:\n%s", golden, md)
	}
}

// readFile returns the contents of a file of testdata or one the test
// wrote.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path) //nolint:gosec // G304: the tests' own testdata and temporary files
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// row returns the table row of md whose first cell is first.
func row(t *testing.T, md, first string) []string {
	t.Helper()
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "| "+first+" |") {
			cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q", first)
	return nil
}

// rowWith returns the first table row holding every one of parts.
func rowWith(t *testing.T, md string, parts ...string) string {
	t.Helper()
next:
	for line := range strings.Lines(md) {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		return line
	}
	t.Fatalf("no row with %q", parts)
	return ""
}

func TestFigures(t *testing.T) {
	t.Parallel()
	md, _, sum := buildReport(readFixture(t), "performance")

	// Ratios are paired per round: none/nginx is 0.80, 0.75, 0.80.
	none := row(t, md, "Gatehouse, no plugins")
	if none[1] != "24000 (21000–25600)" || none[2] != "0.80x (0.75x–0.80x)" {
		t.Errorf("no plugins row = %q", none)
	}
	// local/none is 0.75, 0.80, 0.75; wrk's errors in round 1 are said.
	local := row(t, md, "Gatehouse, key-auth + rate-limiting local (wrk reported errors in 1 of 3 rounds)")
	if local[1] != "18000 (16800–19200)" || local[2] != "0.60x" {
		t.Errorf("local row = %q", local)
	}
	plugins := row(t, md, "Gatehouse, key-auth + rate-limiting local")
	if plugins[2] != "0.75x (0.75x–0.80x)" {
		t.Errorf("plugins row = %q", plugins)
	}
	// The redis candidate did not run: its step says why, in place.
	redis := row(t, md, "Gatehouse, key-auth + rate-limiting redis")
	if !strings.Contains(redis[1], "missing: proxy-redis failed") {
		t.Errorf("redis row = %q", redis)
	}
	// Added latency per hop: (0.060-0.020, 0.070-0.020, 0.050-0.030) ms.
	hop := rowWith(t, md, "Gatehouse, no plugins", "0.060")
	if !strings.Contains(hop, "| 40.0 (20.0–50.0) |") {
		t.Errorf("latency row = %q", hop)
	}
	// A negative propagation time is reported as measured.
	if !strings.Contains(rowWith(t, md, "100 simulated", "| 1k |", "769"), "2.25 (-0.500–5.00)") {
		t.Errorf("simulated delta row = %q", rowWith(t, md, "100 simulated", "| 1k |", "769"))
	}

	// Goals: met, not met, missing and not run, each said.
	for _, want := range []struct{ goal, cell, status string }{
		{"against nginx", "0.80x (0.75x–0.80x)", "met"},
		{"against httputil", "2.33x (2.33x–2.40x)", "met"},
		{"rate-limiting redis", "*missing: proxy-redis failed*", "missing"},
		{"100 data planes, p99, 30k", "56.0 ms", "**not met**"},
		{"100 data planes, p99, 10k", "*not run*", "not run"},
		{"1000 data planes, p99, 1k", "*not run*", "not run"},
		{"(a consumer added) applied with the production runtime, p99, 30k", "132 ms", "**not met**"},
		{"(a route added) applied with the production runtime, p99, 30k", "9.76 ms", "met"},
		{"(a plugin's configuration changed) applied with the production runtime, p99, 1k", "0.494 ms", "met"},
		{"(a service renamed) applied with the production runtime, p99, 10k", "*not run*", "not run"},
		{"real data-plane process, p99 (the slowest of the changes timed), 1k", "3.00 ms", "met"},
		{"real data-plane process, p99 (the slowest of the changes timed), 30k", "*not run*", "not run"},
		{"30k entities, real process", "*not run*", "not run"},
		{"configuration path only (BenchmarkColdStart)", "382 (373–390) ms", "met"},
		{"Router build", "61.7 (58.0–65.2) ms", "met"},
	} {
		line := rowWith(t, md, want.goal)
		if !strings.Contains(line, "| "+want.cell+" | "+want.status+" |") {
			t.Errorf("goal %q: row %q, want %q and %q", want.goal, line, want.cell, want.status)
		}
	}

	// BenchmarkDeltaApply (configuration path only) is no longer a goal,
	// but stays in the data-plane section, as the runtime table's baseline.
	if strings.Contains(md, "| #5 | One-entity delta (a service renamed) applied, p99") {
		t.Error("BenchmarkDeltaApply is still a goal row")
	}
	if apply := rowWith(t, md, "| 30k |", "1455"); !strings.Contains(apply, "| 7.94 | 24.8 |") {
		t.Errorf("30k apply row = %q", apply)
	}
	// Production runtime: p50, p99 and the p99 against BenchmarkDeltaApply's
	// (0.936 / 0.253 at 1k).
	if r := rowWith(t, md, "| 1k | a consumer added |"); !strings.Contains(r, "| 0.847 | 0.936 | 3.70x |") {
		t.Errorf("runtime delta row = %q", r)
	}
	if r := rowWith(t, md, "| 10k | a route added |"); !strings.Contains(r, "| *not run* | *not run* | *not run* |") {
		t.Errorf("runtime delta row of a size not planned = %q", r)
	}

	// The failed step's figures are missing with its name; figures of
	// sizes the run did not plan are not run; nothing is invented.
	if !slices.ContainsFunc(sum.Missing, func(s string) bool {
		return strings.HasPrefix(s, "Admin API list 10k routes, ms: adminapi-list failed")
	}) {
		t.Errorf("missing = %q", sum.Missing)
	}
	if slices.ContainsFunc(sum.Missing, func(s string) bool { return strings.Contains(s, "10k entities") }) {
		t.Errorf("a figure of a size not planned is counted as missing: %q", sum.Missing)
	}
	if len(sum.NotRun) == 0 {
		t.Error("no figure is counted as not run")
	}
	if !strings.Contains(md, "> **The machine was busy during this run** (CPUs 60% busy after waiting 30 s before the "+
		"dataplane section; unknown CPU use before the adminapi section;") {
		t.Error("the busy machine is not said")
	}
	if !strings.Contains(md, "| measuring took | 12 min 34 s |") {
		t.Error("the elapsed time is not said")
	}
}

// TestRuntimeDeltaFailed: when BenchmarkRuntimeDeltaApply's step fails,
// its goal rows, table cells and chart say so, and the other data-plane
// figures stay.
func TestRuntimeDeltaFailed(t *testing.T) {
	t.Parallel()
	res := readFixture(t)
	var kept results.GoBench
	for _, l := range res.Bench["dataplane"] {
		if !strings.HasPrefix(l.Name, "BenchmarkRuntimeDeltaApply/") {
			kept = append(kept, l)
		}
	}
	res.Bench["dataplane"] = kept
	res.Steps = append(res.Steps, results.Step{Name: "dataplane-runtimedelta", Why: "exit status 1"})
	md, charts, sum := buildReport(res, "performance")
	line := rowWith(t, md, "(a route added) applied with the production runtime, p99, 1k")
	if !strings.Contains(line, "| *missing: dataplane-runtimedelta failed* | missing |") {
		t.Errorf("goal row = %q", line)
	}
	want := "Data plane runtime delta, 30k entities, a consumer added, p99: dataplane-runtimedelta failed (exit status 1)"
	if !slices.Contains(sum.Missing, want) {
		t.Errorf("missing = %q, want %q", sum.Missing, want)
	}
	if slices.ContainsFunc(sum.Missing, func(s string) bool { return strings.Contains(s, "10k entities") }) {
		t.Errorf("a figure of a size not planned is counted as missing: %q", sum.Missing)
	}
	for _, c := range charts {
		if c.file == "dataplane-runtime-delta.png" && c.hasData() {
			t.Error("the runtime delta chart has data")
		}
	}
	if !strings.Contains(rowWith(t, md, "| 30k |", "24.8"), "1455") {
		t.Error("the other data-plane figures are gone")
	}
}

// TestFormat checks how figures are written.
func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    stats.Summary
		num  func(float64) string
		want string
	}{
		{stats.Summary{Median: 2, Min: 1, Max: 3, N: 3}, sig, "2.00 (1.00–3.00)"},
		{stats.Summary{Median: 2, Min: 2, Max: 2, N: 3}, sig, "2.00"},
		{stats.Summary{Median: 1234.5, Min: 1234.5, Max: 1234.5, N: 1}, whole, "1234"},
		{stats.Summary{Median: 0.0123, Min: 0.0123, Max: 0.0123, N: 1}, sig, "0.012"},
		{stats.Summary{Median: 15.25, Min: 15.25, Max: 15.25, N: 1}, sig, "15.2"},
		{stats.Summary{Median: 0.756, Min: 0.7, Max: 0.8, N: 2}, ratio, "0.76x (0.70x–0.80x)"},
		{stats.Summary{Median: 0.00076, Min: 0.00076, Max: 0.00076, N: 1}, ratio, "0.00076x"},
		{stats.Summary{Median: 0.0949, Min: 0.0949, Max: 0.0949, N: 1}, ratio, "0.095x"},
		{stats.Summary{Median: 99.96, Min: 9.996, Max: 0.99951, N: 3}, sig, "100 (10.0–1.00)"},
		{stats.Summary{Median: 99.94, Min: 99.94, Max: 99.94, N: 1}, sig, "99.9"},
		{stats.Summary{Median: 2, Min: 1.9999, Max: 2.0001, N: 3}, sig, "2.00"},
	} {
		if got := format(tt.s, tt.num); got != tt.want {
			t.Errorf("format(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestWrite writes the report and its charts twice: the same bytes, every
// chart a PNG, and a chart without data removed rather than left stale.
func TestWrite(t *testing.T) {
	t.Parallel()
	res := readFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "performance.md")
	stale := filepath.Join(dir, "performance", "synchub-memory.png")
	if err := os.MkdirAll(filepath.Dir(stale), 0o750); err != nil {
		t.Fatal(err)
	}
	sum, err := Write(res, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Charts) != 9 {
		t.Errorf("charts = %q, want 9", sum.Charts)
	}
	first := map[string][]byte{}
	for _, c := range sum.Charts {
		data := readFile(t, c)
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", c, err)
		}
		first[c] = data
	}
	md1 := readFile(t, out)
	if _, err := Write(res, out); err != nil {
		t.Fatal(err)
	}
	md2 := readFile(t, out)
	if !bytes.Equal(md1, md2) {
		t.Error("the report differs between two writes of the same results")
	}
	for c, data := range first {
		again := readFile(t, c)
		if !bytes.Equal(data, again) {
			t.Errorf("%s differs between two writes of the same results", c)
		}
		if !bytes.Contains(md1, []byte("(performance/"+filepath.Base(c)+")")) {
			t.Errorf("%s is not linked", c)
		}
	}

	// No sync-hub results: its charts are not drawn, and the old files go.
	res.Bench["synchub"] = nil
	if err := os.WriteFile(stale, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err = Write(res, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Charts) != 7 {
		t.Errorf("charts = %q, want 7", sum.Charts)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale chart is still there: %v", err)
	}
	md := readFile(t, out)
	if !bytes.Contains(md, []byte(`*Chart "sync-hub: hub memory per connected data plane" not drawn: none of its figures were measured.*`)) {
		t.Error("the report does not say the chart was not drawn")
	}
	if _, err := Write(res, filepath.Join(dir, "performance.txt")); err == nil {
		t.Error("a report not ending in .md was written")
	}
}

// TestEmpty builds a report from nothing: every figure missing, no chart.
func TestEmpty(t *testing.T) {
	t.Parallel()
	md, charts, sum := buildReport(&results.Results{Bench: map[string]results.GoBench{}}, "performance")
	for _, c := range charts {
		if c.hasData() {
			t.Errorf("chart %s has data", c.file)
		}
	}
	if len(sum.Missing) == 0 || len(sum.NotRun) != 0 {
		t.Errorf("%d missing, %d not run", len(sum.Missing), len(sum.NotRun))
	}
	if !strings.Contains(md, "*missing: the run stopped before proxy*") {
		t.Error("no reason given for the missing proxy figures")
	}
	if strings.Contains(md, "](performance/") {
		t.Error("a chart is linked")
	}
}
