// Package pdktest provides fakes of the plugin development kit for plugin
// unit tests: a Context that builds one request (method, URL, headers,
// body, client address, route and service) and records what plugins do
// to it (upstream changes, Exit and Error calls with the bodies Kong
// would send, response headers), and an Env over a configuration built
// in the test.
//
//	env := pdktest.NewEnv().AddConsumer(id, "alice", "")
//	inst, err := keyauth.Factory{}.New(pdktest.NewConfig(t, env, map[string]any{"name": "key-auth"}))
//	ctx := pdktest.NewContext("GET", "/echo?apikey=secret").WithHeader("Accept", "application/json")
//	err = inst.(pdk.Accesser).Access(ctx)
//	if e := ctx.ExitCall(); e != nil { ... e.Status, e.Body, e.Header ... }
//
// A Context is for one goroutine, as a request is; an Env is safe for
// concurrent use.
package pdktest

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/pdk"
)

// DefaultRequestID is the request id of a Context unless WithRequestID
// sets another.
const DefaultRequestID = "5d3f8c0e7a9b4c1d2e3f405162738495"

// Context is a fake pdk.Context for one request.
type Context struct {
	ctx        context.Context
	req        *Request
	up         *Upstream
	resp       *Response
	clientIP   string
	remoteIP   string
	requestID  string
	routeID    string
	routeName  string
	serviceID  string
	service    string
	captures   map[string]string
	consumer   *pdk.Consumer
	credential *pdk.Credential
	exits      []*Exit
	shared     map[string]any
	span       trace.Span
	logger     *slog.Logger
	startedAt  time.Time
	connection pdk.Connection
	latencies  pdk.Latencies
}

var _ pdk.Context = (*Context)(nil)

// NewContext returns a request for method and rawURL: an absolute URL
// ("https://api.example.com:8443/v1?a=b") or a path with its query
// ("/v1?a=b", on http://localhost). It comes from 127.0.0.1, has no route
// and no body. NewContext panics on an invalid URL.
func NewContext(method, rawURL string) *Context {
	req := newRequest(method, rawURL)
	return &Context{
		ctx: context.Background(), req: req, clientIP: "127.0.0.1", remoteIP: "127.0.0.1",
		requestID: DefaultRequestID, shared: map[string]any{},
		span:   trace.SpanFromContext(context.Background()),
		logger: slog.New(slog.DiscardHandler), startedAt: time.Unix(1700000000, 0),
		captures: map[string]string{},
	}
}

// The With methods configure the request before a plugin sees it, and
// return c for chaining.

// WithHeader adds a request header (call it again for more values).
func (c *Context) WithHeader(name, value string) *Context {
	c.req.addHeader(name, value)
	c.up = nil
	return c
}

// WithBody sets the request body.
func (c *Context) WithBody(body []byte) *Context {
	c.req.body = append([]byte(nil), body...)
	c.up = nil
	return c
}

// WithBodyError makes Body fail with err (a body above the proxy's limit).
func (c *Context) WithBodyError(err error) *Context {
	c.req.bodyErr = err
	return c
}

// WithHTTPVersion sets the HTTP version ("1.0", "1.1" or "2").
func (c *Context) WithHTTPVersion(v string) *Context {
	c.req.httpVersion = v
	return c
}

// WithClientIP sets the client address (ClientIP and RemoteIP).
func (c *Context) WithClientIP(ip string) *Context {
	c.clientIP, c.remoteIP = ip, ip
	return c
}

// WithRemoteIP sets the TCP peer's address alone (a trusted proxy in front
// of the client).
func (c *Context) WithRemoteIP(ip string) *Context {
	c.remoteIP = ip
	return c
}

// WithRequestID sets the request id.
func (c *Context) WithRequestID(id string) *Context {
	c.requestID = id
	return c
}

// WithRoute sets the matched route's id and name.
func (c *Context) WithRoute(id, name string) *Context {
	c.routeID, c.routeName = id, name
	return c
}

// WithService sets the matched service's id and name.
func (c *Context) WithService(id, name string) *Context {
	c.serviceID, c.service = id, name
	return c
}

// WithConnection sets what Connection returns.
func (c *Context) WithConnection(conn pdk.Connection) *Context {
	c.connection = conn
	return c
}

// WithCapture sets a regex capture of the route's path.
func (c *Context) WithCapture(name, value string) *Context {
	c.captures[name] = value
	return c
}

// WithConsumer authenticates the request, as an earlier auth plugin would.
func (c *Context) WithConsumer(consumer *pdk.Consumer, credential *pdk.Credential) *Context {
	c.Authenticate(consumer, credential)
	return c
}

// WithContext sets the request's context.Context (and its span).
func (c *Context) WithContext(ctx context.Context) *Context {
	c.ctx, c.span = ctx, trace.SpanFromContext(ctx)
	return c
}

// WithLogger sets the logger plugins get.
func (c *Context) WithLogger(l *slog.Logger) *Context {
	c.logger = l
	return c
}

// WithStartedAt sets when the request was received.
func (c *Context) WithStartedAt(t time.Time) *Context {
	c.startedAt = t
	return c
}

// WithLatencies sets the latencies the log phase reports.
func (c *Context) WithLatencies(l pdk.Latencies) *Context {
	c.latencies = l
	return c
}

// WithResponse sets the upstream's response, for header-filter, body-filter
// and log tests. header may be nil.
func (c *Context) WithResponse(status int, header http.Header, body []byte) *Context {
	h := http.Header{}
	for k, vs := range header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	c.resp = &Response{status: status, header: h, body: append([]byte(nil), body...), fromUpstream: true}
	return c
}

// Context is the request's context.Context.
func (c *Context) Context() context.Context { return c.ctx }

// Request is the client's request.
func (c *Context) Request() pdk.Request { return c.req }

// Upstream is the request that would go to the service.
func (c *Context) Upstream() pdk.Upstream { return c.UpstreamRequest() }

// UpstreamRequest is Upstream as the fake, for assertions.
func (c *Context) UpstreamRequest() *Upstream {
	if c.up == nil {
		c.up = newUpstream(c.req)
	}
	return c.up
}

// Response is nil until WithResponse, Exit or Error gave one.
func (c *Context) Response() pdk.Response {
	if c.resp == nil {
		return nil
	}
	return c.resp
}

// ClientResponse is Response as the fake (nil when none), for assertions.
func (c *Context) ClientResponse() *Response { return c.resp }

// ClientIP is the client's address.
func (c *Context) ClientIP() string { return c.clientIP }

// RemoteIP is the TCP peer's address.
func (c *Context) RemoteIP() string { return c.remoteIP }

// RequestID is the request id.
func (c *Context) RequestID() string { return c.requestID }

// RouteID is the matched route's id.
func (c *Context) RouteID() string { return c.routeID }

// RouteName is the matched route's name.
func (c *Context) RouteName() string { return c.routeName }

// ServiceID is the matched service's id.
func (c *Context) ServiceID() string { return c.serviceID }

// ServiceName is the matched service's name.
func (c *Context) ServiceName() string { return c.service }

// Capture returns a regex capture WithCapture set.
func (c *Context) Capture(name string) (string, bool) {
	v, ok := c.captures[name]
	return v, ok
}

// URICaptures returns the captures WithCapture set: a numeric name by
// number, any other by name.
func (c *Context) URICaptures() (unnamed map[int]string, named map[string]string) {
	if len(c.captures) == 0 {
		return nil, nil
	}
	unnamed, named = map[int]string{}, map[string]string{}
	for k, v := range c.captures {
		if n, err := strconv.Atoi(k); err == nil {
			unnamed[n] = v
		} else {
			named[k] = v
		}
	}
	return unnamed, named
}

// Consumer is the authenticated consumer, or nil.
func (c *Context) Consumer() *pdk.Consumer { return c.consumer }

// Credential is the credential the consumer authenticated with, or nil.
func (c *Context) Credential() *pdk.Credential { return c.credential }

// Authenticate records the consumer and credential.
func (c *Context) Authenticate(consumer *pdk.Consumer, credential *pdk.Credential) {
	c.consumer, c.credential = consumer, credential
}

// Exit records the response a plugin answered with, which becomes
// Response.
func (c *Context) Exit(status int, body any, headers map[string]string) {
	c.record(newExit(status, body, headers))
}

// Error records Kong's error response, in the form the request's Accept
// header asks for, which becomes Response.
func (c *Context) Error(status int, message string, headers map[string]string) {
	c.record(newError(status, message, headers, c.req.Header("Accept"), c.requestID))
}

func (c *Context) record(e *Exit) {
	c.exits = append(c.exits, e)
	c.resp = &Response{status: e.Status, header: e.Header.Clone(), body: e.Body}
}

// Exited reports whether Exit or Error was called.
func (c *Context) Exited() bool { return len(c.exits) > 0 }

// ExitCall is the last Exit or Error call, or nil.
func (c *Context) ExitCall() *Exit {
	if len(c.exits) == 0 {
		return nil
	}
	return c.exits[len(c.exits)-1]
}

// ExitCount is how many times Exit or Error was called.
func (c *Context) ExitCount() int { return len(c.exits) }

// Set stores a value shared by the request's plugins.
func (c *Context) Set(key string, value any) { c.shared[key] = value }

// Get returns a value Set stored, or nil.
func (c *Context) Get(key string) any { return c.shared[key] }

// Shared returns a copy of every value Set stored.
func (c *Context) Shared() map[string]any { return maps.Clone(c.shared) }

// Span is the span of the request's context (a no-op span by default).
func (c *Context) Span() trace.Span { return c.span }

// Logger is the logger WithLogger set (discarding by default).
func (c *Context) Logger() *slog.Logger { return c.logger }

// StartedAt is when the request was received.
func (c *Context) StartedAt() time.Time { return c.startedAt }

// Connection is the connection WithConnection set.
func (c *Context) Connection() pdk.Connection { return c.connection }

// Latencies are the latencies WithLatencies set.
func (c *Context) Latencies() pdk.Latencies { return c.latencies }
