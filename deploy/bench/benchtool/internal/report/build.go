package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func (d *doc) build() {
	d.header()
	d.machine()
	d.goals()
	d.kong()
	d.proxySection()
	d.propagationSection()
	d.dataplaneSection()
	d.synchubSection()
	d.adminSection()
	d.missing()
	d.reproduce()
}

func (d *doc) header() {
	meta := func(k string) string {
		if v, ok := d.res.Meta.Get(k); ok && v != "" {
			return v
		}
		return "unknown"
	}
	d.p("# Performance")
	d.p("")
	d.p("<!-- Written by `make bench-report` (deploy/bench/report.sh, then benchtool report). Do not edit by hand. -->")
	d.p("")
	d.p("Where Gatehouse stands against nginx, Go's reverse proxy and Kong's published figures, measured on one " +
		"machine in one run. Every figure is the median over repeated measurements with the range (min–max) in " +
		"brackets, and where a baseline was measured in the same run, its ratio to that baseline. A figure that was " +
		"not measured says so in its place.")
	d.p("")
	elapsed := "unknown"
	if v, ok := d.res.Meta.Get("elapsed"); ok {
		if s, err := strconv.Atoi(v); err == nil {
			elapsed = fmt.Sprintf("%d min %02d s", s/60, s%60)
		}
	}
	mode := meta("mode")
	if d.res.Quick() {
		mode = "quick (a smoke run: one short proxy round, the 1k size only, few repetitions)"
	}
	d.table([]string{"run", ""}, [][]string{
		{"command", "`" + meta("command") + "`"},
		{"date", meta("date")},
		{"commit", meta("commit")},
		{"mode", mode},
		{"measuring took", elapsed},
	})
	if d.res.Quick() {
		d.p("> **A quick smoke run.** Its figures come from too few, too short measurements to quote; run " +
			"`make bench-report` for the real report.")
		d.p("")
	}
	if why := d.busy(); why != "" {
		d.p("> **The machine was busy during this run** (%s; it has 2 CPUs, shared with other work). Ratios "+
			"measured in the same run hold up better than absolute figures; re-run `make bench-report` in a quiet "+
			"window before quoting absolute figures.", why)
		d.p("")
	}
}

// busy says how the machine was busy: other work running when the run
// started (load average above 1), or CPUs still busy when the run gave up
// waiting for them before a section. The load averages seen later count
// the benchmarks' own work (a 1-minute average decays slowly), so they
// are shown but not judged.
func (d *doc) busy() string {
	var why []string
	if v, ok := d.res.Machine.Get("load average at start"); ok {
		f := strings.Fields(v)
		if l, err := strconv.ParseFloat(first(f), 64); err == nil && l > 1 {
			why = append(why, fmt.Sprintf("load average %.2f when it started", l))
		}
	}
	for _, o := range d.res.Idle {
		switch {
		case !o.Known:
			why = append(why, "unknown CPU use before the "+o.Section+" section")
		case !o.Idle:
			why = append(why, fmt.Sprintf("CPUs %.0f%% busy after waiting %.0f s before the %s section", o.Busy*100, o.Waited, o.Section))
		}
	}
	return strings.Join(why, "; ")
}

func first(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func (d *doc) machine() {
	d.p("## Machine and load")
	d.p("")
	var rows [][]string
	for _, kv := range d.res.Machine {
		rows = append(rows, []string{kv.Key, kv.Value})
	}
	if len(rows) == 0 {
		rows = append(rows, []string{"*missing*", "*no machine description in the results*"})
	}
	d.table([]string{"machine", ""}, rows)
	d.p("Before each section the run waits for the CPUs to be idle (at most 25%% of all CPUs busy over a second, " +
		"waiting at most a set time) and records what it saw:")
	d.p("")
	rows = nil
	for _, o := range d.res.Idle {
		if !o.Known {
			rows = append(rows, []string{o.Section, "?", "?", "?", "?"})
			continue
		}
		idle := "yes"
		if !o.Idle {
			idle = "no (gave up waiting)"
		}
		rows = append(rows, []string{
			o.Section, fmt.Sprintf("%.0f%%", o.Busy*100), fmt.Sprintf("%.2f", o.Load1),
			fmt.Sprintf("%.0f s", o.Waited), idle,
		})
	}
	if n := d.res.Proxy.Rounds(); n > 0 {
		loads := make([]string, 0, n)
		for r := range n {
			if l, ok := d.res.Proxy.Loads[r]; ok {
				loads = append(loads, fmt.Sprintf("%.2f", l))
			}
		}
		rows = append(rows, []string{"proxy rounds", "", strings.Join(loads, ", "), "", ""})
	}
	if len(rows) == 0 {
		rows = append(rows, []string{"*missing*", "", "", "", ""})
	}
	d.table([]string{"before", "CPUs busy", "load average (1 min)", "waited", "idle"}, rows)
}

// goal is a goal of a service issue and the figure it is judged on.
type goal struct {
	issue  int
	what   string
	target string
	met    func(float64) bool
	f      fig
	num    func(float64) string
	unit   string
}

func below(limit float64) func(float64) bool   { return func(v float64) bool { return v < limit } }
func atLeast(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }

func (d *doc) goalList() []goal {
	goals := []goal{
		{6, "Proxy throughput, no plugins, against nginx in the same run", "≥ 0.7x", atLeast(0.7), d.xNginx(noPlugins), ratio, ""},
		{6, "Proxy throughput, no plugins, against httputil in the same run", "≥ 1.5x", atLeast(1.5), d.xHttputil(noPlugins), ratio, ""},
		{6, "Router build, 10k routes (BenchmarkCompile)", "< 200 ms", below(200), d.routerBuild("ms/build"), sig, " ms"},
		{7, "Throughput with key-auth + rate-limiting local, against no plugins", "≥ 0.7x", atLeast(0.7), d.xNone(rlLocal), ratio, ""},
		{7, "Throughput with key-auth + rate-limiting redis, against no plugins", "≥ 0.6x", atLeast(0.6), d.xNone(rlRedis), ratio, ""},
	}
	for _, n := range stdFleets {
		limit := map[int]float64{100: 50, 1000: 250}[n]
		for _, size := range stdSizes {
			goals = append(goals, goal{4, fmt.Sprintf("One-entity change acked by all of %d data planes, p99, %s entities (BenchmarkFleet)",
				n, entities(size)), fmt.Sprintf("< %.0f ms", limit), below(limit), d.fleetFig(size, n, "p99-ms"), sig, " ms"})
		}
	}
	for _, size := range stdSizes {
		goals = append(goals, goal{
			4, fmt.Sprintf("One-entity delta per data plane, %s entities (BenchmarkFleet, 100 DPs)", entities(size)),
			"< 2 KB", below(2048), d.fleetFig(size, 100, "delta-bytes/dp"), whole, " bytes",
		})
	}
	goals = append(goals,
		goal{5, "Cold start from the cache with 30k entities, real process", "< 1 s", below(1000), d.coldStartReal(30000), sig, " ms"},
		goal{5, "Cold start from the cache with 30k entities, configuration path only (BenchmarkColdStart)", "< 1 s", below(1000), d.coldStartBench(30000), sig, " ms"})
	for _, size := range stdSizes {
		for _, k := range changeKinds {
			goals = append(goals, goal{
				5, fmt.Sprintf("One-entity delta (%s) applied with the production runtime, p99, %s entities "+
					"(BenchmarkRuntimeDeltaApply)", k.what, entities(size)),
				"< 20 ms", below(20), d.runtimeDelta(size, k.name, "p99-ms"), sig, " ms",
			})
		}
	}
	for _, size := range stdSizes {
		goals = append(goals, goal{
			5, fmt.Sprintf("One-entity delta (a route added) applied in a real data-plane process, p99 "+
				"(the slowest of the changes timed), %s entities", entities(size)),
			"< 20 ms", below(20), slowest(d.prop("delta", size, &fleet{dps: 1}, applyMs)), sig, " ms",
		})
	}
	goals = append(goals,
		goal{
			3, "Writes/s with 8 concurrent clients (BenchmarkConcurrentWrites)", "none set", nil,
			d.admin("BenchmarkConcurrentWrites", "writes/s", 1, "adminapi-writes"), whole, " writes/s",
		},
		goal{
			3, "Write latency p99 with 8 concurrent clients", "none set", nil,
			d.admin("BenchmarkConcurrentWrites", "p99-ms", 1, "adminapi-writes"), sig, " ms",
		},
		goal{
			3, "`POST /config` of 10k entities", "none set", nil,
			d.admin("BenchmarkPostConfig10k", "ns/op", 1e-6, "adminapi-postconfig"), sig, " ms",
		})
	return goals
}

func (d *doc) goals() {
	d.p("## Goals")
	d.p("")
	d.p("Each goal the service issues set, next to the figure measured in this run. " +
		"A goal is met when the median meets it.")
	d.p("")
	d.quiet = true
	defer func() { d.quiet = false }()
	var rows [][]string
	met, notMet, missing, notRun := 0, 0, 0, 0
	for _, g := range d.goalList() {
		status := ""
		switch {
		case !g.f.ok() && g.f.why.notRun:
			status = "not run"
			notRun++
		case !g.f.ok():
			status = "missing"
			missing++
		case g.met == nil:
			status = "reported"
		case g.met(g.f.s.Median):
			status = "met"
			met++
		default:
			status = "**not met**"
			notMet++
		}
		rows = append(rows, []string{"#" + strconv.Itoa(g.issue), g.what, g.target, d.cellUnit("", g.f, g.num, g.unit), status})
	}
	d.table([]string{"issue", "goal", "target", "measured", "status"}, rows)
	d.p("The real-process figures are the production binary end to end. BenchmarkRuntimeDeltaApply runs the agent " +
		"with the production runtime (router, TLS, plugin chains, balancers) in the benchmark process, for four " +
		"kinds of change; its p99 is the 99th percentile of all the changes of a run, where the real process's is " +
		"the slowest of the few changes the propagation run times. BenchmarkColdStart runs the configuration path " +
		"alone, without the runtime's extensions, as does BenchmarkDeltaApply, whose figures (a service renamed) " +
		"are in [Data plane](#data-plane) for comparison.")
	d.p("")
	d.p("%d goals met, %d not met, %d missing, %d not part of this run.", met, notMet, missing, notRun)
	d.p("")
}

// kong compares with Kong's published figures (other hardware: context,
// not targets).
func (d *doc) kong() {
	d.p("## Kong's published figures, for context")
	d.p("")
	d.p("Kong measures on other hardware (a 16-vCPU c5.4xlarge, HTTPS, k6), so only ratios compare; these are " +
		"context, not goals.")
	d.p("")
	d.quiet = true
	defer func() { d.quiet = false }()
	snap30k := d.prop("snapshot", 30000, nil, bytesDP)
	snapMB := fig{why: snap30k.why}
	if snap30k.ok() {
		snapMB = summary([]float64{snap30k.s.Median / 1e6}, reason{})
	}
	build := d.routerBuild("ms/build")
	delta := d.prop("delta", 30000, nil, bytesDP)
	rows := [][]string{
		{
			"Throughput kept with key-auth + rate-limiting local (100 routes, 100 consumers)", "0.70x (Kong 3.11)",
			d.cell("", d.xNone(rlLocal), ratio), d.cell("", ratioOf(d.xNone(rlLocal), summary([]float64{0.70}, reason{})), ratio),
		},
		{
			"Full sync of a 30k-entity configuration", "about 30 MB", d.cellUnit("", snapMB, sig, " MB"),
			d.cell("", ratioOf(snapMB, summary([]float64{30}, reason{})), ratio),
		},
		{"Incremental sync of one change (30k entities)", "\"a few KB\"", d.cellUnit("", delta, whole, " bytes"), ""},
		{
			"Router build, 10k routes", "5 s", d.cellUnit("", build, sig, " ms"),
			d.cell("", ratioOf(build, summary([]float64{5000}, reason{})), ratio),
		},
	}
	d.table([]string{"figure", "Kong (published)", "Gatehouse here", "Gatehouse x Kong"}, rows)
}

func (d *doc) missing() {
	d.p("## Missing figures")
	d.p("")
	if len(d.sum.Missing) == 0 && len(d.sum.NotRun) == 0 {
		d.p("None: every figure above was measured.")
		d.p("")
	}
	if len(d.missed) > 0 {
		d.p("The run should have measured these and did not, by reason (the logs are in the results directory's " +
			"logs/, kept with `KEEP=dir`):")
		d.p("")
		for _, g := range groupMissing(d.missed) {
			d.p("- %s:", g.why)
			for _, r := range g.rows {
				d.p("  - %s: %s", r.row, strings.Join(r.columns, ", "))
			}
		}
		d.p("")
	}
	if len(d.sum.NotRun) > 0 {
		d.p("%d figures were not part of this run (a quick run, or sections left out).", len(d.sum.NotRun))
		d.p("")
	}
	if len(d.sum.Problems) > 0 {
		d.p("Lines of the results that could not be read:")
		d.p("")
		for _, p := range d.sum.Problems {
			d.p("- `%s`", p)
		}
		d.p("")
	}
}

func (d *doc) reproduce() {
	d.p("## Reproducing")
	d.p("")
	d.p("`make bench-report` runs deploy/bench/report.sh, which builds everything, runs every section, and writes " +
		"this page and its charts (docs/performance/*.png) with `benchtool report`. It needs Postgres on " +
		"127.0.0.1:5432 (trust authentication, or `GATEHOUSE_TEST_PG_URL`), Redis on 127.0.0.1:6379, nginx and wrk " +
		"(installed with apt-get where it can). `QUICK=1` makes a smoke run of a minute or two; `KEEP=dir` keeps the raw " +
		"results, from which `benchtool report -results dir -out docs/performance.md` writes the page again; the " +
		"header of deploy/bench/report.sh lists the other settings.")
}

type missingRow struct {
	row     string
	columns []string
}

type missingGroup struct {
	why  string
	rows []missingRow
}

// groupMissing groups missing figures by reason, then by row (a label is
// "row, column"), in the order they appear in the report.
func groupMissing(missed []missingFig) []missingGroup {
	var groups []missingGroup
	for _, m := range missed {
		row, col := m.label, ""
		if i := strings.LastIndex(m.label, ", "); i >= 0 {
			row, col = m.label[:i], m.label[i+2:]
		}
		gi := slices.IndexFunc(groups, func(g missingGroup) bool { return g.why == m.why })
		if gi < 0 {
			groups = append(groups, missingGroup{why: m.why})
			gi = len(groups) - 1
		}
		g := &groups[gi]
		ri := slices.IndexFunc(g.rows, func(r missingRow) bool { return r.row == row })
		if ri < 0 {
			g.rows = append(g.rows, missingRow{row: row})
			ri = len(g.rows) - 1
		}
		if col != "" {
			g.rows[ri].columns = append(g.rows[ri].columns, col)
		}
	}
	return groups
}

// slowest is the largest value of f: with at most 100 values, their
// nearest-rank 99th percentile.
func slowest(f fig) fig {
	if !f.ok() {
		return f
	}
	return summary([]float64{f.s.Max}, f.why)
}
