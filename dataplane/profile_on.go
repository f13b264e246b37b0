//go:build benchprofile

package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole run to the file
// GATEHOUSE_CPU_PROFILE names, in binaries built with -tags benchprofile
// (deploy/bench/dataplane.sh uses it); the returned function stops it.
func startProfile(getenv func(string) string) func() {
	path := getenv("GATEHOUSE_CPU_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
