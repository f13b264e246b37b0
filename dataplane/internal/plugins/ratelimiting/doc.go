// Package ratelimiting is Kong's rate-limiting plugin (PRIORITY 910,
// access phase): requests are counted per identifier in fixed windows of
// a second, minute, hour, day, month and year, and refused with
// error_code (429) and error_message once a limit is used up.
//
// # Kong's rules
//
//   - limit_by picks the identifier: the consumer id (else the credential
//     id), the credential id, the client IP (real-IP aware), the matched
//     service id, a request header, or the request path when it equals
//     config.path; each falls back to the client IP.
//   - Windows start at UTC calendar boundaries (the 1st of the month, Jan
//     1st); counters expire, and RateLimit-Reset counts down, with Kong's
//     window lengths, a month being 30 days and a year 365.
//   - Counters are keyed ratelimit:<route_id>:<service_id>:<identifier>:
//     <window_start_ms>:<period> with the ids the plugin is attached to
//     (zero UUIDs otherwise), so a global plugin counts across services.
//   - X-RateLimit-Limit-<Period> and X-RateLimit-Remaining-<Period> for
//     every configured period; RateLimit-Limit, -Remaining and -Reset for
//     the most restrictive one (the lowest remaining, the longer window on
//     a tie); Retry-After when refused; none of them with
//     hide_client_headers. A refused request counts only against the
//     period that refused it in the remaining values shown.
//   - When the counters cannot be reached (Redis down), fault_tolerant
//     lets requests through without headers (logged at most once per 10 s
//     per Redis server); otherwise the request fails with Kong's 500.
//
// # Policies
//
// local counts in the data plane's memory (Kong's shared dict: a counter
// expires its window length after its first request). Reading, deciding
// and counting are one step under a lock, so limits are exact even under
// concurrency, and refused requests are not counted.
//
// redis (sync_rate -1, Kong's default) counts in Redis on every request,
// refused ones too as in Kong: one round trip per request for all
// periods, a Lua script (EVALSHA, EVAL when Redis lost its script cache)
// that increments each period's counter, sets its expiry when it is new
// and returns the counts. Limits are exact across any number of data
// planes. The cluster policy is refused: a data plane has no database.
//
// redis with sync_rate > 0 counts locally and a flusher (one per Redis
// server per data plane) pushes the counts every sync_rate seconds with
// INCRBY and EXPIRE in one pipeline, taking the totals Redis answers as
// the cluster's count for the decisions until the next flush. A counter
// first seen in its window is read with one MGET, so requests make about
// no round trips. The price is bounded over-admission: a data plane
// decides on the cluster count as of its last flush plus its own counts,
// so it misses what the other data planes admitted since their last
// flush before its own, which is at most two sync intervals (plus a flush's
// latency) of their traffic. A limit is exceeded by at most
// (data planes − 1) × 2 × (requests one data plane admits per sync
// interval). Refused requests are not counted in this mode.
//
// # Connections
//
// Instances with equal Redis settings share one pooled client (package
// redispool: AUTH and SELECT on new connections, TLS when ssl is set,
// no retries, a breaker that fails requests at once while Redis is
// unreachable and recovers on its own), kept in pdk.Env.Shared so
// configuration swaps keep it. It is closed, after a last flush, once
// the instances using it are garbage.
package ratelimiting
