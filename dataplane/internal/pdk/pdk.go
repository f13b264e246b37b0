// Package pdk is the data plane's plugin development kit: what a plugin
// sees of a request and what it may do, independent of the proxy engine
// that serves the request (fasthttp for HTTP/1.1, x/net/http2 for HTTP/2).
// It mirrors Kong's PDK (kong.request, kong.service.request,
// kong.response, kong.client, kong.ctx) closely enough that Kong's plugins
// translate line by line.
//
// A plugin is one package. It provides a Factory, which the runtime
// builder calls once per configured plugin entity to make an Instance; an
// Instance implements the phase interfaces it needs (Accesser,
// HeaderFilterer, BodyFilterer, Logger) and is shared by every request
// that selects it, so it must be safe for concurrent use. The chain
// (package chain) decides which instances run for a request: Kong's scope
// precedence, priority order, lazy resolution once a consumer is known.
//
// Values a Context returns (strings, slices) are copies the plugin may
// keep; a Context itself must not be kept beyond the phase call it was
// given to.
package pdk

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Request is the client's request, as it arrived (after the proxy's
// normalisation of the path). It is read-only: changes to what goes
// upstream go through Upstream.
type Request interface {
	// Method is the request method, upper case.
	Method() string
	// Scheme is "http" or "https": how the client reached the data plane
	// (forwarded values are considered only from trusted addresses).
	Scheme() string
	// Host is the request's host without the port; Port the port the
	// client connected to (or the forwarded port from a trusted peer).
	Host() string
	Port() int
	// Path is the normalised request path, without the query string.
	Path() string
	// RawQuery is the query string without '?'.
	RawQuery() string
	// Query returns the first value of a query argument (a bare "?a"
	// gives "true", as Kong does) and whether it was present;
	// QueryValues every value in order.
	Query(name string) (string, bool)
	QueryValues(name string) []string
	// Header returns the first value of a header (case-insensitive name),
	// "" when absent; HeaderValues every value.
	Header(name string) string
	HeaderValues(name string) []string
	// Headers calls fn for every header in order until it returns false.
	Headers(fn func(name, value string) bool)
	// Body reads and returns the whole request body (at most the proxy's
	// body limit, else an error); the proxy then sends the buffered body
	// upstream. Plugins read the body only when their configuration
	// requires it: it ends request streaming.
	Body() ([]byte, error)
	// HTTPVersion is "1.0", "1.1" or "2".
	HTTPVersion() string
}

// Upstream is the request that goes to the service. Changes apply to it,
// never to what Request reports.
type Upstream interface {
	SetHeader(name, value string)
	AddHeader(name, value string)
	DelHeader(name string)
	// Header returns the first value of a header of the upstream request
	// as it stands now (after earlier plugins' changes).
	Header(name string) string
	// SetPath replaces the upstream path (not escaped; the proxy escapes).
	SetPath(path string)
	Path() string
	// SetRawQuery replaces the upstream query string (without '?').
	SetRawQuery(query string)
	RawQuery() string
	SetMethod(method string)
	// SetBody replaces the upstream body; Content-Length follows.
	SetBody(body []byte)
}

// Response is the response that goes to the client: the upstream's, or
// one a plugin produced with Exit. Its headers may be changed in the
// header-filter phase; its status only through Exit.
type Response interface {
	Status() int
	Header(name string) string
	HeaderValues(name string) []string
	SetHeader(name, value string)
	AddHeader(name, value string)
	DelHeader(name string)
	// FromUpstream reports whether the response came from the service
	// (false for a plugin's Exit or a proxy error).
	FromUpstream() bool
}

// Consumer is an authenticated consumer.
type Consumer struct {
	ID       string
	Username string // "" when unset
	CustomID string // "" when unset
	// Groups are the names of the consumer groups it belongs to, sorted.
	Groups []string
}

// Credential is the credential a consumer authenticated with.
type Credential struct {
	ID         string
	ConsumerID string
	// Type is the credential's entity type ("keyauth_credentials").
	Type string
}

// Context is one request as a plugin sees it in one phase.
type Context interface {
	// Context is the request's context carrying its trace span. It is
	// cancelled when the data plane shuts down and, for HTTP/2, when the
	// client resets the stream; an HTTP/1.1 client that disconnects is
	// noticed when the response is written (fasthttp does not watch the
	// connection while a handler runs).
	Context() context.Context
	Request() Request
	Upstream() Upstream
	// Response is nil before the header-filter phase.
	Response() Response

	// ClientIP is the client's address as Kong's real-IP settings give it
	// (trusted IPs, real-IP header, recursive); RemoteIP the TCP peer.
	ClientIP() string
	RemoteIP() string
	// RequestID is the request id the proxy set (X-Kong-Request-Id).
	RequestID() string
	// RouteID/ServiceID identify what the router matched ("" when none);
	// RouteName/ServiceName their names ("" when unset).
	RouteID() string
	RouteName() string
	ServiceID() string
	ServiceName() string
	// Captures gives the route's regex captures: numbered ("1") or named.
	Capture(name string) (string, bool)
	// URICaptures gives them all, as kong.request.get_uri_captures: by
	// number (0 is the whole match, a named group has a number too) and
	// by name; both nil when the route matched no regex group.
	URICaptures() (unnamed map[int]string, named map[string]string)

	// Consumer and Credential are who authenticated, or nil.
	Consumer() *Consumer
	Credential() *Credential
	// Authenticate records the consumer and credential (credential nil
	// for an anonymous consumer). Lower-priority plugins then resolve
	// their consumer-scoped configurations for it.
	Authenticate(consumer *Consumer, credential *Credential)

	// Exit ends the request here (Kong's kong.response.exit): the service
	// is not called, the remaining access handlers are skipped, and the
	// header-filter and log phases still run. body may be nil, a []byte or
	// string sent as is, or any other value encoded as JSON;
	// headers are added to the response.
	Exit(status int, body any, headers map[string]string)
	// Error ends the request with Kong's error body (kong.response.error):
	// {"message": message, "request_id": ...} in JSON, or the HTML, XML
	// or text form the client's Accept header asks for.
	Error(status int, message string, headers map[string]string)
	// Exited reports whether Exit or Error was called.
	Exited() bool

	// Set and Get share values between the plugins of one request
	// (kong.ctx.shared).
	Set(key string, value any)
	Get(key string) any

	// Span is the plugin's span for this phase (a child of the request's
	// server span); it may be a no-op span when the request is not sampled.
	Span() trace.Span
	// Logger logs with the request's id and route attached.
	Logger() *slog.Logger
	// StartedAt is when the proxy received the request.
	StartedAt() time.Time
	// Connection describes the client connection the request came on.
	Connection() Connection
	// Latencies are known in the log phase: time spent before the
	// upstream call (proxy), waiting for the upstream (upstream), and in
	// total (request); zero before.
	Latencies() Latencies
}

// Connection is what nginx's variables tell of a client connection:
// the address and port it was accepted on ($server_addr, $server_port),
// its serial number in the process ($connection) and how many requests
// it has carried, this one included ($connection_requests).
type Connection struct {
	ServerAddr string
	ServerPort int
	Serial     uint64
	Requests   uint64
}

// Latencies of a request, for the log phase.
type Latencies struct {
	Proxy, Upstream, Request time.Duration
}

// Instance is one configured plugin. It implements any of the phase
// interfaces below; a phase it does not implement is skipped.
type Instance any

// Accesser runs in the access phase, in priority order, after routing
// and before the upstream call. It may call Exit or Error to answer the
// request itself. A returned error answers 500 {"message":"An unexpected
// error occurred"} and is logged.
type Accesser interface {
	Access(ctx Context) error
}

// HeaderFilterer runs on the response's status and headers before they
// are sent, for every instance that ran (or was selected for) the access
// phase, also after an Exit.
type HeaderFilterer interface {
	HeaderFilter(ctx Context)
}

// BodyFilterer transforms the whole response body. The proxy buffers the
// response (up to its limit) when a selected instance implements it, and
// only then; it decides with WantsBody whether this request needs it.
type BodyFilterer interface {
	WantsBody(ctx Context) bool
	BodyFilter(ctx Context, body []byte) []byte
}

// Logger runs after the response was sent (or the client went away).
type Logger interface {
	Log(ctx Context)
}

// Factory makes instances of one plugin.
type Factory interface {
	// Name is the plugin's name ("key-auth"); it must be a plugin of
	// shared/plugin, whose schema validated the configuration.
	Name() string
	// New makes an instance for one plugin entity. An error refuses the
	// configuration (the data plane keeps serving the previous one).
	New(cfg Config) (Instance, error)
}

// Config is what a Factory gets for one plugin entity.
type Config struct {
	// ID and Name of the plugin entity; InstanceName is its instance_name.
	ID, Name, InstanceName string
	// Config is the entity's config record (defaults filled, validated).
	Config map[string]any
	// Scope: the ids the entity is attached to ("" for none).
	RouteID, ServiceID, ConsumerID, ConsumerGroupID string
	// Env gives access to the rest of the configuration and to shared
	// resources.
	Env Env
}

// Live is a value built per runtime; see Env.Live.
type Live interface {
	// Get returns the value of the runtime the instance serves now. It
	// is safe for concurrent use and does not block once the value is
	// built.
	Get() any
}

// Env is what instances may use beyond their own configuration. It is
// built with each runtime; its lookups see that runtime's configuration.
type Env interface {
	// Entity returns an entity of the runtime's configuration.
	Entity(typ, id string) (map[string]any, bool)
	// Each calls fn for every entity of a type.
	Each(typ string, fn func(e map[string]any))
	// Index returns a value built once per runtime and shared by every
	// instance that asks with the same key (a credential lookup table):
	// build is called at most once per runtime per key.
	Index(key string, build func() any) any
	// Live is Index for a value an instance reads per request, not when
	// it is made: the handle's Get returns the value of the runtime the
	// instance serves now, built once per runtime with the env build is
	// given (before that runtime takes traffic) and shared by every
	// instance with the same key. Unlike with Index, what build reads
	// does not tie the instance to it: an instance holding a Live is kept
	// when only those entities change, and its value is built again.
	// Call it from the Factory's New only.
	Live(key string, build func(env Env) any) Live
	// Shared returns a value that outlives runtime swaps (a Redis client
	// pool, counters), created by create the first time key is asked for.
	Shared(key string, create func() any) any
	// Consumer returns a consumer by id or by username, with its groups.
	Consumer(idOrUsername string) (*Consumer, bool)
	// Registerer is the data plane's one Prometheus registry (served on
	// the status listener), for plugins that add metrics.
	Registerer() prometheus.Registerer
	// Logger is the data plane's logger.
	Logger() *slog.Logger
	// Now is the clock (tests replace it).
	Now() time.Time
}
