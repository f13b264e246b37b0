package pdktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Response is a fake pdk.Response: the one WithResponse set (from the
// upstream) or the one an Exit or Error call produced.
type Response struct {
	status       int
	header       http.Header
	body         []byte
	fromUpstream bool
}

// Status is the response status.
func (r *Response) Status() int { return r.status }

// Header returns the first value of a header, "" when absent.
func (r *Response) Header(name string) string { return r.header.Get(name) }

// HeaderValues returns every value of a header.
func (r *Response) HeaderValues(name string) []string {
	return append([]string(nil), r.header.Values(name)...)
}

// SetHeader replaces a header.
func (r *Response) SetHeader(name, value string) { r.header.Set(name, value) }

// AddHeader adds a header value.
func (r *Response) AddHeader(name, value string) { r.header.Add(name, value) }

// DelHeader removes a header.
func (r *Response) DelHeader(name string) { r.header.Del(name) }

// FromUpstream reports whether the response came from WithResponse rather
// than an Exit or Error call.
func (r *Response) FromUpstream() bool { return r.fromUpstream }

// Headers returns a copy of every header.
func (r *Response) Headers() http.Header { return r.header.Clone() }

// Body is the response body.
func (r *Response) Body() []byte { return r.body }

// Exit is what a plugin's Exit or Error call produced.
type Exit struct {
	// Status is the status given.
	Status int
	// Body is the body as the proxy sends it: Exit's []byte or string as
	// is, any other value as JSON; Error's Kong error body.
	Body []byte
	// Header holds the headers given, plus the Content-Type the proxy
	// sets for a JSON body or an error body.
	Header http.Header
	// IsError reports whether it was an Error call; Message is then the
	// message the body carries (Kong's default for the status when
	// Error was given "").
	IsError bool
	Message string
}

// JSON decodes Body, failing with an error when it is not a JSON object.
func (e *Exit) JSON() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		return nil, fmt.Errorf("exit body %q: %w", e.Body, err)
	}
	return m, nil
}

// newExit builds what Exit(status, body, headers) sends.
func newExit(status int, body any, headers map[string]string) *Exit {
	e := &Exit{Status: status, Header: http.Header{}}
	for k, v := range headers {
		e.Header.Set(k, v)
	}
	switch b := body.(type) {
	case nil:
	case []byte:
		e.Body = append([]byte(nil), b...)
	case string:
		e.Body = []byte(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			panic(fmt.Sprintf("pdktest: Exit body %T does not encode as JSON: %v", body, err))
		}
		e.Body = data
		if e.Header.Get("Content-Type") == "" {
			e.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	return e
}

// newError builds what Error(status, message, headers) sends, for a
// client whose Accept header is accept.
func newError(status int, message string, headers map[string]string, accept, requestID string) *Exit {
	e := &Exit{Status: status, Header: http.Header{}, IsError: true}
	for k, v := range headers {
		e.Header.Set(k, v)
	}
	if message == "" {
		message = DefaultMessage(status)
	}
	e.Message = message
	contentType := e.Header.Get("Content-Type")
	if contentType == "" {
		contentType = ResponseType(accept)
		e.Header.Set("Content-Type", contentType)
	}
	e.Body = ErrorBody(contentType, message, requestID)
	return e
}

// ErrorBody is Kong's error body (kong.response.error) for a content type
// as ResponseType gives it: JSON {"message", "request_id"} (the message
// escaped), HTML, XML or plain text.
func ErrorBody(contentType, message, requestID string) []byte {
	switch strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]) {
	case "text/html":
		return fmt.Appendf(nil, "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n", message, requestID)
	case "application/xml":
		return fmt.Appendf(nil, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>%s</message>\n  <requestid>%s</requestid>\n</error>\n", message, requestID)
	case "text/plain":
		return fmt.Appendf(nil, "%s\nrequest_id: %s\n", message, requestID)
	default:
		msg, _ := json.Marshal(message)
		rid, _ := json.Marshal(requestID)
		return fmt.Appendf(nil, "{\n  \"message\":%s,\n  \"request_id\":%s\n}", msg, rid)
	}
}

// The content types of Kong's error responses.
const (
	typeJSON  = "application/json; charset=utf-8"
	typeHTML  = "text/html; charset=utf-8"
	typeXML   = "application/xml; charset=utf-8"
	typePlain = "text/plain; charset=utf-8"
)

var mimeTypes = map[string]string{
	"text/html": typeHTML, "application/json": typeJSON, "text/plain": typePlain,
	"application/xml": typeXML, "application": typeJSON, "text": typePlain,
}

// ResponseType is Kong's choice of error content type for an Accept
// header (kong.tools.http get_response_type): the media range with the
// highest quality that Kong knows, JSON by default.
func ResponseType(accept string) string {
	contentType := typeJSON
	best := 0.0
	for item := range strings.SplitSeq(accept, ",") {
		parts := strings.Split(strings.TrimSpace(item), ";")
		media := strings.ToLower(strings.TrimSpace(parts[0]))
		if !strings.Contains(media, "/") {
			continue
		}
		q := 1.0
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q <= best {
			continue
		}
		best = q
		typ, sub, _ := strings.Cut(media, "/")
		switch {
		case sub == "*" && typ == "*":
			contentType = typeJSON
		case sub == "*":
			if t, ok := mimeTypes[typ]; ok {
				contentType = t
			} else {
				contentType = typeJSON
			}
		default:
			if t, ok := mimeTypes[media]; ok {
				contentType = t
			} else {
				contentType = typeJSON
			}
		}
	}
	return contentType
}

// DefaultMessage is Kong's message for an error status given no message
// (kong.response.error's HTTP_MESSAGES).
func DefaultMessage(status int) string {
	if m, ok := httpMessages[status]; ok {
		return m
	}
	return fmt.Sprintf("The upstream server responded with %d", status)
}

var httpMessages = map[int]string{
	400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
	404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
	407: "Proxy authentication required", 408: "Request timeout", 409: "Conflict", 410: "Gone",
	411: "Length required", 412: "Precondition failed", 413: "Payload too large", 414: "URI too long",
	415: "Unsupported media type", 416: "Range not satisfiable", 417: "Expectation failed",
	418: "I'm a teapot", 421: "Misdirected request", 422: "Unprocessable entity", 423: "Locked",
	424: "Failed dependency", 425: "Too early", 426: "Upgrade required", 428: "Precondition required",
	429: "Too many requests", 431: "Request header fields too large", 451: "Unavailable for legal reasons",
	494: "Request header or cookie too large", 500: "An unexpected error occurred", 501: "Not implemented",
	502: "An invalid response was received from the upstream server",
	503: "The upstream server is currently unavailable", 504: "The upstream server is timing out",
	505: "HTTP version not supported", 506: "Variant also negotiates", 507: "Insufficient storage",
	508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
}
