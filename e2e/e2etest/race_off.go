//go:build !race

package e2etest

// raceTest is true when the test binary runs with the race detector (see
// race_on.go).
const raceTest = false
