// Package router matches HTTP requests to routes with the semantics of
// Kong's default router flavor, traditional_compatible (kong/router/
// transform.lua, atc.lua, utils.lua): hosts (exact, `*.suffix`, `prefix.*`,
// optional `:port`), paths (plain prefixes of the normalized request path,
// or `~` regexes anchored at the start), methods, headers (names
// case-insensitive, values ORed, `~*` regex values) and snis (only checked
// over TLS). Within a field values are ORed, fields are ANDed. Protocols are
// not part of the match: they come back with the route so that the proxy
// enforces https-only routes. Unlike Kong, whose ATC engine compares them
// byte for byte, hosts and snis are compared case-insensitively (RFC 9110:
// host names are case-insensitive). Regexes are Go's (RE2) where Kong uses
// Rust's regex crate; the two accept nearly the same syntax.
//
// # Priority
//
// Each route gets Kong's 64-bit priority (transform.lua get_priority), and
// the highest priority route that matches wins:
//
//	bits 61-63  number of non-empty fields among methods, hosts, headers, snis, paths
//	bit  60     hosts set and none holds a '*' (plain hosts only)
//	bits 52-59  number of header names (at most 255)
//	bit  51     the path group is regex
//	bits 19-50  regex_priority (regex groups only)
//	bits  0-18  length of the prefix path (prefix groups only)
//
// Equal priorities go to the lexically greater route id, as the ATC router
// iterates its (priority, uuid) keys in reverse. A route whose paths mix
// regexes and prefixes of different lengths is split, as Kong does, into one
// entry per group (all regexes; each prefix length); every split entry has
// its own priority and the id UUIDv5(7f145bf9-..., "<route id>#<group>").
// Kong writes regex_priority into bits 19-50 with a plain shift, so a
// negative value would spill into the upper bits; here the field is stored
// in offset binary (value + 2^31) so that negative regex priorities order
// below zero, which is what the traditional router did and what Kong
// documents.
//
// # Index
//
// Compile sorts the entries by priority once; an entry's rank in that order
// is its ordinal. Matching never scans every entry. Entries are indexed by
// host: one bucket per exact host (lower case, port dropped), one per
// `*.suffix` keyed by ".suffix", one per `prefix.*` keyed by "prefix.",
// and one for entries without hosts. Each bucket is a radix tree over path
// keys: a prefix path is its own key, a regex path is keyed by the literal
// text its match must start with (often "/users/" for `~/users/(\d+)`,
// else ""), and an entry without paths by "". A lookup walks the request's
// buckets (the exact host, every suffix and prefix of the host at a dot, and
// the host-less bucket) along the normalized path and collects the sorted
// ordinal lists of the tree nodes it passes: exactly the entries whose keys
// are prefixes of the path. Those few lists are merged in ordinal order and
// each candidate is checked in full; the first one that matches wins, which
// is the highest priority match.
//
// # Allocations
//
// Match allocates nothing for a request whose path is already in normal
// form and whose winning route has prefix paths or no paths. A regex route
// needs the regex engine's match indexes when it strips the path or has
// capture groups; Go's regexp package returns those in a fresh slice, so
// that match costs one allocation. A request path that normalization
// changes (percent-encoded unreserved bytes, dot segments, doubled slashes)
// costs the normalized copy. The upstream path is appended to a buffer the
// caller owns (Match.AppendUpstreamPath).
package router
