package router

import (
	"runtime"
	"syscall"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD: the calling thread's usage.
const rusageThread = 1

// threadCPU locks the calling goroutine to its thread and returns a
// function that reports the CPU time the thread used since, so that a
// benchmark on a busy machine can report the CPU its loop costs besides
// the wall time. The second result is false where it cannot be measured.
func threadCPU() (func() time.Duration, bool) {
	runtime.LockOSThread()
	start, ok := cpuNow()
	return func() time.Duration {
		end, _ := cpuNow()
		runtime.UnlockOSThread()
		return end - start
	}, ok
}

func cpuNow() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
