// Package e2e holds the end-to-end tests: they build the admin-api, sync-hub
// and dataplane binaries, run them as processes against the local Postgres
// and Redis, and check the system as a whole (configuration reaching data
// planes, control plane down, data plane restarts, cut links, incompatible
// data plane versions). Nothing imports this package; it has no tests yet.
package e2e
