package report

import (
	"fmt"
	"slices"
	"strconv"
)

// stdFleets are BenchmarkFleet's fleets.
var stdFleets = []int{100, 1000}

// bench is a metric of a Go benchmark (in results file bench-FILE.txt),
// multiplied by by, with the reason to give when it is missing.
func (d *doc) bench(file, name, unit string, by float64, planned bool, step string) fig {
	return summary(scale(d.res.Bench[file].Values(name, unit), by), d.reasonFor(planned, step))
}

// benchPlan is the sizes and fleets of the Go benchmarks this run ran.
func (d *doc) benchPlan() (sizes, fleets []int) {
	s := d.res.Meta.Settings("gobench")
	sizes, fleets = ints(s["sizes"]), ints(s["fleets"])
	if _, ok := s["sizes"]; !ok {
		sizes = stdSizes
	}
	if _, ok := s["fleets"]; !ok {
		fleets = stdFleets
	}
	return sizes, fleets
}

func (d *doc) sizePlanned(section string, size int) bool {
	sizes, _ := d.benchPlan()
	return d.sectionPlanned(section) && slices.Contains(sizes, size)
}

func (d *doc) fleetPlanned(size, dps int) bool {
	_, fleets := d.benchPlan()
	return d.sizePlanned("synchub", size) && slices.Contains(fleets, dps)
}

// The data-plane figures the goals use.
func (d *doc) coldStartReal(size int) fig { return d.prop("cold_start", size, nil, ms) }

func (d *doc) coldStartBench(size int) fig {
	return d.bench("dataplane", "BenchmarkColdStart/entities="+strconv.Itoa(size), "ns/op", 1e-6,
		d.sizePlanned("dataplane", size), "dataplane-coldstart")
}

func (d *doc) deltaApply(size int, unit string) fig {
	return d.bench("dataplane", "BenchmarkDeltaApply/entities="+strconv.Itoa(size), unit, 1,
		d.sizePlanned("dataplane", size), "dataplane-deltaapply")
}

// changeKinds are BenchmarkRuntimeDeltaApply's one-entity changes (its
// change=NAME sub-benchmarks) and what each does.
var changeKinds = []struct{ name, what string }{
	{"service", "a service renamed"},
	{"route", "a route added"},
	{"plugin", "a plugin's configuration changed"},
	{"consumer", "a consumer added"},
}

// runtimeDelta is a figure of BenchmarkRuntimeDeltaApply: a one-entity
// change applied with the production runtime.
func (d *doc) runtimeDelta(size int, change, unit string) fig {
	return d.bench("dataplane", fmt.Sprintf("BenchmarkRuntimeDeltaApply/entities=%d/change=%s", size, change), unit, 1,
		d.sizePlanned("dataplane", size), "dataplane-runtimedelta")
}

func (d *doc) snapshotApply(size int, unit string) fig {
	return d.bench("dataplane", "BenchmarkSnapshotApply/entities="+strconv.Itoa(size), unit, 1,
		d.sizePlanned("dataplane", size), "dataplane-snapshotapply")
}

func (d *doc) routerBuild(unit string) fig {
	return d.bench("dataplane", "BenchmarkCompile", unit, 1, d.sectionPlanned("dataplane"), "dataplane-router")
}

func (d *doc) dataplaneSection() {
	sizes, _ := d.propGrid()
	sizes = grid(sizes)
	d.p("## Data plane")
	d.p("")
	d.p("*Real process* figures come from the propagation run and measure the production binary end to end: a " +
		"data-plane process restarted on its cache and timed from its start to its status API answering ready, the " +
		"resident memory (VmRSS) of every real data plane once it serves the configuration, and the apply time each " +
		"logs (frame received to runtime swapped) for a one-entity change that adds a route. The others are Go " +
		"benchmarks in dataplane/internal/agent on realistic configurations (dataplane/internal/fixture). " +
		"BenchmarkColdStart, BenchmarkDeltaApply and BenchmarkSnapshotApply run the agent alone, without the " +
		"runtime's extensions (router, TLS, plugin chains, balancers): they measure the configuration path (decode, " +
		"validate, hash, persist, swap). BenchmarkColdStart opens and verifies the cache and reports the heap the " +
		"served configuration keeps; BenchmarkDeltaApply applies a one-entity delta (a service renamed) and " +
		"BenchmarkSnapshotApply a whole configuration, from the frame received to the new runtime swapped in, " +
		"persisted with a synced write. BenchmarkRuntimeDeltaApply ([below](#production-runtime)) runs the agent " +
		"with the production runtime's extensions, as the dataplane binary builds them.")
	d.p("")
	var rows [][]string
	for _, size := range sizes {
		label := "Data plane, " + entities(size) + " entities"
		rows = append(rows, []string{
			entities(size),
			d.cell(label+", cold start (real process)", d.coldStartReal(size), sig),
			d.cell(label+", cold start (BenchmarkColdStart)", d.coldStartBench(size), sig),
			d.cell(label+", memory (real process)", d.prop("memory", size, nil, rssMB), sig),
			d.cell(label+", heap (BenchmarkColdStart)", d.bench("dataplane", "BenchmarkColdStart/entities="+strconv.Itoa(size),
				"heap-MB", 1, d.sizePlanned("dataplane", size), "dataplane-coldstart"), sig),
			d.cell(label+", first sync (real process)", d.prop("initial_sync", size, nil, ms), sig),
		})
	}
	d.table([]string{
		"entities", "cold start from the cache to ready, real process, ms", "cold start, BenchmarkColdStart, ms",
		"resident memory, real process, MiB", "heap kept, BenchmarkColdStart, MiB", "first sync, start to serving, ms",
	}, rows)

	rows = nil
	for _, size := range sizes {
		label := "Data plane apply, " + entities(size) + " entities"
		f := fleet{dps: 1}
		rows = append(rows, []string{
			entities(size),
			d.cell(label+", delta p50", d.deltaApply(size, "p50-ms"), sig),
			d.cell(label+", delta p99", d.deltaApply(size, "p99-ms"), sig),
			d.cell(label+", delta (real process)", d.prop("delta", size, &f, applyMs), sig),
			d.cell(label+", snapshot p50", d.snapshotApply(size, "p50-ms"), sig),
			d.cell(label+", snapshot p99", d.snapshotApply(size, "p99-ms"), sig),
			d.cell(label+", snapshot (real process)", d.prop("snapshot", size, &f, applyMs), sig),
			d.cell(label+", delta x snapshot (real process)",
				ratioOf(d.prop("delta", size, &f, applyMs), d.prop("snapshot", size, &f, applyMs)), ratio),
		})
	}
	d.table([]string{
		"entities", "one-entity delta (a service renamed), BenchmarkDeltaApply p50 ms", "p99 ms",
		"one-entity delta (a route added), real process (1 DP), ms", "full snapshot, BenchmarkSnapshotApply p50 ms", "p99 ms",
		"full snapshot, real process (1 DP), ms", "delta x snapshot, real process",
	}, rows)

	c := chart{
		file: "dataplane.png", title: "Data plane: start and apply times", xLabel: "entities in the configuration",
		yLabel: "ms (log scale)", logY: true,
	}
	cold := series{name: "cold start from the cache (real process)"}
	rdelta := series{name: "one-entity delta, a route added (real process)"}
	rsnap := series{name: "full snapshot (real process)"}
	dp99 := series{name: "one-entity delta, p99 (BenchmarkDeltaApply)"}
	one := fleet{dps: 1}
	for _, size := range sizes {
		c.categories = append(c.categories, entities(size))
		cold.values = append(cold.values, d.coldStartReal(size).s)
		rdelta.values = append(rdelta.values, d.prop("delta", size, &one, applyMs).s)
		rsnap.values = append(rsnap.values, d.prop("snapshot", size, &one, applyMs).s)
		dp99.values = append(dp99.values, d.deltaApply(size, "p99-ms").s)
	}
	c.series = []series{cold, rdelta, rsnap, dp99}
	c.hlines = []hline{{"goal: cold start of 30k under 1 s (issue 5)", 1000}, {"goal: delta p99 under 20 ms (issue 5)", 20}}
	d.chart(c)

	d.runtimeDeltaSection(sizes)

	d.p("### Router")
	d.p("")
	d.p("BenchmarkCompile (dataplane/internal/router) compiles 10,000 routes of a realistic mix (hosts, wildcards, " +
		"prefixes, methods, headers, regexes); *CPU* is the compiling thread's own CPU time. The router alone is " +
		"measured at 10k routes only (the real-process snapshot apply above includes the router's build at each " +
		"size). BenchmarkMatch matches one request among 10, 1,000 and 10,000 routes.")
	d.p("")
	d.table([]string{"router build, 10k routes", "ms", "CPU ms", "allocations"}, [][]string{{
		"BenchmarkCompile",
		d.cell("Router build, ms", d.routerBuild("ms/build"), sig),
		d.cell("Router build, CPU ms", d.routerBuild("cpu-ms/build"), sig),
		d.cell("Router build, allocations", d.routerBuild("allocs/op"), whole),
	}})
	rows = nil
	for _, n := range []int{10, 1000, 10000} {
		name := "BenchmarkMatch/routes=" + strconv.Itoa(n)
		label := "Router match, " + strconv.Itoa(n) + " routes"
		get := func(unit string) fig {
			return d.bench("dataplane", name, unit, 1, d.sectionPlanned("dataplane"), "dataplane-match")
		}
		rows = append(rows, []string{
			strconv.Itoa(n),
			d.cell(label+", ns", get("ns/op"), sig),
			d.cell(label+", CPU ns", get("cpu-ns/op"), sig),
			d.cell(label+", allocations", get("allocs/op"), whole),
		})
	}
	d.table([]string{"router match, routes", "ns/match", "CPU ns/match", "allocations/match"}, rows)
}

// runtimeDeltaSection writes BenchmarkRuntimeDeltaApply's figures.
func (d *doc) runtimeDeltaSection(sizes []int) {
	d.p("### Production runtime")
	d.p("")
	d.p("BenchmarkRuntimeDeltaApply (dataplane/internal/agent) runs a data plane with the production runtime the " +
		"dataplane binary builds (router, TLS, plugin chains, balancers) in the benchmark process, synced with an " +
		"in-process hub, and applies one-entity deltas of four kinds: a service renamed (the change " +
		"BenchmarkDeltaApply makes without the runtime), a route added (the change the real process is timed on), " +
		"a rate-limiting plugin's configuration changed and a consumer added. Each is timed from the frame received " +
		"to the new runtime swapped in, persisted with a synced write. The last column compares each p99 with " +
		"BenchmarkDeltaApply's at the same size (the configuration path alone, a service renamed); for a service " +
		"renamed, it is what the runtime's extensions add.")
	d.p("")
	var rows [][]string
	for _, size := range sizes {
		for _, k := range changeKinds {
			label := fmt.Sprintf("Data plane runtime delta, %s entities, %s", entities(size), k.what)
			rows = append(rows, []string{
				entities(size), k.what,
				d.cell(label+", p50", d.runtimeDelta(size, k.name, "p50-ms"), sig),
				d.cell(label+", p99", d.runtimeDelta(size, k.name, "p99-ms"), sig),
				d.cell(label+", x configuration path only",
					ratioOf(d.runtimeDelta(size, k.name, "p99-ms"), d.deltaApply(size, "p99-ms")), ratio),
			})
		}
	}
	d.table([]string{
		"entities", "one-entity change", "BenchmarkRuntimeDeltaApply p50 ms", "p99 ms",
		"p99 x BenchmarkDeltaApply p99 (configuration path only)",
	}, rows)

	c := chart{
		file: "dataplane-runtime-delta.png", title: "One-entity delta with the production runtime, p99",
		xLabel: "entities in the configuration", yLabel: "ms (log scale)", logY: true,
	}
	for _, size := range sizes {
		c.categories = append(c.categories, entities(size))
	}
	for _, k := range changeKinds {
		s := series{name: k.what}
		for _, size := range sizes {
			s.values = append(s.values, d.runtimeDelta(size, k.name, "p99-ms").s)
		}
		c.series = append(c.series, s)
	}
	c.hlines = []hline{{"goal: delta p99 under 20 ms (issue 5)", 20}}
	d.chart(c)
}

// The sync-hub figures the goals use.
func (d *doc) fleetFig(size, dps int, unit string) fig {
	return d.bench("synchub", fmt.Sprintf("BenchmarkFleet/entities=%d/dps=%d", size, dps), unit, 1,
		d.fleetPlanned(size, dps), "synchub")
}

func (d *doc) synchubSection() {
	sizes, fleets := d.benchPlan()
	sizes, fleets = grid(stdSizes, sizes), grid(stdFleets, fleets)
	d.p("## sync-hub")
	d.p("")
	d.p("BenchmarkFleet (sync-hub/internal/hub) runs a hub in the benchmark process on the local Postgres, with 100 " +
		"and 1000 simulated data planes in a child process (real TLS websockets that acknowledge without applying), " +
		"for configurations of 1k, 10k and 30k services. Each iteration is a one-entity change; latency is from the " +
		"commit to the hub receiving the last data plane's acknowledgement. Hub memory is the benchmark process's " +
		"heap and stacks (the hub alone) per connected data plane; CPU is the hub process's per change, in all and " +
		"per connected data plane.")
	d.p("")
	var rows [][]string
	for _, size := range sizes {
		for _, n := range fleets {
			label := fmt.Sprintf("sync-hub, %s entities, %d data planes", entities(size), n)
			row := []string{
				entities(size), strconv.Itoa(n),
				d.cell(label+", p50", d.fleetFig(size, n, "p50-ms"), sig),
				d.cell(label+", p99", d.fleetFig(size, n, "p99-ms"), sig),
				d.cell(label+", memory per DP", d.fleetFig(size, n, "hub-KiB/dp"), sig),
				d.cell(label+", CPU per change", d.fleetFig(size, n, "hub-cpu-ms/change"), sig),
				d.cell(label+", CPU per change per DP", perDP(d.fleetFig(size, n, "hub-cpu-ms/change"), n), sig),
				d.cell(label+", delta bytes", d.fleetFig(size, n, "delta-bytes/dp"), whole),
			}
			if n == fleets[0] {
				row = append(row, "(baseline)")
			} else {
				row = append(row, d.cell(label+", x "+strconv.Itoa(fleets[0]),
					ratioOf(d.fleetFig(size, n, "p99-ms"), d.fleetFig(size, fleets[0], "p99-ms")), ratio))
			}
			rows = append(rows, row)
		}
	}
	d.table([]string{
		"entities", "data planes", "commit → last ack, p50 ms", "p99 ms", "hub memory per DP, KiB",
		"hub CPU per change, ms", "hub CPU per change per DP, µs", "delta bytes per DP", "p99 x " + strconv.Itoa(fleets[0]) + " DPs",
	}, rows)

	lat := chart{
		file: "synchub-latency.png", title: "sync-hub: commit to the last acknowledgement, p99",
		xLabel: "entities in the configuration", yLabel: "ms",
	}
	mem := chart{
		file: "synchub-memory.png", title: "sync-hub: hub memory per connected data plane",
		xLabel: "entities in the configuration", yLabel: "KiB per data plane", bars: true,
	}
	for _, size := range sizes {
		lat.categories = append(lat.categories, entities(size))
		mem.categories = append(mem.categories, entities(size))
	}
	for _, n := range fleets {
		sl := series{name: strconv.Itoa(n) + " data planes"}
		sm := series{name: strconv.Itoa(n) + " data planes"}
		for _, size := range sizes {
			sl.values = append(sl.values, d.fleetFig(size, n, "p99-ms").s)
			sm.values = append(sm.values, d.fleetFig(size, n, "hub-KiB/dp").s)
		}
		lat.series = append(lat.series, sl)
		mem.series = append(mem.series, sm)
	}
	lat.hlines = []hline{{"goal for 100 (issue 4)", 50}, {"goal for 1000 (issue 4)", 250}}
	d.chart(lat)
	d.chart(mem)
}

// perDP divides a figure in ms for a fleet of n by n, in µs.
func perDP(f fig, n int) fig {
	if !f.ok() {
		return f
	}
	f.s.Median, f.s.Min, f.s.Max = f.s.Median*1000/float64(n), f.s.Min*1000/float64(n), f.s.Max*1000/float64(n)
	return f
}

// The Admin API figures.
func (d *doc) admin(name, unit string, by float64, step string) fig {
	return d.bench("adminapi", name, unit, by, d.sectionPlanned("adminapi"), step)
}

func (d *doc) adminSection() {
	d.p("## Admin API")
	d.p("")
	d.p("Go benchmarks in admin-api/internal/httpapi, through HTTP on the local Postgres: BenchmarkWrite (one " +
		"client creating consumers one after the other), BenchmarkConcurrentWrites (8 clients at once: every write " +
		"takes the next configuration revision, so writers serialise on it), BenchmarkPostConfig10k (the whole " +
		"configuration replaced by a declarative file of 10,000 entities, one revision) and BenchmarkListRoutes10k " +
		"(10,000 routes listed page by page, as decK dumps).")
	d.p("")
	var rows [][]string
	for _, b := range []struct{ name, what string }{
		{"BenchmarkWrite", "1 client"},
		{"BenchmarkConcurrentWrites", "8 concurrent clients"},
	} {
		label := "Admin API writes, " + b.what
		row := []string{
			b.what,
			d.cell(label+", writes/s", d.admin(b.name, "writes/s", 1, "adminapi-writes"), whole),
			d.cell(label+", p50", d.admin(b.name, "p50-ms", 1, "adminapi-writes"), sig),
			d.cell(label+", p99", d.admin(b.name, "p99-ms", 1, "adminapi-writes"), sig),
		}
		if b.name == "BenchmarkWrite" {
			row = append(row, "(baseline)")
		} else {
			row = append(row, d.cell(label+", x 1 client", ratioOf(d.admin(b.name, "writes/s", 1, "adminapi-writes"),
				d.admin("BenchmarkWrite", "writes/s", 1, "adminapi-writes")), ratio))
		}
		rows = append(rows, row)
	}
	d.table([]string{"single-entity writes", "writes/s", "p50 ms", "p99 ms", "writes/s x 1 client"}, rows)
	d.table([]string{"whole configuration", "time per request, ms", "entities or routes per second"}, [][]string{
		{
			"`POST /config`, 10,000 entities",
			d.cell("Admin API POST /config 10k, ms", d.admin("BenchmarkPostConfig10k", "ns/op", 1e-6, "adminapi-postconfig"), sig),
			d.cell("Admin API POST /config 10k, entities/s", d.admin("BenchmarkPostConfig10k", "entities/s", 1, "adminapi-postconfig"), whole),
		},
		{
			"list 10,000 routes, pages of 1,000",
			d.cell("Admin API list 10k routes, ms", d.admin("BenchmarkListRoutes10k", "ns/op", 1e-6, "adminapi-list"), sig),
			d.cell("Admin API list 10k routes, routes/s", d.admin("BenchmarkListRoutes10k", "routes/s", 1, "adminapi-list"), whole),
		},
	})
}
