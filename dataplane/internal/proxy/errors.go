package proxy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kong's error messages by status (kong/pdk/response.lua HTTP_MESSAGES),
// used when an error has no message of its own.
var httpMessages = map[int]string{
	400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
	404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
	407: "Proxy authentication required", 408: "Request timeout", 409: "Conflict", 410: "Gone",
	411: "Length required", 412: "Precondition failed", 413: "Payload too large", 414: "URI too long",
	415: "Unsupported media type", 416: "Range not satisfiable", 417: "Expectation failed",
	418: "I'm a teapot", 421: "Misdirected request", 422: "Unprocessable entity", 423: "Locked",
	424: "Failed dependency", 425: "Too early", 426: "Upgrade required", 428: "Precondition required",
	429: "Too many requests", 431: "Request header fields too large", 451: "Unavailable for legal reasons",
	494: "Request header or cookie too large",
	500: "An unexpected error occurred", 501: "Not implemented",
	502: "An invalid response was received from the upstream server",
	503: "The upstream server is currently unavailable", 504: "The upstream server is timing out",
	505: "HTTP version not supported", 506: "Variant also negotiates", 507: "Insufficient storage",
	508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
}

// defaultMessage is Kong's message for status.
func defaultMessage(status int) string {
	if m, ok := httpMessages[status]; ok {
		return m
	}
	return "The upstream server responded with " + strconv.Itoa(status)
}

// The messages of the proxy's own errors.
const (
	msgNoRoute      = "no Route matched with those values"
	msgNoService    = "no Service found with those values"
	msgUseHTTPS     = "Please use HTTPS protocol"
	msgBadResponse  = "An invalid response was received from the upstream server"
	msgUnavailable  = "The upstream server is currently unavailable"
	msgTimeout      = "The upstream server is timing out"
	msgUnexpected   = "An unexpected error occurred"
	msgBodyTooLarge = "Request body too large" // Kong's nginx answers 413 with its error page
)

// Error body formats (kong/tools/http.lua MIME_TYPES and ERROR_TEMPLATES).
const (
	typeJSON  = "application/json; charset=utf-8"
	typeHTML  = "text/html; charset=utf-8"
	typeXML   = "application/xml; charset=utf-8"
	typePlain = "text/plain; charset=utf-8"
)

// responseType is Kong's get_response_type: the content type of an error
// body for an Accept header, JSON unless a more preferred known type is
// asked for. Of equal qualities the first wins; "text/*" is plain text,
// "application/*" and "*/*" JSON, unknown types JSON.
func responseType(accept string) string {
	typ := typeJSON
	if accept == "" {
		return typ
	}
	best := 0.0
	for value := range strings.SplitSeq(accept, ",") {
		name, quality := "", 1.0
		for entry := range strings.SplitSeq(value, ";") {
			e := strings.TrimSpace(entry)
			if strings.Contains(e, "/") && !strings.ContainsAny(e, " \t") {
				name = e
				continue
			}
			if q, ok := strings.CutPrefix(strings.ToLower(e), "q="); ok && strings.Contains(q, ".") {
				if f, err := strconv.ParseFloat(q, 64); err == nil {
					quality = f
				}
			}
		}
		if name != "" && quality > best {
			typ, best = mimeType(name), quality
		}
	}
	return typ
}

// mimeType is Kong's get_mime_type with its default.
func mimeType(name string) string {
	main, sub, _ := strings.Cut(strings.ToLower(name), "/")
	if sub == "*" {
		switch main {
		case "text":
			return typePlain
		default:
			return typeJSON
		}
	}
	switch main + "/" + sub {
	case "text/html":
		return typeHTML
	case "application/xml":
		return typeXML
	case "text/plain":
		return typePlain
	}
	return typeJSON
}

// appendErrorBody appends Kong's error body of type typ to dst.
func appendErrorBody(dst []byte, typ, message, requestID string) []byte {
	switch typ {
	case typeHTML:
		dst = append(dst, "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>"...)
		dst = appendMarkup(dst, message)
		dst = append(dst, ".</p>\n    <p>request_id: "...)
		dst = appendMarkup(dst, requestID)
		return append(dst, "</p>\n  </body>\n</html>\n"...)
	case typeXML:
		dst = append(dst, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>"...)
		dst = appendMarkup(dst, message)
		dst = append(dst, "</message>\n  <requestid>"...)
		dst = appendMarkup(dst, requestID)
		return append(dst, "</requestid>\n</error>\n"...)
	case typePlain:
		dst = append(dst, message...)
		dst = append(dst, "\nrequest_id: "...)
		dst = append(dst, requestID...)
		return append(dst, '\n')
	default:
		dst = append(dst, "{\n  \"message\":"...)
		dst = appendJSONString(dst, message)
		dst = append(dst, ",\n  \"request_id\":"...)
		dst = appendJSONString(dst, requestID)
		return append(dst, "\n}"...)
	}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendMarkup appends s escaped for HTML and XML text.
func appendMarkup(dst []byte, s string) []byte {
	for i := range len(s) {
		switch c := s[i]; c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
