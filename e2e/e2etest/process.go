package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long Stop waits after SIGTERM before it kills.
const stopTimeout = 20 * time.Second

// ProcessSpec says how to run a program.
type ProcessSpec struct {
	// Name names the process in logs and failures ("sync-hub-1").
	Name string
	// Bin is the program's path.
	Bin string
	// Args are its arguments.
	Args []string
	// Env is its whole environment besides PATH, HOME and TMPDIR: the
	// harness does not pass its own environment on, so a developer's
	// GATEHOUSE_* or OTEL_* variables never leak into a scenario.
	Env map[string]string
}

// environ is spec's environment as exec wants it, sorted.
func (s ProcessSpec) environ() []string {
	env := make([]string, 0, len(s.Env)+3)
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := s.Env[k]; !set {
				env = append(env, k+"="+v)
			}
		}
	}
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// Process is a running (or stopped) program. It keeps its spec, so it
// can be started again with the same settings, and one Log across its
// runs. Its methods are safe for concurrent use; the ones that take a
// testing.TB must be called from the test's goroutine.
type Process struct {
	spec ProcessSpec
	log  *Log

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run has exited
	exitErr error
	runs    int
	started time.Time
}

// StartProcess starts spec's program and returns at once. The process is
// killed when the test ends; if the test failed, the tail of its log is
// printed then (GATEHOUSE_E2E_KEEP_LOGS keeps the whole log in a file).
func StartProcess(tb testing.TB, spec ProcessSpec) *Process {
	tb.Helper()
	p := &Process{spec: spec, log: newLog(spec.Name)}
	tb.Cleanup(func() { p.cleanup(tb) })
	p.Start(tb)
	return p
}

// Name is the process's name.
func (p *Process) Name() string { return p.spec.Name }

// Log is what the process wrote, across its runs.
func (p *Process) Log() *Log { return p.log }

// Spec returns a copy of the process's spec.
func (p *Process) Spec() ProcessSpec { return p.spec }

// SetEnv changes an environment variable for the next Start ("" removes
// it).
func (p *Process) SetEnv(key, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	env := maps.Clone(p.spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	if value == "" {
		delete(env, key)
	} else {
		env[key] = value
	}
	p.spec.Env = env
}

// Start starts the program again after it stopped (or for the first time).
func (p *Process) Start(tb testing.TB) {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		tb.Fatalf("start %s: it is still running", p.spec.Name)
	}
	// The process outlives this call: it is stopped by Stop, Kill or the
	// test's end, never by a context.
	cmd := exec.CommandContext(context.Background(), p.spec.Bin, p.spec.Args...) //nolint:gosec // G204: the harness runs the binaries it built
	cmd.Env = p.spec.environ()
	cmd.Stdout = &lineWriter{log: p.log, stream: "stdout"}
	cmd.Stderr = &lineWriter{log: p.log, stream: "stderr"}
	p.runs++
	if p.runs > 1 {
		p.log.Note("start %s again (run %d)", p.spec.Name, p.runs)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", p.spec.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr, p.started = cmd, done, nil, time.Now()
	go func() {
		err := cmd.Wait()
		cmd.Stdout.(*lineWriter).flush()
		cmd.Stderr.(*lineWriter).flush()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		p.log.Note("%s exited: %v", p.spec.Name, exitText(err))
		close(done)
	}()
}

// Started is when the current run started.
func (p *Process) Started() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// Running reports whether the current run has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

// Exited returns a channel closed when the current run exits.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Wait waits up to timeout (scaled) for the current run to exit and
// returns its exit code (-1 when killed by a signal); it fails tb if the
// process is still running then.
func (p *Process) Wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	timer := time.NewTimer(Scaled(timeout))
	defer timer.Stop()
	select {
	case <-p.Exited():
	case <-timer.C:
		tb.Fatalf("%s did not exit within %s", p.spec.Name, Scaled(timeout))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return exitCode(p.exitErr)
}

// Stop sends SIGTERM and waits for the process to exit: a graceful stop.
// A process still running after 20 s (scaled) is killed and tb fails.
// Stopping a process that is not running does nothing.
func (p *Process) Stop(tb testing.TB) {
	tb.Helper()
	if !p.Running() {
		return
	}
	p.log.Note("SIGTERM %s", p.spec.Name)
	p.signal(syscall.SIGTERM)
	timer := time.NewTimer(Scaled(stopTimeout))
	defer timer.Stop()
	select {
	case <-p.Exited():
	case <-timer.C:
		p.signal(syscall.SIGKILL)
		<-p.Exited()
		tb.Errorf("%s did not stop within %s of SIGTERM; killed it", p.spec.Name, Scaled(stopTimeout))
	}
}

// Kill sends SIGKILL (a crash: nothing is flushed or closed) and waits for
// the process to exit.
func (p *Process) Kill(tb testing.TB) {
	tb.Helper()
	if !p.Running() {
		return
	}
	p.log.Note("SIGKILL %s", p.spec.Name)
	p.signal(syscall.SIGKILL)
	<-p.Exited()
}

// Restart stops the process gracefully and starts it again.
func (p *Process) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop(tb)
	p.Start(tb)
}

func (p *Process) signal(sig os.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// cleanup kills the process at the end of the test and reports its log if
// the test failed.
func (p *Process) cleanup(tb testing.TB) {
	tb.Helper()
	if p.Running() {
		p.signal(syscall.SIGKILL)
		<-p.Exited()
	}
	if dir := os.Getenv("GATEHOUSE_E2E_KEEP_LOGS"); dir != "" {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name()) + "." + p.spec.Name + ".log"
		if err := os.MkdirAll(dir, 0o750); err == nil { //nolint:gosec // G703: the directory the developer named
			_ = os.WriteFile(filepath.Join(dir, name), []byte(p.log.String()), 0o600) //nolint:gosec // G703: likewise
		}
	}
	if p.log.Contains(raceReport) {
		tb.Errorf("%s reported a data race:\n%s", p.spec.Name, raceText(p.log))
	}
	if tb.Failed() {
		tb.Logf("last lines of %s:\n%s", p.spec.Name, p.log.Tail(60))
	}
}

// raceReport starts the race detector's report.
const raceReport = "WARNING: DATA RACE"

// raceText returns the race reports in log.
func raceText(log *Log) string {
	var b strings.Builder
	in := false
	for _, l := range log.Lines() {
		if strings.Contains(l.Text, raceReport) {
			in = true
		}
		if in {
			b.WriteString(l.Text + "\n")
		}
		if in && strings.HasPrefix(l.Text, "==================") && !strings.Contains(l.Text, raceReport) {
			in = false
		}
	}
	return b.String()
}

// Result is what a command run to completion wrote, and its exit code.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// RunCommand runs spec's program to completion (a sub-command such as
// `admin-api migrate`, or a start-up that must fail) and returns its
// output; it fails tb if the program cannot start or runs longer than
// timeout (scaled).
func RunCommand(tb testing.TB, spec ProcessSpec, timeout time.Duration) Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Scaled(timeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.Bin, spec.Args...) //nolint:gosec // the harness runs the binaries it built
	cmd.Env = spec.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		tb.Fatalf("%s %s ran longer than %s\nstdout: %s\nstderr: %s", spec.Name, strings.Join(spec.Args, " "),
			Scaled(timeout), stdout.String(), stderr.String())
	}
	if _, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		tb.Fatalf("run %s: %v", spec.Name, err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: exitCode(err)}
}

// MustRun is RunCommand for a command that must succeed.
func MustRun(tb testing.TB, spec ProcessSpec, timeout time.Duration) Result {
	tb.Helper()
	r := RunCommand(tb, spec, timeout)
	if r.ExitCode != 0 {
		tb.Fatalf("%s %s exited with %d\nstdout: %s\nstderr: %s", spec.Name, strings.Join(spec.Args, " "),
			r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return exit.ExitCode()
	}
	return -1
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// lineWriter splits what a process writes into lines of its Log.
type lineWriter struct {
	log    *Log
	stream string

	mu  sync.Mutex
	buf []byte
}

// Write adds every complete line of b to the log and keeps the rest.
func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.add(w.stream, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4<<20 {
		w.log.add(w.stream, string(w.buf))
		w.buf = nil
	}
	return len(b), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.log.add(w.stream, string(w.buf))
		w.buf = nil
	}
}

// String describes the process for failure messages.
func (p *Process) String() string {
	return fmt.Sprintf("%s (%s)", p.spec.Name, filepath.Base(p.spec.Bin))
}
