//go:build race

package e2etest

// raceTest is true when the test binary runs with the race detector: the
// services are then built with it too, which shares the build cache with
// the race-enabled test builds of the other modules and finds data races
// across real scenarios.
const raceTest = true
