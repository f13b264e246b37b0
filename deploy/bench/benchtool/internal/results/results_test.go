package results

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture is the small results directory the report's tests also use.
const fixture = "../../testdata/results"

func TestReadFixture(t *testing.T) {
	t.Parallel()
	r, err := Read(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 0 {
		t.Errorf("problems: %q", r.Problems)
	}
	if v, _ := r.Meta.Get("command"); v != "make bench-report" {
		t.Errorf("command = %q", v)
	}
	if s := r.Meta.Settings("propagation"); s["sizes"] != "1000" || s["real"] != "1,10" || s["sim"] != "100" {
		t.Errorf("propagation settings = %v", s)
	}
	if r.Quick() {
		t.Error("a full run read as quick")
	}
	if got := len(r.Machine); got != 8 || r.Machine[0].Key != "cpu" {
		t.Errorf("machine = %v", r.Machine)
	}
	if len(r.Idle) != 5 || !r.Idle[0].Known || r.Idle[0].Load1 != 0.4 || r.Idle[2].Idle || r.Idle[4].Known {
		t.Errorf("idle = %+v", r.Idle)
	}
	if st, ok := r.Step("proxy-redis"); !ok || st.OK || st.Why != "Redis at 127.0.0.1:6379 did not answer" {
		t.Errorf("proxy-redis step = %+v, %v", st, ok)
	}
	if st, ok := r.Step("adminapi-list"); !ok || st.OK || st.Seconds != 3 || st.Why != "" {
		t.Errorf("adminapi-list step = %+v, %v", st, ok)
	}
	if _, ok := r.Step("nothing"); ok {
		t.Error("found a step that is not there")
	}
	if r.Proxy.Rounds() != 3 || len(r.Proxy.Throughput) != 12 || len(r.Proxy.Latency) != 12 {
		t.Errorf("proxy: %d rounds, %d throughput, %d latency", r.Proxy.Rounds(), len(r.Proxy.Throughput), len(r.Proxy.Latency))
	}
	if len(r.Propagation) != 19 || r.Propagation[16].AllMs != -0.5 || !r.Propagation[16].Sim {
		t.Errorf("propagation: %d records, [16] = %+v", len(r.Propagation), r.Propagation[16])
	}
	if got := r.Bench["dataplane"].Values("BenchmarkColdStart/entities=1000", "ns/op"); !reflect.DeepEqual(got, []float64{35e6, 33e6}) {
		t.Errorf("cold start 1k = %v", got)
	}
	// A sub-benchmark two levels deep keeps its whole name.
	if got := r.Bench["dataplane"].Values("BenchmarkRuntimeDeltaApply/entities=30000/change=route", "p99-ms"); !reflect.DeepEqual(got, []float64{9.758}) {
		t.Errorf("runtime delta 30k route p99 = %v", got)
	}
	// The split result line (output between the name and the figures).
	if got := r.Bench["synchub"].Values("BenchmarkFleet/entities=30000/dps=100", "p99-ms"); !reflect.DeepEqual(got, []float64{56.03}) {
		t.Errorf("fleet 30k p99 = %v", got)
	}
	if _, ok := r.Bench["nothing"]; ok {
		t.Error("a bench file that is not there")
	}
}

func TestReadEmptyAndMissing(t *testing.T) {
	t.Parallel()
	r, err := Read(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps != nil || r.Propagation != nil || len(r.Bench) != 0 || r.Proxy.Rounds() != 0 {
		t.Errorf("an empty directory gave %+v", r)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing directory is not an error")
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(file); err == nil {
		t.Error("a file is not an error")
	}
}

func TestParseGoBench(t *testing.T) {
	t.Parallel()
	in := `goos: linux
BenchmarkMatch/routes=10-2   	 100	 232 ns/op	 0 allocs/op
BenchmarkMatch/routes=10-2   	 100	 240 ns/op	 0 allocs/op
BenchmarkCompile             	 3	 61.5 ms/build
BenchmarkParent/child=1-16
some output
  5	 10 ns/op
--- BENCH: BenchmarkCompile
    bench_test.go:1: log
BenchmarkBad-2 	 x	 1 ns/op
BenchmarkOdd-2 	 1	 1
BenchmarkValue-2 	 1	 y ns/op
PASS
`
	got, problems, err := ParseGoBench(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := GoBench{
		{Name: "BenchmarkMatch/routes=10", Iterations: 100, Metrics: map[string]float64{"ns/op": 232, "allocs/op": 0}},
		{Name: "BenchmarkMatch/routes=10", Iterations: 100, Metrics: map[string]float64{"ns/op": 240, "allocs/op": 0}},
		{Name: "BenchmarkCompile", Iterations: 3, Metrics: map[string]float64{"ms/build": 61.5}},
		{Name: "BenchmarkParent/child=1", Iterations: 5, Metrics: map[string]float64{"ns/op": 10}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if len(problems) != 3 {
		t.Errorf("problems = %q, want 3", problems)
	}
	if v := got.Values("BenchmarkMatch/routes=10", "ns/op"); !reflect.DeepEqual(v, []float64{232, 240}) {
		t.Errorf("Values = %v", v)
	}
	if !got.Has("BenchmarkCompile") || got.Has("BenchmarkMatch") {
		t.Error("Has is wrong")
	}
}

func TestParseProxy(t *testing.T) {
	t.Parallel()
	in := `load 0 1.50
throughput 0 nginx 30000 2.5 - 10.1 24.9
throughput 0 dp 20000 3 yes 20 40
latency 0 dp mode=seq ok=10 errors=0 p50=0.05 p99=0.2
latency 0 dp p50=0.05
latency 0 dp mode=rate p50=x
throughput 0 dp 1 2 - 3
load x 1
bogus 0 1
load 1
`
	p, problems, err := ParseProxy(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if p.Loads[0] != 1.5 || p.Rounds() != 1 {
		t.Errorf("loads = %v", p.Loads)
	}
	want := []Throughput{
		{Round: 0, Name: "nginx", RPS: 30000, P99Ms: 2.5, ProxyCPU: 10.1, AllCPU: 24.9},
		{Round: 0, Name: "dp", RPS: 20000, P99Ms: 3, Errors: true, ProxyCPU: 20, AllCPU: 40},
	}
	if !reflect.DeepEqual(p.Throughput, want) {
		t.Errorf("throughput = %+v", p.Throughput)
	}
	if len(p.Latency) != 1 || p.Latency[0].Mode != "seq" || p.Latency[0].Values["p99"] != 0.2 || p.Latency[0].Values["ok"] != 10 {
		t.Errorf("latency = %+v", p.Latency)
	}
	if len(problems) != 6 {
		t.Errorf("problems = %q, want 6", problems)
	}
}

func TestParseStepsKVIdle(t *testing.T) {
	t.Parallel()
	steps, problems, err := ParseSteps(strings.NewReader("a ok 3\nb failed 0 why it failed\nc maybe 1\nd ok x\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{{Name: "a", OK: true, Seconds: 3}, {Name: "b", Why: "why it failed"}}
	if !reflect.DeepEqual(steps, want) || len(problems) != 2 {
		t.Errorf("steps = %+v, problems %q", steps, problems)
	}
	kv, problems, err := ParseKV(strings.NewReader("# comment\na: 1\nb: x: y\nno colon\na: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := kv.Get("a"); v != "2" || len(kv) != 3 || len(problems) != 1 {
		t.Errorf("kv = %v, problems %q", kv, problems)
	}
	if v, _ := kv.Get("b"); v != "x: y" {
		t.Errorf("b = %q", v)
	}
	idle, problems, err := ParseIdle(strings.NewReader("s busy=0.5 load1=2 waited=3 idle=false\nbad\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(idle) != 1 || idle[0] != (Idle{Section: "s", Busy: 0.5, Load1: 2, Waited: 3, Known: true}) || len(problems) != 1 {
		t.Errorf("idle = %+v, problems %q", idle, problems)
	}
}

func TestParsePropagation(t *testing.T) {
	t.Parallel()
	recs, problems, err := ParsePropagation(strings.NewReader(`{"kind":"delta","entities":1000,"dps":1,"rep":1,"all_ms":2}
{"kind":"delta","unknown":1}
not json
{}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].AllMs != 2 || len(problems) != 3 {
		t.Errorf("records = %+v, problems %q", recs, problems)
	}
}
