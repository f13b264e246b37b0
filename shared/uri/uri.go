// Package uri normalizes and escapes request paths the way Kong does
// (kong/tools/uri.lua), so that route paths are validated and requests are
// matched against exactly the same normal form.
package uri

import (
	"strings"
)

// reserved holds the RFC 3986 reserved characters (plus '%'): their
// percent-encoded forms are kept encoded by Normalize because decoding them
// would change the meaning of the path.
const reserved = "!*'();:@&=+$,/?%#[]"

// Normalize returns the normal form of a path: percent-encoded triplets of
// unreserved and "other" characters are decoded (reserved ones are kept,
// with upper-case hex digits), dot segments are removed as in RFC 3986
// section 5.2.4, and, when mergeSlashes is set, runs of slashes become one.
func Normalize(p string, mergeSlashes bool) string {
	if p == "" || p == "/" {
		return p
	}
	if strings.IndexByte(p, '%') >= 0 {
		p = decodeUnreserved(p)
	}
	if strings.IndexByte(p, '.') < 0 {
		if !mergeSlashes || !strings.Contains(p, "//") {
			return p
		}
	}
	return removeDotSegments(p, mergeSlashes)
}

func decodeUnreserved(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if strings.IndexByte(reserved, v) >= 0 {
				b.WriteByte('%')
				b.WriteByte(upperHex(p[i+1]))
				b.WriteByte(upperHex(p[i+2]))
			} else {
				b.WriteByte(v)
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func removeDotSegments(p string, mergeSlashes bool) string {
	out := make([]string, 0, 8)
	for p != "" {
		switch {
		case p == "/.":
			p = "/"
		case p == "/..":
			p = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case p == "." || p == "..":
			p = ""
		case strings.HasPrefix(p, "../"):
			p = p[3:]
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/./"):
			p = p[2:]
		case strings.HasPrefix(p, "/../"):
			p = p[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case mergeSlashes && strings.HasPrefix(p, "//"):
			p = p[1:]
		default:
			i := strings.IndexByte(p[1:], '/')
			if i < 0 {
				out = append(out, p)
				p = ""
			} else {
				out = append(out, p[:i+1])
				p = p[i+1:]
			}
		}
	}
	return strings.Join(out, "")
}

// Escape percent-encodes every byte of p that is not safe in an HTTP
// request line or header, keeping reserved characters, unreserved
// characters and existing percent signs as they are (Kong's uri.escape).
func Escape(p string) string {
	need := false
	for i := 0; i < len(p); i++ {
		if !safe(p[i]) {
			need = true
			break
		}
	}
	if !need {
		return p
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + 8)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func safe(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&'()*+,/:;=?@[]-_.~%", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
