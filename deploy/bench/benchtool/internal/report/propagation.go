package report

import (
	"fmt"
	"slices"
	"strconv"

	"gatehouse.dev/benchtool/internal/propagation"
)

// The sizes, real fleets and simulated fleet that a full run measures; the
// report shows these (and whatever else was measured) whatever the run.
var (
	stdSizes = []int{1000, 10000, 30000}
	stdReal  = []int{1, 10}
	stdSim   = 100
)

// fleet is a set of data planes of the propagation benchmark.
type fleet struct {
	dps int
	sim bool
}

func (f fleet) String() string {
	if f.sim {
		return strconv.Itoa(f.dps) + " simulated"
	}
	return strconv.Itoa(f.dps) + " real"
}

// propPlan is what the run set out to measure.
func (d *doc) propPlan() (sizes []int, fleets []fleet) {
	s := d.res.Meta.Settings("propagation")
	if len(s) == 0 { // no record of the plan: a full run's
		return stdSizes, fleetsOf(stdReal, []int{stdSim})
	}
	return ints(s["sizes"]), fleetsOf(ints(s["real"]), ints(s["sim"]))
}

func fleetsOf(reals, sims []int) []fleet {
	var out []fleet
	for _, n := range reals {
		out = append(out, fleet{dps: n})
	}
	for _, n := range sims {
		if n > 0 {
			out = append(out, fleet{dps: n, sim: true})
		}
	}
	return out
}

// propGrid returns the sizes and fleets to show: the standard ones, the
// planned ones and the measured ones.
func (d *doc) propGrid() ([]int, []fleet) {
	ps, pf := d.propPlan()
	var measured []int
	var realN, simN []int
	for _, r := range d.res.Propagation {
		measured = append(measured, r.Entities)
		if r.Kind == "delta" || r.Kind == "snapshot" {
			if r.Sim {
				simN = append(simN, r.DPs)
			} else {
				realN = append(realN, r.DPs)
			}
		}
	}
	for _, f := range pf {
		if f.sim {
			simN = append(simN, f.dps)
		} else {
			realN = append(realN, f.dps)
		}
	}
	return grid(stdSizes, ps, measured), fleetsOf(grid(stdReal, realN), grid([]int{stdSim}, simN))
}

// propWhy is the reason for a missing propagation figure.
func (d *doc) propWhy(size int, f *fleet) reason {
	ps, pf := d.propPlan()
	planned := d.sectionPlanned("propagation") && slices.Contains(ps, size)
	if f != nil {
		planned = planned && slices.Contains(pf, *f)
	}
	return d.reasonFor(planned, "propagation")
}

// prop returns a field of the records of a kind, size and fleet (nil: any
// fleet).
func (d *doc) prop(kind string, size int, f *fleet, get func(propagation.Record) float64) fig {
	var v []float64
	for _, r := range d.res.Propagation {
		if r.Kind != kind || r.Entities != size {
			continue
		}
		if f != nil && (r.DPs != f.dps || r.Sim != f.sim) {
			continue
		}
		v = append(v, get(r))
	}
	return summary(v, d.propWhy(size, f))
}

func allMs(r propagation.Record) float64    { return r.AllMs }
func medianMs(r propagation.Record) float64 { return r.MedianMs }
func applyMs(r propagation.Record) float64  { return r.ApplyMs }
func bytesDP(r propagation.Record) float64  { return r.BytesPerDP }
func ms(r propagation.Record) float64       { return r.Ms }
func rssMB(r propagation.Record) float64    { return r.RSSMB }

func (d *doc) propagationSection() {
	sizes, fleets := d.propGrid()
	d.p("## Propagation: Admin API to data planes")
	d.p("")
	d.p("benchtool propagation runs the real binaries: admin-api and sync-hub on a database of their own, real " +
		"data-plane processes (the first fleet, then more added to it) and then a fleet of simulated data planes " +
		"(real mutual-TLS websockets that acknowledge without applying; they replace the real ones). For each " +
		"configuration size it times a *one-entity change* (a route added through the Admin API) and a *full " +
		"snapshot* (the whole configuration replaced through `POST /config`, which sync-hub sends as a snapshot), " +
		"from the Admin API's response to the last data plane serving the new route (real data planes: checked " +
		"with a request through each proxy; simulated ones: their acknowledgement). Sync-hub is notified at the " +
		"commit, before the response reaches the client, so a time near zero or below it means the data planes " +
		"were done before the Admin API's answer arrived. *Bytes per DP* is sync-hub's own count of what it sent " +
		"per data plane for the change (its `sent_bytes_total` metric).")
	d.p("")
	for _, kind := range []string{"delta", "snapshot"} {
		title := map[string]string{"delta": "One-entity change", "snapshot": "Full snapshot"}[kind]
		d.p("### %s", title)
		d.p("")
		var rows [][]string
		for _, f := range fleets {
			base := fleet{dps: 1}
			for _, size := range sizes {
				label := fmt.Sprintf("Propagation, %s, %s entities, %s data planes", kind, entities(size), f)
				row := []string{
					f.String(), entities(size),
					d.cell(label+", to the last", d.prop(kind, size, &f, allMs), sig),
					d.cell(label+", to the median", d.prop(kind, size, &f, medianMs), sig),
				}
				if f.sim {
					row = append(row, "(not applied)")
				} else {
					row = append(row, d.cell(label+", apply", d.prop(kind, size, &f, applyMs), sig))
				}
				row = append(row, d.cell(label+", bytes", d.prop(kind, size, &f, bytesDP), whole))
				if f == base {
					row = append(row, "(baseline)")
				} else {
					row = append(row, d.cell(label+", x 1 real", ratioOf(d.prop(kind, size, &f, allMs), d.prop(kind, size, &base, allMs)), ratio))
				}
				rows = append(rows, row)
			}
		}
		d.table([]string{
			"data planes", "entities", "to the last DP, ms", "to the median DP, ms",
			"DP apply (received → swapped), ms", "bytes per DP", "to the last x 1 real DP",
		}, rows)
		c := chart{
			file: "propagation-" + kind + ".png", title: title + ": Admin API response to the last data plane",
			xLabel: "entities in the configuration", yLabel: "ms (median, min-max)",
		}
		for _, size := range sizes {
			c.categories = append(c.categories, entities(size))
		}
		for _, f := range fleets {
			s := series{name: f.String() + " data planes"}
			for _, size := range sizes {
				s.values = append(s.values, d.prop(kind, size, &f, allMs).s)
			}
			c.series = append(c.series, s)
		}
		d.chart(c)
	}

	c := chart{
		file: "propagation-bytes.png", title: "Bytes sent per data plane", xLabel: "entities in the configuration",
		yLabel: "bytes (log scale)", logY: true,
	}
	var delta, snap series
	delta.name, snap.name = "one-entity change", "full snapshot"
	for _, size := range sizes {
		c.categories = append(c.categories, entities(size))
		delta.values = append(delta.values, d.prop("delta", size, nil, bytesDP).s)
		snap.values = append(snap.values, d.prop("snapshot", size, nil, bytesDP).s)
	}
	c.series = []series{delta, snap}
	c.hlines = []hline{{"goal: a change under 2 KB (issue 4)", 2048}}
	d.chart(c)

	d.p("### Admin API `POST /config` (whole configuration, one revision)")
	d.p("")
	var rows [][]string
	for _, size := range sizes {
		label := "POST /config, " + entities(size) + " entities"
		rows = append(rows, []string{entities(size), d.cell(label, d.prop("post_config", size, nil, ms), sig)})
	}
	d.table([]string{"entities", "response time, ms"}, rows)
}
