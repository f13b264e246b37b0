package e2etest

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultParallel is how many scenarios run at once unless -test.parallel
// says otherwise. The scenarios mostly wait on processes, so more than
// GOMAXPROCS of them fit on a small machine.
const defaultParallel = 4

// Main runs the tests of m and then prints the suite's report (see
// [Report]) and removes the binaries it built. Call it from TestMain:
//
//	func TestMain(m *testing.M) { e2etest.Main(m) }
//
// When TestMain returns, the testing package exits with m.Run's code.
func Main(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(defaultParallel))
	}
	start := time.Now()
	code := m.Run()
	report.print(time.Since(start), code)
	builds.cleanup()
}

// reportBook collects the suite's figures.
type reportBook struct {
	mu    sync.Mutex
	lines []string
}

var report reportBook

// Report adds a line to the summary that [Main] prints after the tests,
// such as a scenario's request count or a measured propagation time. It is
// safe for concurrent use. Tests should also t.Log the figure, so that it
// shows next to the test with -v.
func Report(format string, args ...any) {
	report.mu.Lock()
	defer report.mu.Unlock()
	report.lines = append(report.lines, fmt.Sprintf(format, args...))
}

func (r *reportBook) print(took time.Duration, code int) {
	r.mu.Lock()
	lines := slices.Clone(r.lines)
	r.mu.Unlock()
	slices.Sort(lines)
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== e2e summary (%s, exit %d) ===\n", took.Round(100*time.Millisecond), code)
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	for _, l := range builds.summary() {
		b.WriteString("  " + l + "\n")
	}
	_, _ = os.Stdout.WriteString(b.String())
	// go test shows a passing package's output only with -v: the summary
	// also goes to a file for `make test` to print.
	if path := os.Getenv("GATEHOUSE_E2E_SUMMARY"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil { //nolint:gosec // the path is the caller's own setting (make test)
			fmt.Fprintln(os.Stderr, "e2e summary:", err)
		}
	}
}

// scale multiplies deadlines (GATEHOUSE_E2E_TIMEOUT_SCALE).
var scale = sync.OnceValue(func() float64 {
	v, err := strconv.ParseFloat(os.Getenv("GATEHOUSE_E2E_TIMEOUT_SCALE"), 64)
	if err != nil || v <= 0 {
		return 1
	}
	return v
})

// Scaled returns d multiplied by GATEHOUSE_E2E_TIMEOUT_SCALE.
func Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * scale())
}
