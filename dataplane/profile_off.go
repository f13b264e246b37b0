//go:build !benchprofile

package main

// startProfile does nothing in release binaries; see profile_on.go.
func startProfile(func(string) string) func() { return func() {} }
