package iprestriction

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// matcher answers whether an address is in a list of addresses and CIDR
// ranges, with one map lookup per distinct prefix length of the address's
// family: a single address is its /32 or /128 range, and every range is
// stored masked, so an address matches a range of length n exactly when
// its own /n prefix is a key. Lookups do not allocate.
type matcher struct {
	set map[netip.Prefix]struct{}
	v4  []int // distinct IPv4 prefix lengths, longest first
	v6  []int // distinct IPv6 prefix lengths, longest first
}

// newMatcher compiles a list of addresses and CIDR ranges (the schema has
// validated them); nil for an empty list. Host bits of a range are
// ignored, as resty.ipmatcher does.
func newMatcher(list []string) (*matcher, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := &matcher{set: make(map[netip.Prefix]struct{}, len(list))}
	for _, entry := range list {
		p, err := parseEntry(entry)
		if err != nil {
			return nil, err
		}
		m.set[p] = struct{}{}
		if p.Addr().Is4() {
			m.v4 = appendLen(m.v4, p.Bits())
		} else {
			m.v6 = appendLen(m.v6, p.Bits())
		}
	}
	slices.SortFunc(m.v4, func(a, b int) int { return b - a })
	slices.SortFunc(m.v6, func(a, b int) int { return b - a })
	return m, nil
}

func appendLen(lens []int, n int) []int {
	if slices.Contains(lens, n) {
		return lens
	}
	return append(lens, n)
}

// parseEntry reads "ip" or "ip/bits" into a masked prefix.
func parseEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid cidr range %q: %w", entry, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid ip %q: %w", entry, err)
	}
	a = a.WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// match reports whether addr (unmapped, without zone) is in the list.
func (m *matcher) match(addr netip.Addr) bool {
	lens := m.v6
	if addr.Is4() {
		lens = m.v4
	}
	for _, n := range lens {
		p, err := addr.Prefix(n)
		if err != nil {
			continue
		}
		if _, ok := m.set[p]; ok {
			return true
		}
	}
	return false
}
