// Package healthcheck is the data plane's health checker for upstream
// addresses, with the semantics of lua-resty-healthcheck as Kong drives it
// (kong/runloop/balancer/healthcheckers.lua):
//
//   - [Config] is an upstream's healthchecks record, parsed, with Kong's
//     defaults and its rule for whether health checking is on at all
//     ([Config.Enabled]).
//   - [State] is one address's health: a status (healthy, mostly healthy,
//     mostly unhealthy, unhealthy) and four counters (successes, HTTP
//     failures, TCP failures, timeouts) that flip it at their thresholds.
//     Active probes and passive reports of proxied traffic feed the same
//     State, each with its own limits and status lists ([Checks]).
//   - [Probe] runs one active probe; a [Checker] runs the active probing
//     of one upstream on its two intervals, in goroutines it owns.
//
// The package knows nothing of balancers: the balancer package decides
// which addresses exist, keeps their States across configuration swaps,
// and turns availability into weights and balancer health.
//
// Deviations from Kong: the probe timeout bounds the whole probe rather
// than each socket operation; "tcp" active checks (which Kong runs only in
// its stream subsystem) and gRPC probes do not run.
package healthcheck
