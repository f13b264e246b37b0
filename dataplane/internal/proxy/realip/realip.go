// Package realip works out a request's client address the way Kong does
// with nginx's realip module (kong.conf trusted_ips, real_ip_header,
// real_ip_recursive): the TCP peer's address, replaced by the address a
// header carries only when the peer is trusted.
package realip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses. It is immutable and safe for
// concurrent use; the zero value trusts nobody.
type Resolver struct {
	prefixes  []netip.Prefix
	header    string
	recursive bool
}

// New returns a resolver trusting the addresses and CIDR blocks in trusted
// ("unix:" is accepted and ignored: the proxy listens on TCP only), reading
// the client address from header, recursively or not.
func New(trusted []string, header string, recursive bool) (*Resolver, error) {
	r := &Resolver{header: header, recursive: recursive}
	for _, t := range trusted {
		if t == "unix:" {
			continue
		}
		if a, err := netip.ParseAddr(t); err == nil {
			r.prefixes = append(r.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return nil, fmt.Errorf("trusted ip %q: %w", t, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		r.prefixes = append(r.prefixes, p.Masked())
	}
	return r, nil
}

// Header is the header that carries the client address (canonical form
// is not required: callers look it up case-insensitively).
func (r *Resolver) Header() string { return r.header }

// Any reports whether any address is trusted: when none is, ClientIP is
// always the peer and the header need not be read.
func (r *Resolver) Any() bool { return len(r.prefixes) > 0 }

// Trusted reports whether addr is a trusted address (Kong's
// kong.ip.is_trusted).
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address of a request from peer whose
// real-IP header holds value ("" when absent), as nginx's realip module
// computes it: the peer unless it is trusted and the header holds an
// address. The header is read from the right: its last address (an
// optional port is dropped); with recursive set, addresses that are
// themselves trusted are skipped leftwards, keeping the last one when
// every address is trusted. A malformed entry stops the walk at the
// address found so far (the peer, if it is the first).
func (r *Resolver) ClientIP(peer netip.Addr, value string) netip.Addr {
	if value == "" || !r.Trusted(peer) {
		return peer
	}
	found := peer
	for {
		end := len(value)
		for end > 0 && (value[end-1] == ' ' || value[end-1] == ',') {
			end--
		}
		start := strings.LastIndexAny(value[:end], " ,") + 1
		a, ok := parseAddrPort(value[start:end])
		if !ok {
			return found
		}
		found = a
		if !r.recursive || start == 0 || !r.Trusted(a) {
			return found
		}
		value = value[:start]
	}
}

// parseAddrPort parses an address with an optional port: "1.2.3.4",
// "1.2.3.4:80", "::1", "[::1]" or "[::1]:80".
func parseAddrPort(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
