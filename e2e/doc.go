// Package e2e holds the end-to-end tests: they build the admin-api,
// sync-hub and dataplane binaries, run them as processes against the local
// Postgres (a new database per test) and Redis, with real upstream servers,
// and check what Gatehouse promises as a whole. Nothing imports this
// package; the harness is e2e/e2etest.
//
// The scenarios, by file:
//
//	sync_test.go         Kong 01-sync: data-plane status (ip, version, ttl, labels, cert_details),
//	                     /clustering/status, read-only listing, proxy following the configuration,
//	                     disabled services, first change at once and the rest batched
//	compat_test.go       Kong 01-sync version checks: the whole table with a fake data plane, and
//	                     real data planes built as other versions or lacking a configured plugin
//	startstop_test.go    Kong 02-start_stop: start-up errors with Kong's texts, valid labels,
//	                     no error logged when the control plane exits first
//	pki_test.go          Kong 03-pki, plus node-id pinning and a foreign CA refused
//	cpcluster_test.go    Kong 04-cp_cluster_sync: two admin-apis and two sync-hubs on one database;
//	                     a second sync-hub taking over when the first is killed
//	nodeid_test.go       Kong 09-node-id-persistence
//	status_test.go       Kong 11-status: readiness of control and data planes
//	errors_test.go       Kong 12-errors: refusals reported as last_error
//	propagation_test.go  a change reaching two data planes, timed
//	cpdown_test.go       control plane stopped under load; data plane restarted from its cache
//	postgres_test.go     Postgres lost (a private server) under load, and recovery
//	redis_test.go        Redis lost under rate limiting (fault_tolerant on and off), and recovery
//	linkcut_test.go      the link between a data plane and sync-hub cut and restored
//	cache_test.go        damaged caches refused; data planes provisioned from copied caches
//	gokong_test.go       the whole flow through go-kong
//	traces_test.go       a change and a proxied request, each one trace at an OTLP receiver
//
// Run them with `go test -race ./...` in this directory (they are part of
// `make test`); the figures (requests and failures while the control plane
// is down, propagation times) are printed after the tests with -v. See
// e2etest's documentation for the environment variables that tune them.
package e2e
