package report

import (
	"fmt"
	"slices"

	"gatehouse.dev/benchtool/internal/results"
)

// The proxies of the proxy section, in the report's order, and what each
// is.
var proxies = []struct{ name, what string }{
	{"nginx", "nginx reverse proxy (reference)"},
	{"httputil", "Go httputil.ReverseProxy (baseline)"},
	{"gatehouse-none", "Gatehouse, no plugins"},
	{"gatehouse-keyauth-rl-local", "Gatehouse, key-auth + rate-limiting local"},
	{"gatehouse-keyauth-rl-redis", "Gatehouse, key-auth + rate-limiting redis"},
}

const (
	noPlugins = "gatehouse-none"
	rlLocal   = "gatehouse-keyauth-rl-local"
	rlRedis   = "gatehouse-keyauth-rl-redis"
	direct    = "direct"
)

// proxyNames returns the proxies measured or expected, in order: the known
// ones, then any other measured, sorted.
func (d *doc) proxyNames() []string {
	var out []string
	for _, p := range proxies {
		out = append(out, p.name)
	}
	var other []string
	for _, t := range d.res.Proxy.Throughput {
		if !slices.Contains(out, t.Name) && !slices.Contains(other, t.Name) {
			other = append(other, t.Name)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

func proxyWhat(name string) string {
	for _, p := range proxies {
		if p.name == name {
			return p.what
		}
	}
	if name == direct {
		return "the upstream alone (direct)"
	}
	return name
}

// proxyWhy says why a proxy's figures are missing.
func (d *doc) proxyWhy(name string) reason {
	if name == rlRedis {
		if st, ok := d.res.Step("proxy-redis"); ok && !st.OK {
			return d.reasonFor(true, "proxy-redis")
		}
	}
	return d.reasonFor(d.sectionPlanned("proxy"), "proxy")
}

// rounds returns a figure of each throughput run of name, by round.
func (d *doc) rounds(name string, get func(results.Throughput) float64) map[int]float64 {
	out := map[int]float64{}
	for _, t := range d.res.Proxy.Throughput {
		if t.Name == name {
			out[t.Round] = get(t)
		}
	}
	return out
}

func rps(t results.Throughput) float64 { return t.RPS }

// capacity is the CPU-bound requests/s of a run: 1e6 / CPU µs per request
// of wrk, proxy and upstream.
func capacity(t results.Throughput) float64 {
	if t.AllCPU <= 0 {
		return 0
	}
	return 1e6 / t.AllCPU
}

// latency returns a latency figure (key of benchtool latency's line, in
// ms) of target name in mode, by round.
func (d *doc) latency(name, mode, key string) map[int]float64 {
	out := map[int]float64{}
	for _, l := range d.res.Proxy.Latency {
		if l.Name == name && l.Mode == mode {
			if v, ok := l.Values[key]; ok {
				out[l.Round] = v
			}
		}
	}
	return out
}

// proxyFig is the median (min–max) over rounds of a figure of name.
func (d *doc) proxyFig(name string, byRound map[int]float64) fig {
	return summary(values(byRound), d.proxyWhy(name))
}

// proxyRatio is a figure of name over the same figure of base, paired per
// round.
func (d *doc) proxyRatio(name, base string, get func(results.Throughput) float64) fig {
	why := d.proxyWhy(name)
	if len(d.rounds(name, get)) > 0 {
		why = d.proxyWhy(base)
	}
	return summary(paired(d.rounds(name, get), d.rounds(base, get), div), why)
}

// Figures the goals use.
func (d *doc) xNginx(name string) fig    { return d.proxyRatio(name, "nginx", rps) }
func (d *doc) xHttputil(name string) fig { return d.proxyRatio(name, "httputil", rps) }
func (d *doc) xNone(name string) fig     { return d.proxyRatio(name, noPlugins, rps) }

func (d *doc) proxySection() {
	d.p("## Proxy throughput and latency")
	d.p("")
	s := d.res.Meta.Settings("proxy")
	d.p("wrk (one thread, %s keep-alive connections, %s per run) sends plain HTTP/1.1 requests with tiny responses "+
		"through each proxy to one nginx upstream answering 200. wrk, the proxy and the upstream are pinned to CPU %s "+
		"(`taskset`, Go programs with GOMAXPROCS=1), so throughput measures each proxy's CPU cost per request on that "+
		"core. Every Gatehouse candidate is the production binary (deploy/bench/dataplane.sh: standalone, tracing "+
		"sampled at 1%%) serving %s routes and %s consumers with key-auth keys; wrk rotates over every route and "+
		"consumer (benchtool gen-proxy). The proxies take turns, in an order rotated every round, for %s rounds; "+
		"ratios are paired per round (each round's figure over the baseline's in the same round), then summarised.",
		orUnknown(s["connections"]), orUnknown(s["duration"]), orUnknown(s["core"]), orUnknown(s["routes"]),
		orUnknown(s["consumers"]), orUnknown(s["rounds"]))
	d.p("")
	names := d.proxyNames()

	d.p("### Throughput")
	d.p("")
	d.p("*Measured* is what wrk saw. *CPU-bound* is 1e6 / (CPU µs per request of wrk + proxy + upstream), read from " +
		"/proc: the rate the core would reach with nothing else on it, which other load on a shared machine disturbs " +
		"much less.")
	d.p("")
	var rows [][]string
	for _, n := range names {
		label := "Proxy throughput, " + n
		what := proxyWhat(n)
		if errs := d.errorRounds(n); errs > 0 {
			what += fmt.Sprintf(" (wrk reported errors in %d of %d rounds)", errs, len(d.rounds(n, rps)))
		}
		rows = append(rows, []string{
			what,
			d.cell(label+", requests/s", d.proxyFig(n, d.rounds(n, rps)), whole),
			d.cell(label+", x nginx", d.xNginx(n), ratio),
			d.cell(label+", x httputil", d.xHttputil(n), ratio),
			d.cell(label+", p99", d.proxyFig(n, d.rounds(n, func(t results.Throughput) float64 { return t.P99Ms })), sig),
			d.cell(label+", CPU/request", d.proxyFig(n, d.rounds(n, func(t results.Throughput) float64 { return t.ProxyCPU })), sig),
			d.cell(label+", CPU-bound requests/s", d.proxyFig(n, d.rounds(n, capacity)), whole),
			d.cell(label+", CPU-bound x nginx", d.proxyRatio(n, "nginx", capacity), ratio),
			d.cell(label+", CPU-bound x httputil", d.proxyRatio(n, "httputil", capacity), ratio),
		})
	}
	d.table([]string{
		"proxy", "requests/s", "x nginx", "x httputil", "p99 ms (wrk)", "proxy CPU µs/request",
		"CPU-bound requests/s", "CPU-bound x nginx", "CPU-bound x httputil",
	}, rows)
	thr := chart{
		file: "proxy-throughput.png", title: "Proxy throughput (median, min-max over rounds)",
		yLabel: "requests/s", bars: true,
	}
	capc := series{name: "CPU-bound"}
	meas := series{name: "measured (wrk)"}
	for _, n := range names {
		thr.categories = append(thr.categories, short(n))
		meas.values = append(meas.values, d.proxyFig(n, d.rounds(n, rps)).s)
		capc.values = append(capc.values, d.proxyFig(n, d.rounds(n, capacity)).s)
	}
	thr.series = []series{meas, capc}
	d.chart(thr)

	d.p("### Plugins")
	d.p("")
	d.p("The same Gatehouse binary and routes with key-auth and rate-limiting (by consumer, a limit no run reaches) " +
		"on every route, against no plugins, paired per round. The redis policy counts in the machine's Redis at " +
		"127.0.0.1:6379 (not fault tolerant, so a Redis failure shows as errors rather than as uncounted requests).")
	d.p("")
	rows = nil
	for _, n := range []string{rlLocal, rlRedis} {
		label := "Plugins, " + n
		rows = append(rows, []string{
			proxyWhat(n),
			d.cell(label+", requests/s", d.proxyFig(n, d.rounds(n, rps)), whole),
			d.cell(label+", x no plugins", d.xNone(n), ratio),
			d.cell(label+", CPU-bound x no plugins", d.proxyRatio(n, noPlugins, capacity), ratio),
			map[string]string{rlLocal: "0.70x (Kong 3.11, published)", rlRedis: "no published figure"}[n],
		})
	}
	d.table([]string{"configuration", "requests/s", "x no plugins", "CPU-bound x no plugins", "Kong keeps"}, rows)

	d.latencySection(names)
}

// errorRounds counts the rounds in which wrk reported errors for name.
func (d *doc) errorRounds(name string) int {
	n := 0
	for _, t := range d.res.Proxy.Throughput {
		if t.Name == name && t.Errors {
			n++
		}
	}
	return n
}

func (d *doc) latencySection(names []string) {
	s := d.res.Meta.Settings("latency")
	targets := append([]string{direct}, names...)
	d.p("### Latency")
	d.p("")
	d.p("After each round's throughput runs, benchtool latency measures each proxy and the upstream alone (*direct*), "+
		"on the same pinned core, with the same rotation of requests. *Unloaded*: %s sequential requests on one "+
		"keep-alive connection; the latency a hop adds is the proxy's figure minus the direct one, paired per round. "+
		"*At a fixed rate*: %s requests/s for %s, open loop over %s connections (a late request's wait counts in its "+
		"latency).", orUnknown(s["sequential"]), orUnknown(s["rate"]), orUnknown(s["duration"]), orUnknown(s["connections"]))
	d.p("")
	var rows [][]string
	for _, n := range targets {
		label := "Unloaded latency, " + n
		why := d.proxyWhy(n)
		p50, p99 := d.latency(n, "seq", "p50"), d.latency(n, "seq", "p99")
		row := []string{
			proxyWhat(n),
			d.cell(label+", p50", summary(values(p50), why), sig),
			d.cell(label+", p99", summary(values(p99), why), sig),
		}
		if n == direct {
			row = append(row, "(baseline)", "(baseline)", "(baseline)")
		} else {
			dp50, dp99 := d.latency(direct, "seq", "p50"), d.latency(direct, "seq", "p99")
			if len(p50) > 0 {
				why = d.proxyWhy(direct)
			}
			row = append(row,
				d.cell(label+", added p50", summary(scale(paired(p50, dp50, sub), 1000), why), sig),
				d.cell(label+", added p99", summary(scale(paired(p99, dp99, sub), 1000), why), sig),
				d.cell(label+", x direct", summary(paired(p50, dp50, div), why), ratio))
		}
		rows = append(rows, row)
	}
	d.table([]string{"unloaded", "p50 ms", "p99 ms", "added per hop, p50 µs", "added per hop, p99 µs", "p50 x direct"}, rows)

	rows = nil
	for _, n := range targets {
		label := "Latency at a fixed rate, " + n
		why := d.proxyWhy(n)
		p99 := d.latency(n, "rate", "p99")
		row := []string{
			proxyWhat(n),
			d.cell(label+", rate", summary(values(d.latency(n, "rate", "rate")), why), whole),
			d.cell(label+", p50", summary(values(d.latency(n, "rate", "p50")), why), sig),
			d.cell(label+", p99", summary(values(p99), why), sig),
			d.cell(label+", errors", summary(values(d.latency(n, "rate", "errors")), why), whole),
		}
		if n == direct {
			row = append(row, "(baseline)")
		} else {
			if len(p99) > 0 {
				why = d.proxyWhy(direct)
			}
			row = append(row, d.cell(label+", x direct", summary(paired(p99, d.latency(direct, "rate", "p99"), div), why), ratio))
		}
		rows = append(rows, row)
	}
	d.table([]string{"at a fixed rate", "achieved requests/s", "p50 ms", "p99 ms", "errors", "p99 x direct"}, rows)

	c := chart{file: "proxy-latency.png", title: "Latency per target (median, min-max over rounds)", yLabel: "ms"}
	c.bars = true
	sp50 := series{name: "unloaded p50"}
	sp99 := series{name: "unloaded p99"}
	rp99 := series{name: "p99 at " + orUnknown(s["rate"]) + "/s"}
	for _, n := range targets {
		c.categories = append(c.categories, short(n))
		sp50.values = append(sp50.values, summary(values(d.latency(n, "seq", "p50")), reason{}).s)
		sp99.values = append(sp99.values, summary(values(d.latency(n, "seq", "p99")), reason{}).s)
		rp99.values = append(rp99.values, summary(values(d.latency(n, "rate", "p99")), reason{}).s)
	}
	c.series = []series{sp50, sp99, rp99}
	d.chart(c)
}

// short is a proxy's name on a chart axis.
func short(name string) string {
	switch name {
	case noPlugins:
		return "gatehouse"
	case rlLocal:
		return "gh+auth+rl local"
	case rlRedis:
		return "gh+auth+rl redis"
	}
	return name
}

// orUnknown is s, or "?" when a setting was not recorded.
func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
