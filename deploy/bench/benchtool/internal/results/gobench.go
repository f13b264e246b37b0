package results

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// GoBench is the output of go test -bench: every result line, in order
// (a benchmark run with -count N has N lines).
type GoBench []BenchLine

// BenchLine is one result line: the benchmark's full name without the
// GOMAXPROCS suffix ("BenchmarkFleet/entities=1000/dps=100"), its
// iterations and its metrics by unit ("ns/op", "p99-ms", ...).
type BenchLine struct {
	Name       string
	Iterations int
	Metrics    map[string]float64
}

// Values returns the metric unit of every line of benchmark name.
func (g GoBench) Values(name, unit string) []float64 {
	var out []float64
	for _, l := range g {
		if l.Name != name {
			continue
		}
		if v, ok := l.Metrics[unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

// Has reports whether there is a line for benchmark name.
func (g GoBench) Has(name string) bool {
	for _, l := range g {
		if l.Name == name {
			return true
		}
	}
	return false
}

// procs is the "-N" suffix go test adds to a benchmark's name when
// GOMAXPROCS is above 1.
var procs = regexp.MustCompile(`-\d+$`)

// ParseGoBench reads go test -bench output; lines that are not results
// (goos:, PASS, logs, --- BENCH) are skipped.
func ParseGoBench(r io.Reader) (GoBench, []string, error) {
	var out GoBench
	var problems []string
	pending := "" // a name printed alone: output came between it and its figures
	err := lines(r, func(n int, line string) {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Benchmark") && len(f) == 1:
			pending = f[0]
			return
		case strings.HasPrefix(line, "Benchmark"):
			pending = ""
		case pending != "" && len(f) > 0 && isDigits(f[0]):
			f = append([]string{pending}, f...)
			pending = ""
		default:
			return
		}
		iters, err := strconv.Atoi(f[1])
		if err != nil || len(f)%2 != 0 {
			problems = append(problems, fmt.Sprintf("%d: not a benchmark result: %.100q", n, line))
			return
		}
		l := BenchLine{Name: procs.ReplaceAllString(f[0], ""), Iterations: iters, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%d: bad value %q: %.100q", n, f[i], line))
				return
			}
			l.Metrics[f[i+1]] = v
		}
		out = append(out, l)
	})
	return out, problems, err
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
