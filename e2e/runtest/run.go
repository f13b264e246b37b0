//go:build unix

package runtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Banner is what the runner prints once every process answers.
const Banner = "Gatehouse is running"

// Run is one `make run` in a process group of its own: make, the runner
// script and every process the script starts. Its methods must be called
// from the test's goroutine.
type Run struct {
	opts Options
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // make's exit, once done is closed
}

// Start runs `make -o build run BIN=<opts.Bin>` in opts.Root: the README's
// run command with the binaries already built (the test builds them once
// for every end-to-end scenario; `-o build` tells make not to rebuild
// them). It returns at once; see WaitRunning. When the test ends, anything
// still running in the group is killed.
func Start(tb testing.TB, opts Options) *Run {
	tb.Helper()
	env, err := opts.Environ()
	if err != nil {
		tb.Fatal(err)
	}
	r := &Run{opts: opts, out: &syncBuffer{}, done: make(chan struct{})}
	// Not tied to the test's context: the cleanup below stops the whole
	// process group, where a cancelled context would kill make alone.
	r.cmd = exec.CommandContext(context.Background(), "make", "--no-print-directory", "-o", "build", "run", "BIN="+opts.Bin) //nolint:gosec // G204: a test's own command line
	r.cmd.Dir = opts.Root
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start make run: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	tb.Cleanup(func() {
		if r.GroupGone() == nil {
			return
		}
		tb.Logf("make run still running when the test ended; killing its process group\n%s", r.Report())
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
		}
	})
	return r
}

// Output is what make and the runner printed so far.
func (r *Run) Output() string { return r.out.String() }

// Report is the output and the end of every process log, for failures.
func (r *Run) Report() string {
	var b strings.Builder
	b.WriteString("--- make run output:\n" + r.Output())
	logs, _ := filepath.Glob(filepath.Join(r.opts.Dir, "logs", "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l) //nolint:gosec // G304: the run's own log files
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s (last lines):\n%s\n", filepath.Base(l), strings.Join(lines, "\n"))
	}
	return b.String()
}

// WaitRunning waits until the runner prints Banner, and fails tb if make
// exits first or timeout passes.
func (r *Run) WaitRunning(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(r.Output(), Banner) {
		select {
		case <-r.done:
			tb.Fatalf("make run exited before it was running: %v\n%s", r.err, r.Report())
		case <-deadline.C:
			tb.Fatalf("make run did not print %q within %s\n%s", Banner, timeout, r.Report())
		case <-tick.C:
		}
	}
}

// ScriptPID is the runner script's process id, from run.pid in the run
// directory.
func (r *Run) ScriptPID(tb testing.TB) int {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(r.opts.Dir, "run.pid"))
	if err != nil {
		tb.Fatalf("read the runner's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		tb.Fatalf("run.pid holds %q: %v", data, err)
	}
	return pid
}

// Signal sends sig to pid.
func (r *Run) Signal(tb testing.TB, pid int, sig syscall.Signal) {
	tb.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		tb.Fatalf("send %v to %d: %v", sig, pid, err)
	}
}

// SignalGroup sends sig to every process of the run, as Ctrl-C in a
// terminal does.
func (r *Run) SignalGroup(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	r.Signal(tb, -r.cmd.Process.Pid, sig)
}

// Wait waits up to timeout for make to exit and returns its exit error
// (nil for status 0); it fails tb if make is still running then.
func (r *Run) Wait(tb testing.TB, timeout time.Duration) error {
	tb.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		tb.Fatalf("make run did not exit within %s\n%s", timeout, r.Report())
		return nil
	}
}

// GroupGone reports nil when no process of the run's group is left, and
// an error naming what is otherwise.
func (r *Run) GroupGone() error {
	err := syscall.Kill(-r.cmd.Process.Pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the process group: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ps", "-e", "-o", "pgid=,pid=,stat=,args=").Output()
	var left []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == strconv.Itoa(r.cmd.Process.Pid) {
			left = append(left, strings.TrimSpace(line))
		}
	}
	return fmt.Errorf("processes of make run are left (pgid pid stat args):\n%s", strings.Join(left, "\n"))
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
