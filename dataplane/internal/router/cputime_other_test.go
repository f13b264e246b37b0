//go:build !linux

package router

import "time"

// threadCPU cannot measure a thread's CPU time on this platform.
func threadCPU() (func() time.Duration, bool) {
	return func() time.Duration { return 0 }, false
}
