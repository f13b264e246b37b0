// Package balancer is the data plane's load balancing: Kong's upstreams
// and targets (kong/runloop/balancer), with DNS for host names and the
// health checks of package healthcheck.
//
// # Use
//
// A [Manager] lives as long as the data plane. For each configuration,
// Update builds a [Set] of balancers, one per upstream, which the caller
// publishes with the rest of its runtime:
//
//	set, err := mgr.Update(ctx, upstreams, targets) // entities as a configuration holds them
//
// Per request, the proxy finds the balancer of the service host, computes
// the hash value once, and picks an address for every try, reporting each
// try's outcome (which releases the address):
//
//	var buf [4]balancer.Address
//	tried := buf[:0] // addresses of this request's earlier tries
//	hash, setCookie := "", ""
//	if b := set.Balancer(service.Host); b != nil {
//		hash, setCookie = b.HashValue(view) // view implements balancer.Request
//	}
//	for {
//		addr, err := set.Pick(ctx, service.Host, service.Port, hash, tried)
//		if err != nil { ... } // a *balancer.Error carries Kong's status and message
//		... connect to addr.HostPort(); the Host header derives from addr.Hostname() ...
//		addr.Report(balancer.Outcome{Status: status, Failure: failure, ConnectTime: c, ResponseTime: r})
//		tried = append(tried, addr)
//		... stop unless the try failed and retries remain ...
//	}
//
// A host that is no upstream's name is resolved by DNS, cached for its
// TTL (Kong's toip; the service port is used).
//
// # Algorithms
//
//   - round-robin: Kong's wheel; each address appears weight/gcd times,
//     shuffled once per build, and a pointer advances one slot per pick,
//     skipping unavailable addresses.
//   - consistent-hashing: a Ketama ring of max(slots, 1000) points; each
//     address claims floor(weight/total × targets × 160) points; a request
//     goes to the point of its hash value or the next one below. The hash
//     function is XXH64 (see ring), not Kong's xxhash32: every data plane
//     builds the same ring from the same configuration, but not Kong's.
//   - least-connections: the lowest (active+1)/weight.
//   - latency: an EWMA of connect+response time (10 s decay) per address;
//     the lower ewma/weight of two random candidates.
//
// Every algorithm skips unavailable addresses, gives addresses of weight 0
// no traffic, and avoids the addresses a request already tried while
// others are available (Kong's round-robin and consistent-hashing retry
// the next slot or the same point). A balancer whose total weight is 0, or
// whose available weight is not above the upstream's healthchecks.threshold
// percentage, is unhealthy and refuses every request with 503 "failure to
// get a peer from the ring-balancer" (Kong 3.x checks this in
// least-connections and latency only; Gatehouse checks it for all, as
// Kong documents).
//
// # Health
//
// Health checking is on for an upstream when an active interval or a
// passive failure counter is non-zero; then active probes (a Checker per
// upstream, owned by the Manager) and every reported outcome (passive)
// move each address between healthy and unhealthy. The state of an
// address is keyed by (upstream id, target, ip:port): a balancer rebuilt
// for a new configuration or new DNS answers adopts it, so health, the
// least-connections counts and the latency averages survive swaps. Sets
// report Kong's health view ([Set.Health]) for the status API.
//
// # DNS
//
// Host names of targets are resolved when a configuration is built (A,
// then AAAA; SRV for an SRV-looking name, or first when the upstream sets
// use_srv_name, each SRV record's port and weight replacing the target's)
// and refreshed by the Manager's DNS cache as they expire; a change
// rebuilds the upstream's balancer in place. A name that fails to resolve
// leaves its target without addresses (DNS_ERROR, with the resolver's
// error as its dns field) and is asked again later.
package balancer
