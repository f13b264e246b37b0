// Package statusapi is the data plane's read-only status API, served by the
// dataplane binary on its status listener (GATEHOUSE_STATUS_LISTEN).
//
// It will export Handler(src Source) http.Handler, where Source is a small
// interface the dataplane implements over its in-memory state: the current
// configuration revision and hash, the last sync time and error, upstream
// health, and readiness. It never opens the data plane's cache, which a single
// process holds. The package has no code yet.
package statusapi
