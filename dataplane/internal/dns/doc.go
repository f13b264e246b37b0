// Package dns resolves the host names of upstream targets and services
// for the data plane, with record TTLs (which the standard library's
// resolver does not report).
//
//   - [Client] is a stub resolver: /etc/hosts, then the name servers of
//     /etc/resolv.conf over UDP (TCP when truncated), with the search
//     list. It asks A records then AAAA records, or SRV records for an
//     SRV-looking name or when SRV is preferred; SRV targets are resolved
//     to addresses, keeping the records of the top priority only.
//   - [Cache] caches answers for their TTL (at least MinTTL), negative
//     answers for NotFoundTTL, other failures for ErrorTTL, serves a stale
//     answer while refreshing fails transiently, and refreshes entries in
//     the background (Run) while they are pinned or in use. The hot path
//     (Peek) is lock-free and does not allocate.
//
// Errors carry the texts of Kong's DNS client ("dns server error: 3 name
// error", "dns client error: 101 empty record received"), which the
// status API shows as a target's dns field; IsNotFound tells a name that
// does not resolve (Kong's 503 "name resolution failed") from a failure
// to get an answer.
//
// Deviations from Kong: a TTL of 0 is cached for MinTTL instead of
// resolving on every request, and AAAA records are asked when a name has
// no A records (Kong's default order asks SRV, A and CNAME).
package dns
