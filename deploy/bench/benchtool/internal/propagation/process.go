package propagation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a service process started by the benchmark. Its output goes to
// a log file, and each line is also handed to onLine with the time it was
// read (a data plane's "applied" line is how the benchmark learns, to the
// microsecond, when a configuration was swapped in).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // once done is closed
	log  string
}

// startProc runs bin with args and env (added to a minimal environment)
// in its own process group, its output in logDir/name.log.
func startProc(name, bin string, args, env []string, logDir string, onLine func(line []byte, at time.Time)) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath) //nolint:gosec // a path the benchmark chose
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // the binaries under test; stopped with SIGTERM by stop
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	var reading sync.WaitGroup
	reading.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			at := time.Now()
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			if onLine != nil {
				onLine(line, at)
			}
		}
		_, _ = io.Copy(logFile, pr) // a line too long: keep the rest
	})
	go func() {
		p.err = cmd.Wait()
		_ = pw.Close()
		reading.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError is the error for a process that ended while it should be
// running: how it ended (wrapped) and the last lines of its log. Call it
// once exited is true.
func (p *proc) exitError() error {
	err := p.err
	if err == nil {
		err = errExitedCleanly
	}
	return fmt.Errorf("%s exited: %w\n%s", p.name, err, p.tail())
}

// errExitedCleanly is how a process ended that exited with status 0.
var errExitedCleanly = errors.New("exit status 0")

// stop sends SIGTERM to the process group and waits up to grace, then
// kills it. It returns the process's exit error when it did not stop
// cleanly.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return p.err
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.err
	case <-timer.C:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %v and was killed", p.name, grace)
	}
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// rssMB returns the process's resident memory in MiB.
func (p *proc) rssMB() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("%s memory: %w", p.name, err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				return 0, fmt.Errorf("%s memory: %w", p.name, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New(p.name + " memory: no VmRSS")
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port, nil
}

// poll calls check every interval until it returns nil, ctx ends or
// timeout passes; it returns check's last error then.
func poll(ctx context.Context, interval, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
