// Package redispool opens the Redis clients data-plane plugins use: one
// pooled go-redis client per set of connection settings (Kong's shared
// redis record: host, port, database, username, password, ssl, ssl_verify,
// server_name, timeout), with AUTH and SELECT on every new connection, TLS
// when asked, and fast failure while the server is unreachable.
//
// Redis is on the request path, so a lost server must not make requests
// wait: a Client runs every operation through a small circuit breaker.
// After a connection-level failure (a refused or reset connection, a
// timeout) operations fail at once with ErrUnavailable, except one probe
// at a time after a backoff (100 ms doubling to 1 s); the first probe that
// succeeds closes the breaker, so the client recovers on its own when the
// server returns. Replies that are Redis errors (WRONGTYPE, NOSCRIPT) mean
// the server is reachable and do not open the breaker.
//
// Commands are never retried by go-redis (a retried INCR would count
// twice); the configured timeout bounds dialling, each read and write,
// and waiting for a pooled connection.
package redispool

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned (wrapped, with the last connection error) by
// Do while the breaker is open: the server was unreachable moments ago and
// the operation was not attempted.
var ErrUnavailable = errors.New("redis unavailable")

// Backoff bounds of the breaker: the first probe after a failure waits
// minBackoff, each failed probe doubles the wait up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = time.Second
)

// Settings are the connection settings of Kong's redis record. Two equal
// Settings values may share one Client.
type Settings struct {
	Host     string
	Port     int
	Database int
	// Username and Password authenticate new connections (AUTH); Username
	// is used only with a Password, as Kong does.
	Username string
	Password string
	// SSL turns on TLS; SSLVerify checks the server's certificate against
	// the system roots; ServerName is the SNI and verified name (Host when
	// empty).
	SSL        bool
	SSLVerify  bool
	ServerName string
	// Timeout bounds connecting, each read and write, and waiting for a
	// pooled connection (Kong's redis.timeout, in milliseconds there).
	Timeout time.Duration
}

// Key is a digest of every setting, for sharing clients between users of
// equal settings; it reveals nothing of the password.
func (s Settings) Key() string {
	h := sha256.New()
	for _, v := range []string{
		s.Host, strconv.Itoa(s.Port), strconv.Itoa(s.Database), s.Username, s.Password,
		strconv.FormatBool(s.SSL), strconv.FormatBool(s.SSLVerify), s.ServerName, s.Timeout.String(),
	} {
		h.Write([]byte(strconv.Itoa(len(v))))
		h.Write([]byte{':'})
		h.Write([]byte(v))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// String names the server for logs: host:port/database, never the
// credentials.
func (s Settings) String() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + "/" + strconv.Itoa(s.Database)
}

// options are the go-redis options for s.
func (s Settings) options() *redis.Options {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	opt := &redis.Options{
		Addr: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		DB:   s.Database,
		// RESP2 and no CLIENT SETINFO: no extra round trips on connect,
		// and any Redis version Kong supports works.
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialTimeout:     timeout,
		DialerRetries:   1,
		ReadTimeout:     timeout,
		WriteTimeout:    timeout,
		PoolTimeout:     timeout,
		// Kong keeps idle connections for 10 s.
		ConnMaxIdleTime: 10 * time.Second,
	}
	if s.Password != "" {
		opt.Username = s.Username
		opt.Password = s.Password
	}
	if s.SSL {
		name := s.ServerName
		if name == "" {
			name = s.Host
		}
		opt.TLSConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			ServerName: name,
			// Kong's ssl_verify=false (its default) accepts any certificate.
			InsecureSkipVerify: !s.SSLVerify, //nolint:gosec // G402: the operator asked for no verification (ssl_verify=false)
		}
	}
	return opt
}

// Client is a pooled Redis client behind a circuit breaker. It is safe
// for concurrent use.
type Client struct {
	settings Settings
	rdb      *redis.Client
	br       breaker
	trips    atomic.Uint64
}

// Open returns a client for s. It does not connect: connections are made
// on first use.
func Open(s Settings) *Client {
	quietOnce.Do(func() { redis.SetLogger(debugLogger{}) })
	c := &Client{settings: s, rdb: redis.NewClient(s.options())}
	c.rdb.AddHook(tripCounter{&c.trips})
	return c
}

// Settings are the settings the client was opened with.
func (c *Client) Settings() Settings { return c.settings }

// Do runs fn with the go-redis client unless the breaker is open, and
// reports fn's outcome to the breaker. It returns fn's error, or an error
// wrapping ErrUnavailable when fn was not run. A ctx cancelled by the
// caller does not count as a server failure.
func (c *Client) Do(ctx context.Context, fn func(ctx context.Context, rdb *redis.Client) error) error {
	probe, err := c.br.allow(time.Now())
	if err != nil {
		return err
	}
	err = fn(ctx, c.rdb)
	if err != nil && ctx.Err() != nil {
		// The caller gave up: this says nothing about the server.
		c.br.abandon(probe)
		return err
	}
	c.br.report(probe, serverFailure(err), time.Now())
	return err
}

// Down reports whether the breaker is open: the last operation could not
// reach the server and none has succeeded since.
func (c *Client) Down() bool { return c.br.down.Load() }

// RoundTrips counts the round trips made to the server: each command, and
// each pipeline as one (connection set-up not counted).
func (c *Client) RoundTrips() uint64 { return c.trips.Load() }

// Close closes the pool. Operations after Close fail.
func (c *Client) Close() error {
	if err := c.rdb.Close(); err != nil {
		return fmt.Errorf("close redis %s: %w", c.settings, err)
	}
	return nil
}

// serverFailure returns err when it says the server could not be used
// (connection errors, timeouts), nil when the server answered (a reply
// error or redis.Nil).
func serverFailure(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	if _, reply := errors.AsType[redis.Error](err); reply {
		return nil
	}
	return err
}

// breaker is the Client's circuit breaker. While closed (down false) it
// costs one atomic load per operation.
type breaker struct {
	down    atomic.Bool
	mu      sync.Mutex
	probing bool
	retryAt time.Time
	backoff time.Duration
	lastErr error
}

// allow reports whether an operation may run now, and whether it is the
// breaker's probe.
func (b *breaker) allow(now time.Time) (probe bool, err error) {
	if !b.down.Load() {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down.Load() {
		return false, nil
	}
	if b.probing || now.Before(b.retryAt) {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, b.lastErr)
	}
	b.probing = true
	return true, nil
}

// report records an operation's outcome: failure (nil for a success).
func (b *breaker) report(probe bool, failure error, now time.Time) {
	if failure == nil {
		if !probe && !b.down.Load() {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if probe || b.down.Load() {
			b.down.Store(false)
			b.probing = false
			b.backoff = 0
			b.lastErr = nil
		}
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastErr = failure
	switch {
	case !b.down.Load():
		b.backoff = minBackoff
	case probe:
		b.backoff = min(2*b.backoff, maxBackoff)
	default:
		// A failure of an operation started before the breaker opened:
		// the current backoff stands.
		return
	}
	if probe {
		b.probing = false
	}
	b.retryAt = now.Add(b.backoff)
	b.down.Store(true)
}

// abandon ends an operation whose outcome is unknown: a probe's turn
// passes to the next operation.
func (b *breaker) abandon(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// quietOnce routes go-redis's own log lines (a failed dial, printed to
// stderr by default) to the default slog logger at debug level: users of
// Client log failures themselves, rate-limited. go-redis's logger is
// process-wide; it is set before the first client exists.
var quietOnce sync.Once

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// tripCounter is a go-redis hook counting round trips, but not the
// commands that set up a new connection.
type tripCounter struct{ n *atomic.Uint64 }

// setUp are the commands go-redis sends on a new connection.
var setUp = map[string]bool{"hello": true, "auth": true, "select": true, "client": true}

func (t tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !setUp[cmd.Name()] {
			t.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (t tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.n.Add(1)
		return next(ctx, cmds)
	}
}
