package cors

import (
	"fmt"
	"regexp"
	"strings"
)

// origin is one entry of config.origins other than "*": a literal origin
// compared after normalisation, or a regular expression.
type origin struct {
	// re is set for a regex entry: anchored at both ends, as Kong
	// adjusts it.
	re *regexp.Regexp
	// byHost is set when the entry has no ':' (a regex then matches the
	// request origin's host rather than scheme://host:port).
	byHost bool
	// domain is a literal entry's normalised origin.
	domain string
}

// literal reports whether s looks like a plain origin rather than a
// regex (Kong's "^[A-Za-z0-9.:/-]+$").
func literal(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == ':', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}

// newOrigin compiles one entry as Kong's configure_origin does: an entry
// with a character outside [A-Za-z0-9.:/-] is a regex, anchored at the
// end with "$" unless it ends so, and at the start (a leading "^" is
// dropped: PCRE's anchored flag does it); any other entry is normalised.
func newOrigin(entry string) (origin, error) {
	o := origin{byHost: !strings.Contains(entry, ":")}
	if literal(entry) {
		o.domain, _ = normalize(entry)
		return o, nil
	}
	expr := entry
	if !strings.HasSuffix(expr, "$") {
		expr += "$"
	}
	expr = strings.TrimPrefix(expr, "^")
	re, err := regexp.Compile("^(?:" + expr + ")")
	if err != nil {
		return origin{}, fmt.Errorf("origin %q: %w", entry, err)
	}
	o.re = re
	return o, nil
}

// match reports whether a request origin, normalised to domain and host,
// matches the entry.
func (o *origin) match(domain, host string) bool {
	if o.re == nil {
		return domain == o.domain
	}
	if o.byHost {
		return o.re.MatchString(host)
	}
	return o.re.MatchString(domain)
}

// normalize is Kong's normalize_origin over LuaSocket's url.parse: for an
// origin with an authority it returns "scheme://host[:port]" without the
// scheme's default port (and without the brackets of an IPv6 host, as
// LuaSocket strips them) and the host; for anything else (such as
// "null") the input twice. The result shares the input's bytes when it
// can.
func normalize(s string) (domain, host string) {
	u := s
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	scheme := ""
	if n := schemeLen(u); n > 0 {
		scheme, u = u[:n], u[n+1:]
	}
	if !strings.HasPrefix(u, "//") {
		return s, s
	}
	authority := u[2:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.IndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	port, hasPort := "", false
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.ContainsAny(authority[i+1:], "]") {
		port, hasPort, authority = authority[i+1:], true, authority[:i]
	}
	if authority == "" {
		return s, s
	}
	host = authority
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		hasPort = false
	}
	// The common case, "scheme://host[:port]" as sent, needs no copy.
	if n, ok := prefixForm(s, scheme, host, port, hasPort); ok {
		return s[:n], host
	}
	var b strings.Builder
	if scheme != "" {
		b.WriteString(scheme)
		b.WriteString("://")
	}
	b.WriteString(host)
	if hasPort {
		b.WriteByte(':')
		b.WriteString(port)
	}
	return b.String(), host
}

// prefixForm reports whether s starts with "scheme://host[:port]" (no
// "scheme://" when scheme is empty), and its length.
func prefixForm(s, scheme, host, port string, hasPort bool) (int, bool) {
	rest := s
	if scheme != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, scheme); !ok {
			return 0, false
		}
		if rest, ok = strings.CutPrefix(rest, "://"); !ok {
			return 0, false
		}
	}
	rest, ok := strings.CutPrefix(rest, host)
	if !ok {
		return 0, false
	}
	if hasPort {
		if rest, ok = strings.CutPrefix(rest, ":"); !ok {
			return 0, false
		}
		if rest, ok = strings.CutPrefix(rest, port); !ok {
			return 0, false
		}
	}
	return len(s) - len(rest), true
}

// schemeLen returns the length of a leading "scheme:" (LuaSocket's
// "^([%w][%w%+%-%.]*)%:"), without the colon; 0 when there is none.
func schemeLen(s string) int {
	for i := range len(s) {
		c := s[i]
		switch {
		case c == ':':
			return i
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '+' || c == '-' || c == '.'):
		default:
			return 0
		}
	}
	return 0
}
