package proxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
)

// The exchange is the plugins' pdk.Context.
var _ pdk.Context = (*exchange)(nil)

// Context is the request's context, carrying its server span.
func (x *exchange) Context() context.Context { return x.ctx }

// Request is the client's request.
func (x *exchange) Request() pdk.Request { return &x.reqView }

// Upstream is the request that goes to the service.
func (x *exchange) Upstream() pdk.Upstream { return &x.upView }

// Response is the response to the client, nil before the header filter.
func (x *exchange) Response() pdk.Response {
	if x.status == 0 {
		return nil
	}
	return &x.respView
}

// ClientIP is the client address after the real-IP rules.
func (x *exchange) ClientIP() string { return string(x.ipText) }

// RemoteIP is the TCP peer's address.
func (x *exchange) RemoteIP() string { return x.peer.String() }

// RequestID is the request's X-Kong-Request-Id.
func (x *exchange) RequestID() string { return string(x.rid[:]) }

// RouteID is the matched route's id.
func (x *exchange) RouteID() string {
	if !x.matched {
		return ""
	}
	return x.match.Route.ID
}

// RouteName is the matched route's name.
func (x *exchange) RouteName() string {
	if !x.matched {
		return ""
	}
	return x.match.Route.Name
}

// ServiceID is the matched route's service's id.
func (x *exchange) ServiceID() string {
	if x.svc == nil {
		return ""
	}
	return x.svc.ID
}

// ServiceName is the service's name.
func (x *exchange) ServiceName() string {
	if x.svc == nil {
		return ""
	}
	return x.svc.Name
}

// Capture returns a regex path capture, numbered ("1") or named.
func (x *exchange) Capture(name string) (string, bool) {
	if !x.matched {
		return "", false
	}
	if n, err := strconv.Atoi(name); err == nil {
		v, ok := x.match.Captures.Group(n)
		return strings.Clone(v), ok
	}
	v, ok := x.match.Captures.Named(name)
	return strings.Clone(v), ok
}

// URICaptures returns every regex path capture, by number and by name.
func (x *exchange) URICaptures() (unnamed map[int]string, named map[string]string) {
	c := &x.match.Captures
	if !x.matched || !c.Any() {
		return nil, nil
	}
	unnamed, named = map[int]string{}, map[string]string{}
	names := c.Names()
	for i := range c.Len() {
		v, ok := c.Group(i)
		if !ok {
			continue
		}
		unnamed[i] = strings.Clone(v)
		if i < len(names) && names[i] != "" {
			named[names[i]] = unnamed[i]
		}
	}
	return unnamed, named
}

// Connection describes the client connection.
func (x *exchange) Connection() pdk.Connection {
	c := pdk.Connection{ServerPort: x.port}
	if ta, ok := x.local.(*net.TCPAddr); ok {
		c.ServerAddr = ta.IP.String()
	}
	if x.clientConn != nil {
		c.Serial, c.Requests = x.clientConn.serial, x.connReqs
	}
	return c
}

// Consumer is the authenticated consumer, or nil.
func (x *exchange) Consumer() *pdk.Consumer { return x.consumer }

// Credential is the credential the consumer authenticated with, or nil.
func (x *exchange) Credential() *pdk.Credential { return x.cred }

// Authenticate records who authenticated.
func (x *exchange) Authenticate(consumer *pdk.Consumer, credential *pdk.Credential) {
	x.consumer, x.cred = consumer, credential
}

// Exit answers the request (kong.response.exit).
func (x *exchange) Exit(status int, body any, headers map[string]string) {
	x.exitStatus(status)
	h := &x.resp.Header
	switch b := body.(type) {
	case nil:
	case []byte:
		x.resp.SetBody(b)
	case string:
		x.resp.SetBodyString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			x.s.log.Error("encode an exit body: "+err.Error(), slog.String("request_id", x.RequestID()))
			x.exitStatus(500)
			data = appendErrorBody(nil, typeJSON, msgUnexpected, x.RequestID())
		}
		x.resp.SetBody(data)
		h.SetContentType(typeJSON)
	}
	for k, v := range headers {
		h.Set(k, v)
	}
}

// Error answers the request with Kong's error body (kong.response.error).
func (x *exchange) Error(status int, message string, headers map[string]string) {
	x.exitStatus(status)
	if message == "" {
		message = defaultMessage(status)
	}
	typ := ""
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Type") {
			typ = mimeType(v)
		}
	}
	if typ == "" {
		typ = responseType(b2s(x.request.Header.Peek("Accept")))
	}
	x.scratch = appendErrorBody(x.scratch[:0], typ, message, b2s(x.rid[:]))
	x.resp.SetBody(x.scratch)
	h := &x.resp.Header
	for k, v := range headers {
		h.Set(k, v)
	}
	h.SetContentType(typ)
}

// Exited reports whether the request was answered by Exit or Error.
func (x *exchange) Exited() bool { return x.exited }

// Set shares a value between the plugins of the request.
func (x *exchange) Set(key string, value any) {
	if x.shared == nil {
		x.shared = map[string]any{}
	}
	x.shared[key] = value
}

// Get returns a shared value.
func (x *exchange) Get(key string) any { return x.shared[key] }

// Span is the request's server span.
func (x *exchange) Span() trace.Span { return x.span }

// Logger logs with the request's id and route.
func (x *exchange) Logger() *slog.Logger {
	if x.logger == nil {
		x.logger = x.s.log.With(slog.String("request_id", x.RequestID()), slog.String("route_id", x.RouteID()))
	}
	return x.logger
}

// StartedAt is when the request was received.
func (x *exchange) StartedAt() time.Time { return x.start }

// Latencies are the request's latencies, known in the log phase.
func (x *exchange) Latencies() pdk.Latencies { return x.latencies }
