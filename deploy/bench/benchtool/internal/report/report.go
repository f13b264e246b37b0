// Package report turns a results directory (package results) into
// docs/performance.md and its PNG charts: tables of every figure of the
// bench report as median (min–max) with its ratio to a baseline measured
// in the same run, the goals of the service issues next to the measured
// figures, Kong's published figures as context, and the machine and load
// the figures were measured on. The output depends on the results alone
// (no clock, no map order), so the same results give the same report.
// A figure that is not in the results is written as missing, with the
// reason (the step that failed, or that the run did not measure it): the
// report never fills a gap.
package report

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/benchtool/internal/results"
	"gatehouse.dev/benchtool/internal/stats"
)

// Summary says what Write left out and wrote.
type Summary struct {
	// Missing lists the figures the run should have measured and did
	// not, as "where: why".
	Missing []string
	// NotRun lists the figures that were not part of this run (a quick
	// run, or sections left out).
	NotRun []string
	// Charts are the chart files written; Problems the result lines that
	// could not be read.
	Charts   []string
	Problems []string
}

// Write writes the report for res to out (a .md file) and its charts to
// the directory of the same name without .md, which the report links to.
// A chart with no data is not drawn, and an earlier file of its name is
// removed so that no stale chart stays linked.
func Write(res *results.Results, out string) (Summary, error) {
	if !strings.HasSuffix(out, ".md") {
		return Summary{}, fmt.Errorf("report: %s: the report must be a .md file", out)
	}
	chartDir := strings.TrimSuffix(out, ".md")
	md, charts, sum := buildReport(res, filepath.Base(chartDir))
	if err := os.MkdirAll(chartDir, 0o755); err != nil { //nolint:gosec // documentation, read by everyone
		return sum, fmt.Errorf("report: %w", err)
	}
	for _, c := range charts {
		path := filepath.Join(chartDir, c.file)
		if !c.hasData() {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return sum, fmt.Errorf("report: %w", err)
			}
			continue
		}
		if err := c.render(chartDir); err != nil {
			return sum, fmt.Errorf("report: chart %w", err)
		}
		sum.Charts = append(sum.Charts, path)
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil { //nolint:gosec // documentation
		return sum, fmt.Errorf("report: %w", err)
	}
	return sum, nil
}

// buildReport returns the report's markdown, linking charts as
// chartLink/FILE, and the charts it refers to.
func buildReport(res *results.Results, chartLink string) (string, []chart, Summary) {
	d := &doc{res: res, link: chartLink}
	d.sum.Problems = res.Problems
	d.build()
	return d.w.String(), d.charts, d.sum
}

// doc is a report being written.
type doc struct {
	res    *results.Results
	link   string
	w      strings.Builder
	charts []chart
	sum    Summary
	// quiet: missing figures are not recorded (the goals table repeats
	// figures whose sections record them).
	quiet bool
	// missed are the missing figures, for the list at the end.
	missed []missingFig
}

// missingFig is a figure the run should have measured: label is "row,
// column" as the report names it.
type missingFig struct{ label, why string }

func (m missingFig) String() string { return m.label + ": " + m.why }

func (d *doc) p(format string, args ...any) {
	fmt.Fprintf(&d.w, format, args...)
	d.w.WriteByte('\n')
}

// table writes a markdown table.
func (d *doc) table(header []string, rows [][]string) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	cells := make([]string, len(header))
	for i, h := range header {
		cells[i] = esc(h)
	}
	d.p("| %s |", strings.Join(cells, " | "))
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	d.p("|%s|", strings.Join(sep, "|"))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = esc(c)
		}
		d.p("| %s |", strings.Join(cells, " | "))
	}
	d.p("")
}

// chart adds a chart and links it, or says it has no data.
func (d *doc) chart(c chart) {
	d.charts = append(d.charts, c)
	if c.hasData() {
		d.p("![%s](%s/%s)", c.title, d.link, c.file)
	} else {
		d.p("*Chart %q not drawn: none of its figures were measured.*", c.title)
	}
	d.p("")
}

// reason is why a figure is missing: text in its table cell, and detail
// for the list of missing figures.
type reason struct {
	notRun bool
	text   string
	detail string
}

// long is the reason with its detail.
func (r reason) long() string {
	t := strings.TrimPrefix(r.text, "missing: ")
	if r.detail != "" {
		t += " (" + r.detail + ")"
	}
	return t
}

// fig is a figure: repeated measurements, or why there are none.
type fig struct {
	s   stats.Summary
	why reason
}

func (f fig) ok() bool { return f.s.N > 0 }

// cell formats f for a table with num for each number, recording a
// missing figure under label.
func (d *doc) cell(label string, f fig, num func(float64) string) string {
	return d.cellUnit(label, f, num, "")
}

// cellUnit is cell with a unit after the figure (not after a missing one).
func (d *doc) cellUnit(label string, f fig, num func(float64) string, unit string) string {
	if f.ok() {
		return format(f.s, num) + unit
	}
	if !d.quiet {
		m := missingFig{label: label, why: f.why.long()}
		if f.why.notRun {
			d.sum.NotRun = append(d.sum.NotRun, m.String())
		} else {
			d.sum.Missing = append(d.sum.Missing, m.String())
			d.missed = append(d.missed, m)
		}
	}
	return "*" + f.why.text + "*"
}

// format writes "median (min–max)", or the median alone when every value
// is the same.
func format(s stats.Summary, num func(float64) string) string {
	if s.N == 1 || num(s.Min) == num(s.Max) {
		return num(s.Median)
	}
	return num(s.Median) + " (" + num(s.Min) + "–" + num(s.Max) + ")"
}

// Number formats.

// sig writes about three significant digits, without an exponent: 1234,
// 123, 12.3, 1.23, 0.123, 0.012.
func sig(v float64) string {
	for _, d := range []struct {
		from     float64
		decimals int
	}{{99.95, 0}, {9.995, 1}, {0.9995, 2}} {
		if math.Abs(v) >= d.from {
			return strconv.FormatFloat(v, 'f', d.decimals, 64)
		}
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func whole(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// ratio writes a ratio with two decimals, or two significant digits below
// 0.1 (0.0076x, not 0.01x).
func ratio(v float64) string {
	decimals := 2
	if a := math.Abs(v); a > 0 && a < 0.095 {
		decimals = 1 - int(math.Floor(math.Log10(a)))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64) + "x"
}

// reasonFor says why a figure of the given steps is missing: not planned
// for this run, a step that failed or never ran, or absent from the
// results of steps that succeeded.
func (d *doc) reasonFor(planned bool, steps ...string) reason {
	if !planned {
		return reason{notRun: true, text: "not run"}
	}
	for _, name := range steps {
		st, ok := d.res.Step(name)
		switch {
		case !ok:
			return reason{text: "missing: the run stopped before " + name}
		case !st.OK:
			return reason{text: "missing: " + name + " failed", detail: st.Why}
		}
	}
	return reason{text: "missing: not in the results of " + strings.Join(steps, ", ")}
}

// summary makes a figure of values, with the reason to give if there are
// none.
func summary(values []float64, why reason) fig {
	return fig{s: stats.Summarize(values), why: why}
}

// sectionPlanned reports whether the run included a section.
func (d *doc) sectionPlanned(name string) bool {
	v, ok := d.res.Meta.Get("sections")
	if !ok {
		return true
	}
	return slices.Contains(strings.Fields(v), name)
}

// ints parses "1,10" (nil for none or a bad list).
func ints(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// grid returns the union of lists, sorted.
func grid(lists ...[]int) []int {
	var out []int
	for _, l := range lists {
		for _, v := range l {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// entities names a configuration size: 1000 is "1k".
func entities(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// scale multiplies values.
func scale(values []float64, by float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = v * by
	}
	return out
}

// paired returns a[r] op b[r] for every round both have (and b's is not 0
// for a ratio), in round order.
func paired(a, b map[int]float64, op func(x, y float64) (float64, bool)) []float64 {
	rounds := make([]int, 0, len(a))
	for r := range a {
		if _, ok := b[r]; ok {
			rounds = append(rounds, r)
		}
	}
	slices.Sort(rounds)
	var out []float64
	for _, r := range rounds {
		if v, ok := op(a[r], b[r]); ok {
			out = append(out, v)
		}
	}
	return out
}

func div(x, y float64) (float64, bool) { return x / y, y != 0 }
func sub(x, y float64) (float64, bool) { return x - y, true }

// values returns a map's values in key order.
func values(m map[int]float64) []float64 {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// ratioOf is the ratio of two figures' medians (for figures that are not
// measured in pairs), missing when either is.
func ratioOf(a, b fig) fig {
	if !a.ok() {
		return fig{why: a.why}
	}
	if !b.ok() {
		return fig{why: b.why}
	}
	if b.s.Median == 0 {
		return fig{why: reason{text: "missing: the baseline is 0"}}
	}
	return summary([]float64{a.s.Median / b.s.Median}, reason{})
}
