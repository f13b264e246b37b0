package router

import (
	"strings"

	"gatehouse.dev/shared/uri"
)

// NormalizePath returns the path the router matches for a raw request
// path, as utils.lua strip_uri_args does: everything from a '?' after the
// first byte is dropped, and the rest normalized with merged slashes
// (uri.Normalize). A path already in normal form is returned as is,
// without allocating. The result is never empty: "" (or "." normalized
// away) becomes "/". A path not starting with '/' (such as "*") is not an
// origin-form target; it is normalized as Kong does and matches no
// prefix route.
func NormalizePath(raw string) string {
	if raw == "" {
		return "/"
	}
	if i := strings.IndexByte(raw[1:], '?'); i >= 0 {
		raw = raw[:i+1]
	}
	if !needsNormalize(raw) {
		return raw
	}
	if p := uri.Normalize(raw, true); p != "" {
		return p
	}
	return "/"
}

// reservedHex reports whether the byte that %XY encodes is one that
// uri.Normalize keeps encoded (RFC 3986 reserved characters and '%').
func reservedHex(c byte) bool {
	return strings.IndexByte("!*'();:@&=+$,/?%#[]", c) >= 0
}

// needsNormalize reports whether uri.Normalize(p, true) could differ from
// p: p does not start with '/', holds "//", a "." or ".." segment, or a
// percent-encoded byte that normalization decodes or upper-cases.
func needsNormalize(p string) bool {
	if p[0] != '/' {
		return true
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			if i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
				if !reservedHex(unhex(p[i+1])<<4|unhex(p[i+2])) || isLowerHex(p[i+1]) || isLowerHex(p[i+2]) {
					return true
				}
			}
		case '/':
			rest := p[i+1:]
			if strings.HasPrefix(rest, "/") || isDotSegment(rest) {
				return true
			}
		}
	}
	return false
}

// isDotSegment reports whether rest (what follows a '/') starts with a
// "." or ".." segment.
func isDotSegment(rest string) bool {
	if !strings.HasPrefix(rest, ".") {
		return false
	}
	rest = strings.TrimPrefix(rest[1:], ".")
	return rest == "" || rest[0] == '/'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
