// Package idle waits for the machine's CPUs to be idle enough to measure,
// for at most a while, and says what it saw: the bench report runs on a
// shared machine, and records the load next to every section.
package idle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Observation is what Wait saw when it returned.
type Observation struct {
	// Busy is the fraction of all CPUs busy (not idle nor waiting for
	// I/O) over the last sample window, 0 to 1.
	Busy float64
	// Load1 is the one-minute load average.
	Load1 float64
	// Waited is how long Wait took; Idle whether Busy was at most the
	// threshold (false: the wait was capped).
	Waited time.Duration
	Idle   bool
}

// Line formats the observation as key=value pairs.
func (o Observation) Line() string {
	return fmt.Sprintf("busy=%.2f load1=%.2f waited=%.1f idle=%t", o.Busy, o.Load1, o.Waited.Seconds(), o.Idle)
}

// Wait samples the CPU time counters of /proc/stat over windows of
// window, until a window has at most threshold of the CPUs busy or maxWait
// has passed.
func Wait(ctx context.Context, threshold float64, window, maxWait time.Duration) (Observation, error) {
	start := time.Now()
	prev, err := readCPU()
	if err != nil {
		return Observation{}, err
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return Observation{}, ctx.Err()
		case <-timer.C:
		}
		cur, err := readCPU()
		if err != nil {
			return Observation{}, err
		}
		o := Observation{Busy: busy(prev, cur), Waited: time.Since(start)}
		o.Load1, _ = load1()
		o.Idle = o.Busy <= threshold
		if o.Idle || o.Waited >= maxWait {
			return o, nil
		}
		prev = cur
		timer.Reset(window)
	}
}

// cpuTimes are the aggregate "cpu" counters of /proc/stat: total and idle
// (idle + iowait) ticks.
type cpuTimes struct{ total, idle uint64 }

func busy(a, b cpuTimes) float64 {
	dt := float64(b.total - a.total)
	if dt <= 0 {
		return 0
	}
	return 1 - float64(b.idle-a.idle)/dt
}

func readCPU() (cpuTimes, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseStat(string(data))
}

func parseStat(text string) (cpuTimes, error) {
	line, _, _ := strings.Cut(text, "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return cpuTimes{}, errors.New("/proc/stat: no cpu line")
	}
	var t cpuTimes
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: %w", err)
		}
		if i >= 7 { // guest times are already in user and nice
			break
		}
		t.total += v
		if i == 3 || i == 4 { // idle, iowait
			t.idle += v
		}
	}
	return t, nil
}

func load1() (float64, error) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("read /proc/loadavg: %w", err)
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, errors.New("/proc/loadavg is empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/loadavg: %w", err)
	}
	return v, nil
}
