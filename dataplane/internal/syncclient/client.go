// Package syncclient is the data plane's side of the session with
// sync-hub (shared/protocol/session.go): it dials the control planes in
// turn over mutual TLS, says Hello with the revision and hash it holds,
// and applies what arrives. Applying validates, applies the delta or
// snapshot to a copy of the configuration, checks the digest, builds the
// runtime, persists it, swaps it in and acknowledges; any failure before
// the swap is answered with a Nack and the data plane keeps serving what it
// had, and nothing that failed is persisted.
//
// A session that ends is retried with capped exponential backoff and
// jitter, at once (to the next control plane) after a going-away close. The
// client pings every PingInterval and right after each apply, and abandons
// a control plane it has heard nothing from for PingTimeout.
package syncclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
)

// Defaults of Options.
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffCap     = 30 * time.Second
	DefaultDialTimeout    = 10 * time.Second
)

// Store persists applied configurations; lkg.Store implements it. Each
// call is one atomic, durable write.
type Store interface {
	// SaveSnapshot replaces what is stored with set, reported as
	// configHash.
	SaveSnapshot(ctx context.Context, set *configset.Set, configHash string) error
	// SaveDelta writes just changes, which take what is stored to
	// revision.
	SaveDelta(ctx context.Context, changes []protocol.Change, revision int64, configHash, digest string) error
}

// Identity is what the data plane says about itself in Hello.
type Identity struct {
	NodeID   string
	Hostname string
	Version  string
	Plugins  []protocol.PluginInfo
	Labels   map[string]string
}

// Applied describes one configuration message handled, for metrics and
// benchmarks.
type Applied struct {
	// Kind is protocol.TypeSnapshot or protocol.TypeDelta.
	Kind protocol.Type
	// Revision is the message's revision; Entities how many entities the
	// data plane holds afterwards.
	Revision int64
	Entities int
	// Received is when the frame was read; Swapped when the new runtime
	// was swapped in (zero when it was not).
	Received, Swapped time.Time
	// Reply is what the data plane answered: Ack, Nack or SnapshotRequest.
	Reply protocol.Type
	// Err is why it was not applied.
	Err error
}

// Options configures a Client.
type Options struct {
	// ControlPlanes are the sync-hub addresses (host:port), tried in turn.
	ControlPlanes []string
	// TLS is the cluster TLS material (client certificate and trust).
	TLS *clustertls.Material
	// Identity is said in Hello.
	Identity Identity
	// MaxPayload is the largest frame accepted, in bytes; 0 means
	// protocol.DefaultMaxSize.
	MaxPayload int64
	// PingInterval, PingTimeout: 0 means the protocol's defaults.
	PingInterval, PingTimeout time.Duration
	// BackoffInitial is the delay after the first round of failures, and
	// BackoffCap the longest; 0 means the defaults (1 s and 30 s).
	BackoffInitial, BackoffCap time.Duration
	// DialTimeout bounds a connection attempt; 0 means 10 s.
	DialTimeout time.Duration
	// Logger receives the client's log lines; nil discards them.
	Logger *slog.Logger
	// Tracer starts the spans of applies; nil means the global provider's.
	Tracer trace.Tracer
	// Observe, when set, is called after every configuration message
	// handled, on the client's goroutine.
	Observe func(Applied)
	// CacheDigest is the digest of what the store holds at start ("" for
	// nothing): a delta is persisted as one only on top of the runtime the
	// store holds, else the whole configuration is written.
	CacheDigest string
}

// Client runs the sessions. Create it with New and call Run once.
type Client struct {
	opts    Options
	holder  *gateway.Holder
	builder *gateway.Builder
	store   Store
	state   *state.State
	log     *slog.Logger
	tracer  trace.Tracer
	codec   protocol.Codec

	// Owned by Run's goroutine.
	cacheDigest       string
	snapshotRequested bool
}

// New returns a client that serves its runtimes through holder, builds
// them with builder, persists them to store and reports to st.
func New(opts Options, holder *gateway.Holder, builder *gateway.Builder, store Store, st *state.State) *Client {
	if opts.PingInterval <= 0 {
		opts.PingInterval = protocol.DefaultPingInterval
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = protocol.DefaultPingTimeout
	}
	if opts.BackoffInitial <= 0 {
		opts.BackoffInitial = DefaultBackoffInitial
	}
	if opts.BackoffCap <= 0 {
		opts.BackoffCap = DefaultBackoffCap
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = protocol.DefaultMaxSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracer := opts.Tracer
	if tracer == nil {
		tracer = otel.Tracer("gatehouse.dev/dataplane/syncclient")
	}
	return &Client{
		opts: opts, holder: holder, builder: builder, store: store, state: st,
		log: log, tracer: tracer, codec: protocol.Codec{MaxSize: opts.MaxPayload},
		cacheDigest: opts.CacheDigest,
	}
}

// errGoingAway marks a session the control plane closed with
// protocol.CloseGoingAway.
var errGoingAway = errors.New("control plane is going away")

// Run keeps a session with a control plane open until ctx is done, then
// closes it and returns nil. It tries the control planes in turn: a failed
// one is followed at once by the next, and a delay (capped exponential
// backoff with jitter) comes after every control plane has failed in a
// row; a going-away close moves to the next at once.
func (c *Client) Run(ctx context.Context) error {
	if len(c.opts.ControlPlanes) == 0 {
		return errors.New("no control plane configured")
	}
	failures := 0 // consecutive sessions that failed
	for i := 0; ; i++ {
		addr := c.opts.ControlPlanes[i%len(c.opts.ControlPlanes)]
		established, err := c.session(ctx, addr)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // shutting down is not an error
		}
		c.state.Disconnected(time.Now(), err.Error())
		if established {
			failures = 0
		}
		if errors.Is(err, errGoingAway) {
			c.log.Info(fmt.Sprintf("control plane %s is going away; connecting to the next one at once", addr))
			continue
		}
		failures++
		var delay time.Duration
		if failures%len(c.opts.ControlPlanes) == 0 {
			delay = c.backoff(failures / len(c.opts.ControlPlanes))
		}
		c.log.Warn(fmt.Sprintf("connection to control plane %s broken: %v (retrying after %.3g seconds)", addr, err, delay.Seconds()),
			slog.String("control_plane", addr))
		if delay > 0 {
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C:
			}
		}
	}
}

// backoff returns the delay after n rounds of failures: BackoffInitial
// doubled n-1 times, capped at BackoffCap, then drawn at random from its
// upper half (equal jitter), so data planes do not reconnect in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.BackoffInitial
	for i := 1; i < n && d < c.opts.BackoffCap; i++ {
		d *= 2
	}
	d = min(d, c.opts.BackoffCap)
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter, not a secret
}
