package ratelimiting

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse.dev/dataplane/internal/redispool"
)

// realtimeScript counts a request in every configured period in one round
// trip: Kong's per-period script (INCR, EXPIRE when the counter is new,
// return the count before this request) applied to all keys. ARGV[i] is
// KEYS[i]'s window length. Every request is counted, rejected ones too, as
// in Kong.
var realtimeScript = redis.NewScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call("INCR", key)
  if n == 1 then
    redis.call("EXPIRE", key, ARGV[i])
  end
  out[i] = n - 1
end
return out
`)

// backend is the Redis side of the plugin for one set of Redis settings
// on one data plane, kept in pdk.Env.Shared so configuration swaps keep
// its connections and counters. Instances acquire it when they are made
// and release it when they are garbage (runtime.AddCleanup): the pooled
// client and the sync flusher run while at least one instance uses them,
// and are closed, after a last flush, when none does. A later acquire
// opens them again. It is safe for concurrent use.
type backend struct {
	settings redispool.Settings
	logger   *slog.Logger

	mu    sync.Mutex
	conn  *redisConn // nil while closed
	refs  int
	rates map[time.Duration]int // sync_rate > 0 of the instances holding refs
}

func newBackend(s redispool.Settings, logger *slog.Logger) *backend {
	return &backend{settings: s, logger: logger, rates: map[time.Duration]int{}}
}

// acquire returns the open connection, opening it if needed, for an
// instance with the given sync rate (0 for realtime).
func (b *backend) acquire(rate time.Duration) *redisConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == nil {
		b.conn = openConn(b.settings, b.logger)
	}
	b.refs++
	if rate > 0 {
		b.rates[rate]++
		b.conn.setInterval(b.minRate())
	}
	return b.conn
}

// release gives back what acquire returned. The connection stops (in the
// background, after a last flush) when its last user releases it.
func (b *backend) release(c *redisConn, rate time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != c {
		return // closed already
	}
	b.refs--
	if rate > 0 {
		if b.rates[rate]--; b.rates[rate] <= 0 {
			delete(b.rates, rate)
		}
		c.setInterval(b.minRate())
	}
	if b.refs <= 0 {
		b.conn = nil
		c.stop()
	}
}

func (b *backend) minRate() time.Duration {
	var m time.Duration
	for r := range b.rates {
		if m == 0 || r < m {
			m = r
		}
	}
	return m
}

// Close flushes pending sync counts and closes the client now, whoever
// still holds it (their requests then fail as if Redis were down). It is
// for the data plane's shutdown and for tests.
func (b *backend) Close() error {
	b.mu.Lock()
	c := b.conn
	b.conn, b.refs = nil, 0
	clear(b.rates)
	b.mu.Unlock()
	if c == nil {
		return nil
	}
	c.stop()
	<-c.done
	return nil
}

// logFailure logs a Redis failure at most once per logEvery, saying how
// many it left out.
func (c *redisConn) logFailure(logger *slog.Logger, msg string, err error) {
	if n, ok := c.logs.allow(time.Now()); ok {
		logger.Error(msg, "redis", c.client.Settings().String(), "error", err, "suppressed", n)
	}
}

// counterKeys returns Kong's counter keys for k at now, one per limit:
// ratelimit:<route_id>:<service_id>:<identifier>:<window_start_ms>:<period>,
// built in one allocation.
func counterKeys(k bucketKey, now int64, limits []limit) []string {
	size := 0
	for _, l := range limits {
		size += len(k.scope) + len(k.id) + 1 + 20 + 1 + len(l.p.String())
	}
	buf := make([]byte, 0, size)
	ends := [numPeriods]int{}
	for i, l := range limits {
		buf = appendKey(buf, k, l.p, l.p.start(now))
		ends[i] = len(buf)
	}
	all := string(buf)
	keys := make([]string, len(limits))
	from := 0
	for i := range limits {
		keys[i] = all[from:ends[i]]
		from = ends[i]
	}
	return keys
}

func appendKey(buf []byte, k bucketKey, p period, window int64) []byte {
	buf = append(buf, k.scope...)
	buf = append(buf, k.id...)
	buf = append(buf, ':')
	buf = strconv.AppendInt(buf, window*1000, 10)
	buf = append(buf, ':')
	return append(buf, p.String()...)
}

// logEvery bounds how often Redis failures are logged per server.
const logEvery = 10 * time.Second

// logLimiter lets one log line through per logEvery.
type logLimiter struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether to log now, and how many were held back since the
// last line.
func (l *logLimiter) allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.suppressed = 0
	l.next = now.Add(logEvery)
	return n, true
}
