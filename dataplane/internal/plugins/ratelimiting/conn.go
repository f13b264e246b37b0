package ratelimiting

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse.dev/dataplane/internal/redispool"
)

// idleFlushes is how many flushes in a row with nothing to push end the
// flusher goroutine; the next counted request starts it again.
const idleFlushes = 10

// redisConn is one opening of a backend: the pooled client, the sync-mode
// counters and the goroutine that flushes them. The flusher runs only
// while sync-mode instances count requests: it starts with the first
// request counted, and ends after idleFlushes empty flushes or when the
// connection stops (after a last flush).
type redisConn struct {
	client *redispool.Client
	sync   *syncStore
	logs   logLimiter
	logger *slog.Logger

	lifeCtx context.Context // cancelled by stop
	cancel  context.CancelFunc
	wake    chan struct{} // the interval changed
	done    chan struct{} // closed when the client is closed

	batch chan *countReq           // realtime counts to send (batch.go); unbuffered
	gen   atomic.Pointer[batchGen] // the running batch loop's, nil when none runs
	loops sync.WaitGroup           // batch loops running

	running  atomic.Bool // a flusher goroutine runs
	mu       sync.Mutex
	interval time.Duration // flush interval; 0 while no sync-mode user
	stopped  bool
}

func openConn(s redispool.Settings, logger *slog.Logger) *redisConn {
	lifeCtx, cancel := context.WithCancel(context.Background())
	c := &redisConn{
		client:  redispool.Open(s),
		logger:  logger,
		lifeCtx: lifeCtx,
		cancel:  cancel,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),

		batch: make(chan *countReq),
	}
	c.sync = newSyncStore(c.client)
	return c
}

func (c *redisConn) setInterval(d time.Duration) {
	c.mu.Lock()
	changed := c.interval != d
	c.interval = d
	c.mu.Unlock()
	if changed {
		select {
		case c.wake <- struct{}{}:
		default: // a wake-up is pending and will read the new interval
		}
	}
}

// kick starts the flusher unless it runs; sync-mode requests call it after
// counting. It costs one atomic load while the flusher runs.
func (c *redisConn) kick() {
	if c.running.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running.Load() || c.stopped || c.interval <= 0 {
		return
	}
	c.running.Store(true)
	go c.run()
}

// stop closes the connection: a running flusher flushes once more and
// closes the client; otherwise the client is closed at once. done is
// closed when the client is.
func (c *redisConn) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	running := c.running.Load()
	c.mu.Unlock()
	c.cancel()
	if !running {
		c.closeClient()
	}
}

func (c *redisConn) closeClient() {
	c.loops.Wait() // stopping ended them, or a batch is finishing
	if err := c.client.Close(); err != nil {
		c.logger.Warn("rate-limiting: close redis", "redis", c.client.Settings().String(), "error", err)
	}
	close(c.done)
}

// run flushes the sync-mode counts every interval until the connection
// stops (then it flushes once more and closes the client) or nothing was
// counted for idleFlushes intervals.
func (c *redisConn) run() {
	c.mu.Lock()
	d := c.interval
	c.mu.Unlock()
	if d <= 0 {
		d = time.Second
	}
	ticker := time.NewTicker(d)
	defer ticker.Stop()
	idle := 0
	for {
		select {
		case <-c.lifeCtx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(c.lifeCtx), c.client.Settings().Timeout)
			c.flush(last)
			cancel()
			c.closeClient()
			return
		case <-c.wake:
			c.mu.Lock()
			d := c.interval
			c.mu.Unlock()
			if d > 0 {
				ticker.Reset(d)
				continue
			}
			// No sync-mode user is left: push what they counted.
			c.flush(c.lifeCtx)
			if c.exitIfIdle() {
				return
			}
		case <-ticker.C:
			if c.flush(c.lifeCtx) {
				idle = 0
			} else {
				idle++
			}
			if idle >= idleFlushes && c.exitIfIdle() {
				return
			}
		}
	}
}

// exitIfIdle ends the flusher unless a request counted since the last
// flush or the connection is stopping (the flusher then closes it).
func (c *redisConn) exitIfIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.sync.active.Load() {
		return false
	}
	c.running.Store(false)
	return true
}

// flush pushes the sync-mode counts, and reports whether there were any.
func (c *redisConn) flush(ctx context.Context) bool {
	pushed, err := c.sync.flush(ctx)
	if err != nil {
		c.logFailure(c.logger, "rate-limiting: sync counters to redis", err)
	}
	return pushed > 0
}
