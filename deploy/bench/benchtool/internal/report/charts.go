package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"gatehouse.dev/benchtool/internal/stats"
)

// The charts are 18 cm by 11 cm PNGs (at gonum/plot's 96 dpi: 680 by 416
// pixels).
const (
	chartWidth  = 18 * vg.Centimeter
	chartHeight = 11 * vg.Centimeter
	// plotWidth is about the width the data area gets, to size bars.
	plotWidth = 15 * vg.Centimeter
)

// series is one named set of figures over the chart's categories (nil or
// empty summaries are not drawn).
type series struct {
	name   string
	values []stats.Summary
}

// hline is a horizontal reference line (a goal).
type hline struct {
	name  string
	value float64
}

// chart is a chart to draw: bars (grouped by category, one bar per
// series) or lines over the categories, each figure with its min-max range
// as an error bar.
type chart struct {
	file       string // name in the charts directory
	title      string
	categories []string // the X axis
	xLabel     string
	yLabel     string
	series     []series
	bars       bool
	logY       bool
	hlines     []hline
}

// hasData reports whether any figure can be drawn.
func (c chart) hasData() bool {
	for _, s := range c.series {
		if slices.ContainsFunc(s.values, c.drawable) {
			return true
		}
	}
	return false
}

func (c chart) drawable(v stats.Summary) bool {
	return v.N > 0 && (!c.logY || v.Min > 0)
}

// errorPoints are points with their min-max range, for YErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// render draws the chart into dir.
func (c chart) render(dir string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = c.xLabel
	p.Y.Label.Text = c.yLabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	n, g := len(c.categories), len(c.series)
	// Each series is shifted within its category: bars side by side,
	// line points a little apart so that their ranges do not overlap.
	spread := 0.12
	if c.bars {
		spread = 0.8 / float64(g)
	}
	for k, s := range c.series {
		offset := (float64(k) - float64(g-1)/2) * spread
		var pts errorPoints
		var heights plotter.Values
		ranged := false // a figure has a range to draw
		for i, v := range s.values {
			if i >= n {
				break
			}
			if !c.drawable(v) {
				if c.bars {
					heights = append(heights, 0)
				}
				continue
			}
			x := float64(i) + offset
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: v.Median})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{v.Median - v.Min, v.Max - v.Median})
			ranged = ranged || v.Min < v.Max
			if c.bars {
				heights = append(heights, v.Median)
			}
		}
		col := plotutil.Color(k)
		if c.bars {
			for len(heights) < n {
				heights = append(heights, 0)
			}
			bars, err := plotter.NewBarChart(heights, plotWidth/vg.Length(n)*vg.Length(spread)*0.9)
			if err != nil {
				return fmt.Errorf("%s: %w", c.file, err)
			}
			bars.XMin = offset
			bars.Color = col
			bars.LineStyle.Width = 0
			p.Add(bars)
			p.Legend.Add(s.name, bars)
		} else if len(pts.XYs) > 0 {
			line, points, err := plotter.NewLinePoints(pts.XYs)
			if err != nil {
				return fmt.Errorf("%s: %w", c.file, err)
			}
			line.Color = col
			line.Width = vg.Points(1.5)
			points.Color = col
			points.Shape = plotutil.Shape(k)
			p.Add(line, points)
			p.Legend.Add(s.name, line, points)
		}
		if ranged {
			errs, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return fmt.Errorf("%s: %w", c.file, err)
			}
			errs.Color = color.Black
			if !c.bars {
				errs.Color = col
			}
			p.Add(errs)
		}
	}
	for k, h := range c.hlines {
		f := plotter.NewFunction(func(float64) float64 { return h.value })
		f.Color = color.Gray{Y: 80}
		f.Dashes = plotutil.Dashes(k + 1)
		f.Width = vg.Points(1)
		p.Add(f)
		p.Legend.Add(h.name, f)
	}
	p.NominalX(c.categories...)
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	if c.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks{log: true}
	} else {
		p.Y.Min = math.Min(p.Y.Min, 0)
		p.Y.Tick.Marker = ticks{}
	}
	for _, h := range c.hlines {
		p.Y.Max = math.Max(p.Y.Max, h.value*1.1)
		if c.logY {
			p.Y.Min = math.Min(p.Y.Min, h.value/1.1)
		}
	}
	// Room above the highest figure for the legend.
	entries := float64(len(c.series) + len(c.hlines))
	if c.logY {
		p.Y.Max *= math.Pow(10, 0.25*entries)
	} else {
		p.Y.Max += (p.Y.Max - p.Y.Min) * 0.07 * entries
	}
	wt, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, err)
	}
	f, err := os.Create(filepath.Join(dir, c.file)) //nolint:gosec // the report's own charts directory
	if err != nil {
		return err
	}
	if _, err := wt.WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", c.file, err)
	}
	return f.Close()
}

// ticks are gonum/plot's default (or log) ticks labelled with the
// shortest form of their value without an exponent ("25000", not
// "25000.00"; "1000000", not "1e+06").
type ticks struct{ log bool }

func (k ticks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	if k.log {
		t = plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	} else {
		t = plot.DefaultTicks{}.Ticks(lo, hi)
	}
	for i := range t {
		if t[i].Label != "" {
			t[i].Label = strconv.FormatFloat(t[i].Value, 'f', -1, 64)
		}
	}
	return t
}
