package basicauth

import (
	"encoding/base64"
	"strings"
)

// Parse reads the username and password of an Authorization header value
// as Kong's basic-auth does: the first "Basic" or "basic" in the value,
// optional whitespace, then base64 (decoded as ngx.decode_base64 does:
// up to the first "=", unpadded input allowed), then
// "<username>:<password>" where the username is the first run of
// characters without ":" followed by one, and the password runs to the
// end of the line. ok is false when no username is found.
func Parse(header string) (username, password string, ok bool) {
	encoded, found := basicToken(header)
	if !found {
		return "", "", false
	}
	decoded, valid := decodeBase64(encoded)
	if !valid {
		return "", "", false
	}
	// ([^:]+):(.*), unanchored: the first non-colon run that a colon
	// follows.
	start := strings.IndexFunc(decoded, func(r rune) bool { return r != ':' })
	if start < 0 {
		return "", "", false
	}
	end := strings.IndexByte(decoded[start:], ':')
	if end < 0 {
		return "", "", false
	}
	username, password = decoded[start:start+end], decoded[start+end+1:]
	if i := strings.IndexByte(password, '\n'); i >= 0 { // PCRE's "." stops at a newline
		password = password[:i]
	}
	return username, password, true
}

// basicToken finds `\s*[Bb]asic\s*(.+)` in h and returns the capture.
func basicToken(h string) (string, bool) {
	for i := 0; i+5 <= len(h); i++ {
		if h[i] != 'B' && h[i] != 'b' || h[i+1:i+5] != "asic" {
			continue
		}
		rest := h[i+5:]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		trimmed := strings.TrimLeft(rest, " \t\r\v\f")
		switch {
		case trimmed != "":
			return trimmed, true
		case rest != "":
			// Only whitespace: the regex backtracks to capture one
			// character of it.
			return rest[len(rest)-1:], true
		}
	}
	return "", false
}

// decodeBase64 decodes as nginx's ngx_decode_base64: the input ends at
// the first "=", any other character outside the alphabet is an error,
// and a length of 4n+1 is an error.
func decodeBase64(s string) (string, bool) {
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	if len(s)%4 == 1 || strings.ContainsFunc(s, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '+' && r != '/'
	}) {
		return "", false
	}
	out, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(out), true
}
