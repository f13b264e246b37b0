// Package results reads the results directory that deploy/bench/report.sh
// writes, and that benchtool report turns into docs/performance.md:
//
//	meta.txt           what the run was ("key: value" lines: command, date, commit, mode, settings, elapsed)
//	machine.txt        the machine ("key: value" lines, shown in file order)
//	idle.txt           "SECTION busy=B load1=L waited=S idle=BOOL": what benchtool idle saw before each section
//	steps.txt          "STEP ok|failed SECONDS [why]": each step of the run
//	proxy.raw          deploy/bench/proxy.sh -o: load, throughput and latency lines
//	propagation.jsonl  benchtool propagation: one JSON record per line
//	bench-NAME.txt     go test -bench output (NAME: dataplane, synchub, adminapi)
//
// A file that is absent is not an error (the report says the figures it
// would hold are missing); a line that cannot be read is kept as a problem
// and reported.
package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/benchtool/internal/propagation"
)

// Results is everything read from a results directory.
type Results struct {
	Dir         string
	Meta        KV
	Machine     KV
	Idle        []Idle
	Steps       []Step
	Proxy       Proxy
	Propagation []propagation.Record
	// Bench holds the Go benchmark outputs by name (the NAME of
	// bench-NAME.txt).
	Bench map[string]GoBench
	// Problems are lines or files that could not be read, as
	// "file:line: what".
	Problems []string
}

// Read reads the results directory dir.
func Read(dir string) (*Results, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("results: %s is not a directory", dir)
	}
	r := &Results{Dir: dir, Bench: map[string]GoBench{}}
	read := func(name string, parse func(io.Reader) ([]string, error)) error {
		f, err := os.Open(filepath.Join(dir, name)) //nolint:gosec // a results directory the user names
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		defer func() { _ = f.Close() }()
		problems, err := parse(f)
		for _, p := range problems {
			r.Problems = append(r.Problems, name+":"+p)
		}
		if err != nil {
			return fmt.Errorf("results: %s: %w", name, err)
		}
		return nil
	}
	steps := []struct {
		name  string
		parse func(io.Reader) ([]string, error)
	}{
		{"meta.txt", func(rd io.Reader) (p []string, err error) { r.Meta, p, err = ParseKV(rd); return }},
		{"machine.txt", func(rd io.Reader) (p []string, err error) { r.Machine, p, err = ParseKV(rd); return }},
		{"idle.txt", func(rd io.Reader) (p []string, err error) { r.Idle, p, err = ParseIdle(rd); return }},
		{"steps.txt", func(rd io.Reader) (p []string, err error) { r.Steps, p, err = ParseSteps(rd); return }},
		{"proxy.raw", func(rd io.Reader) (p []string, err error) { r.Proxy, p, err = ParseProxy(rd); return }},
		{"propagation.jsonl", func(rd io.Reader) (p []string, err error) { r.Propagation, p, err = ParsePropagation(rd); return }},
	}
	for _, s := range steps {
		if err := read(s.name, s.parse); err != nil {
			return nil, err
		}
	}
	matches, err := filepath.Glob(filepath.Join(dir, "bench-*.txt"))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	slices.Sort(matches)
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "bench-"), ".txt")
		if err := read(filepath.Base(m), func(rd io.Reader) (p []string, err error) {
			var b GoBench
			b, p, err = ParseGoBench(rd)
			r.Bench[name] = b
			return
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Pair is one "key: value" line.
type Pair struct{ Key, Value string }

// KV is the pairs of a "key: value" file, in file order.
type KV []Pair

// Get returns the value of the last line with key.
func (kv KV) Get(key string) (string, bool) {
	for _, p := range slices.Backward(kv) {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Settings returns the key=value fields of the value of key ("sizes=1000
// real=1,10" gives sizes and real).
func (kv KV) Settings(key string) map[string]string {
	v, _ := kv.Get(key)
	out := map[string]string{}
	for f := range strings.FieldsSeq(v) {
		if k, val, ok := strings.Cut(f, "="); ok {
			out[k] = val
		}
	}
	return out
}

// ParseKV reads "key: value" lines; blank lines and lines starting with #
// are skipped.
func ParseKV(r io.Reader) (KV, []string, error) {
	var kv KV
	var problems []string
	err := lines(r, func(n int, line string) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			problems = append(problems, fmt.Sprintf("%d: not key: value: %q", n, line))
			return
		}
		kv = append(kv, Pair{strings.TrimSpace(k), strings.TrimSpace(v)})
	})
	return kv, problems, err
}

// Idle is what benchtool idle saw before a section.
type Idle struct {
	Section             string
	Busy, Load1, Waited float64
	Idle, Known         bool // Known: the line had figures
}

// ParseIdle reads idle.txt.
func ParseIdle(r io.Reader) ([]Idle, []string, error) {
	var out []Idle
	var problems []string
	err := lines(r, func(n int, line string) {
		f := strings.Fields(line)
		if len(f) < 2 {
			problems = append(problems, fmt.Sprintf("%d: %q", n, line))
			return
		}
		o := Idle{Section: f[0], Known: true}
		kv := pairs(f[1:])
		var err error
		for _, k := range []struct {
			key string
			to  *float64
		}{{"busy", &o.Busy}, {"load1", &o.Load1}, {"waited", &o.Waited}} {
			if *k.to, err = strconv.ParseFloat(kv[k.key], 64); err != nil {
				o.Known = false
			}
		}
		o.Idle = kv["idle"] == "true"
		out = append(out, o)
	})
	return out, problems, err
}

// Step is one step of the run.
type Step struct {
	Name    string
	OK      bool
	Seconds int
	// Why says why a step that did not run failed ("" otherwise).
	Why string
}

// ParseSteps reads steps.txt.
func ParseSteps(r io.Reader) ([]Step, []string, error) {
	var out []Step
	var problems []string
	err := lines(r, func(n int, line string) {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 || (f[1] != "ok" && f[1] != "failed") {
			problems = append(problems, fmt.Sprintf("%d: %q", n, line))
			return
		}
		secs, err := strconv.Atoi(f[2])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%d: %q", n, line))
			return
		}
		s := Step{Name: f[0], OK: f[1] == "ok", Seconds: secs}
		if len(f) == 4 {
			s.Why = f[3]
		}
		out = append(out, s)
	})
	return out, problems, err
}

// Step returns the last record of the named step.
func (r *Results) Step(name string) (Step, bool) {
	for _, s := range slices.Backward(r.Steps) {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Quick reports whether the run was a quick smoke run.
func (r *Results) Quick() bool {
	m, _ := r.Meta.Get("mode")
	return m == "quick"
}

// ParsePropagation reads JSON lines of propagation.Record.
func ParsePropagation(r io.Reader) ([]propagation.Record, []string, error) {
	var out []propagation.Record
	var problems []string
	err := lines(r, func(n int, line string) {
		var rec propagation.Record
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil || rec.Kind == "" {
			problems = append(problems, fmt.Sprintf("%d: not a propagation record: %.80q", n, line))
			return
		}
		out = append(out, rec)
	})
	return out, problems, err
}

// pairs splits key=value fields.
func pairs(fields []string) map[string]string {
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// lines calls fn with each non-blank line that does not start with #, and
// its number.
func lines(r io.Reader, fn func(n int, line string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(string(bytes.TrimRight(sc.Bytes(), "\r")))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(n, line)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}
