package router

// splitHostPort splits "host:port" at the first colon when what follows is
// a port number, as transform.lua's split_host_port does; otherwise (no
// colon, no number after it, or an IPv6 literal) the whole string is the
// host and port is 0.
func splitHostPort(s string) (host string, port int) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if p, ok := parsePort(s[i+1:]); ok {
				return s[:i], p
			}
			return s, 0
		}
	}
	return s, 0
}

// parsePort parses a decimal port number (1 to 5 digits).
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// equalFoldLower reports whether s equals lower, a lower-case string, with
// ASCII letters of s compared case-insensitively.
func equalFoldLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUpper(c) {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
