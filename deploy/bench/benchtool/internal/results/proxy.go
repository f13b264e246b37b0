package results

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Proxy is what deploy/bench/proxy.sh -o wrote.
type Proxy struct {
	// Loads is the load average before each round, by round.
	Loads map[int]float64
	// Throughput has one run of wrk per round and proxy.
	Throughput []Throughput
	// Latency has one line of the latency command per round, target and
	// mode.
	Latency []Latency
}

// Throughput is one wrk run.
type Throughput struct {
	Round int
	Name  string
	// RPS is wrk's requests/s; P99Ms its 99th percentile latency.
	RPS, P99Ms float64
	// Errors: wrk reported errors (non-2xx answers or socket errors).
	Errors bool
	// ProxyCPU and AllCPU are CPU microseconds per request, of the proxy
	// alone and of wrk + proxy + upstream.
	ProxyCPU, AllCPU float64
}

// Latency is one line printed by benchtool latency for a target: mode
// (seq or rate) and its key=value figures (ok, errors, rate, p50, p90,
// p99, p999, max, mean, lag_p99; latencies in ms).
type Latency struct {
	Round  int
	Name   string
	Mode   string
	Values map[string]float64
}

// Rounds returns how many rounds have a load line.
func (p Proxy) Rounds() int { return len(p.Loads) }

// ParseProxy reads proxy.raw.
func ParseProxy(r io.Reader) (Proxy, []string, error) {
	p := Proxy{Loads: map[int]float64{}}
	var problems []string
	bad := func(n int, line string, why string) {
		problems = append(problems, fmt.Sprintf("%d: %s: %.100q", n, why, line))
	}
	err := lines(r, func(n int, line string) {
		f := strings.Fields(line)
		if len(f) < 3 {
			bad(n, line, "too short")
			return
		}
		round, err := strconv.Atoi(f[1])
		if err != nil {
			bad(n, line, "bad round")
			return
		}
		switch f[0] {
		case "load":
			v, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				bad(n, line, "bad load")
				return
			}
			p.Loads[round] = v
		case "throughput":
			// throughput ROUND NAME RPS P99_MS ERRORS PROXY_CPU ALL_CPU
			if len(f) != 8 {
				bad(n, line, "want 8 fields")
				return
			}
			t := Throughput{Round: round, Name: f[2], Errors: f[5] == "yes"}
			for i, to := range []*float64{&t.RPS, &t.P99Ms, &t.ProxyCPU, &t.AllCPU} {
				col := []int{3, 4, 6, 7}[i]
				if *to, err = strconv.ParseFloat(f[col], 64); err != nil {
					bad(n, line, "bad number")
					return
				}
			}
			p.Throughput = append(p.Throughput, t)
		case "latency":
			// latency ROUND NAME mode=M k=v ...
			kv := pairs(f[3:])
			l := Latency{Round: round, Name: f[2], Mode: kv["mode"], Values: map[string]float64{}}
			if l.Mode == "" {
				bad(n, line, "no mode=")
				return
			}
			for k, v := range kv {
				if k == "mode" {
					continue
				}
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					bad(n, line, "bad number for "+k)
					return
				}
				l.Values[k] = x
			}
			p.Latency = append(p.Latency, l)
		default:
			bad(n, line, "unknown line")
		}
	})
	return p, problems, err
}
