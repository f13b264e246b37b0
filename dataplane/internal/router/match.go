package router

// Match is the result of a successful Router.Match.
type Match struct {
	// Route is the matched route (the original route when Kong split it
	// by path group).
	Route *Route
	// Service is Route.Service: nil when the route has no service (the
	// proxy answers 503 "no Service found with those values").
	Service *Service
	// Path is the normalized request path the route was matched against.
	Path string
	// PathMatched reports whether a route path took part in the match
	// (false for a route without paths).
	PathMatched bool
	// Prefix is the part of Path matched by the route's path: the prefix
	// path itself, or the whole regex match. For a regex route it is only
	// computed when the route strips the path or the regex has capture
	// groups (it is "" otherwise); it is "" for a route without paths.
	Prefix string
	// Host is the request's Host header as sent: the upstream Host when
	// Route.PreserveHost is set (see UpstreamHost).
	Host string
	// Captures are the regex path's groups (Kong's uri_captures); empty
	// for prefix paths.
	Captures Captures
}

// UpstreamHost returns the client's Host header and true when the route
// preserves it; otherwise false, and the proxy sends the upstream target's
// host (with its port unless it is the scheme's default).
func (m *Match) UpstreamHost() (string, bool) {
	if m.Route.PreserveHost {
		return m.Host, true
	}
	return "", false
}

// StrippedPrefix returns what Kong keeps as match_t.prefix: the matched
// prefix when the route strips it, else "". The proxy sends it as
// X-Forwarded-Prefix unless it is "" or "/".
func (m *Match) StrippedPrefix() string {
	if m.Route.StripPath {
		return m.Prefix
	}
	return ""
}

// UpstreamPath returns the path to send upstream, without query string
// (the caller appends the request's query unchanged).
func (m *Match) UpstreamPath() string {
	return string(m.AppendUpstreamPath(nil))
}

// AppendUpstreamPath appends the upstream path to dst, following
// utils.lua get_upstream_uri_v0 (path_handling v1 behaves as v0 under
// traditional_compatible), and returns the extended buffer. The path is
// not escaped: the proxy escapes it for the request line.
func (m *Match) AppendUpstreamPath(dst []byte) []byte {
	base := "/"
	if m.Service != nil && m.Service.Path != "" {
		base = m.Service.Path
	}
	return appendUpstreamPath(dst, base, m.Path, m.Prefix, m.PathMatched, m.Route.StripPath)
}

// appendUpstreamPath is get_upstream_uri_v0 with set_upstream_uri's
// postfix: base is the service path ("/" when null), reqPath the
// normalized request path, prefix the matched part of it (taken as "/"
// when no path matched, as Kong does with a nil prefix).
func appendUpstreamPath(dst []byte, base, reqPath, prefix string, matched, strip bool) []byte {
	if !strip {
		if base[len(base)-1] == '/' {
			return append(append(dst, base...), reqPath[1:]...)
		}
		if reqPath == "/" {
			return append(dst, base...)
		}
		return append(append(dst, base...), reqPath...)
	}
	if !matched {
		prefix = "/"
	}
	postfix := sanitizePostfix(reqPath[min(len(prefix), len(reqPath)):])
	if base[len(base)-1] == '/' {
		switch {
		case postfix == "":
			switch {
			case base == "/":
				return append(dst, '/')
			case reqPath[len(reqPath)-1] == '/':
				return append(dst, base...)
			default:
				return append(dst, base[:len(base)-1]...)
			}
		case postfix[0] == '/':
			return append(append(dst, base[:len(base)-1]...), postfix...)
		default:
			return append(append(dst, base...), postfix...)
		}
	}
	switch {
	case postfix == "":
		dst = append(dst, base...)
		if len(reqPath) > 1 && reqPath[len(reqPath)-1] == '/' {
			dst = append(dst, '/')
		}
		return dst
	case postfix[0] == '/':
		return append(append(dst, base...), postfix...)
	default:
		return append(append(append(dst, base...), '/'), postfix...)
	}
}

// sanitizePostfix is utils.lua sanitize_uri_postfix: a leading "./" or
// "../" (or a lone "." or "..") is dropped.
func sanitizePostfix(p string) string {
	switch {
	case p == "." || p == "..":
		return ""
	case len(p) >= 2 && p[:2] == "./":
		return p[2:]
	case len(p) >= 3 && p[:3] == "../":
		return p[3:]
	}
	return p
}

// Captures are the groups of a regex path match, numbered from 0 (the
// whole match) and optionally named, as Kong's router_matches.uri_captures.
// A group that did not take part in the match is absent.
type Captures struct {
	subject string
	idx     []int
	names   []string
}

// Len returns the number of groups including group 0; 0 when the match
// was not a regex match (or its groups were not computed).
func (c *Captures) Len() int { return len(c.idx) / 2 }

// Group returns group i and whether it took part in the match.
func (c *Captures) Group(i int) (string, bool) {
	if i < 0 || 2*i+1 >= len(c.idx) || c.idx[2*i] < 0 {
		return "", false
	}
	return c.subject[c.idx[2*i]:c.idx[2*i+1]], true
}

// Named returns the group named name and whether it took part in the
// match.
func (c *Captures) Named(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	for i, n := range c.names {
		if n == name {
			return c.Group(i)
		}
	}
	return "", false
}

// Names returns the name of each group by number ("" for unnamed groups
// and group 0). The slice is shared and must not be modified.
func (c *Captures) Names() []string { return c.names }

// Any reports whether a group other than group 0 took part in the match:
// when Kong sets uri_captures at all.
func (c *Captures) Any() bool {
	for i := 1; i < c.Len(); i++ {
		if c.idx[2*i] >= 0 {
			return true
		}
	}
	return false
}
