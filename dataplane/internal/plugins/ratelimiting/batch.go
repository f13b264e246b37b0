package ratelimiting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The realtime counts of concurrent requests go to Redis together: one
// goroutine per connection sends whatever requests are waiting as one
// pipeline of script calls, and while that round trip is out the next
// requests gather for the next one. At low load a request goes alone, as
// before (one round trip); under load the write and read system calls,
// the pool's bookkeeping and Redis's own network work are shared by the
// batch, which is what kept the redis policy's cost per request near the
// proxy's own. Each request is still its own script call, counted and
// answered exactly as alone; an error reply goes to its request only.

// maxBatch bounds the script calls in one pipeline.
const maxBatch = 256

// batchIdle ends a batch loop that had nothing to send for that long;
// the next request starts one again.
const batchIdle = 500 * time.Millisecond

// batchGen is one run of the batch loop: exited is closed when it ends,
// so that a request waiting to hand over its count starts the next run.
type batchGen struct{ exited chan struct{} }

// errConnClosed answers requests that arrive while the plugin's Redis
// connection is closing (a configuration swap or shutdown).
var errConnClosed = errors.New("redis connection closed")

// countReq is one request's realtime count, handed to the batch loop.
type countReq struct {
	keys   []string
	ttls   []any
	counts usage
	n      int
	done   chan error // buffered: the loop never waits for the request
}

var countReqs = sync.Pool{New: func() any { return &countReq{done: make(chan error, 1)} }}

// takeRealtime counts the request in Redis in every configured period,
// through the batch loop, and fills u with the counts before it. It
// returns when the counts arrive, or with ctx's error when the request
// gives up first (its count may still be made).
func (c *redisConn) takeRealtime(ctx context.Context, k bucketKey, now int64, limits []limit, ttls []any, u *usage) error {
	r, _ := countReqs.Get().(*countReq)
	r.keys, r.ttls, r.n = counterKeys(k, now, limits), ttls, len(limits)
	for handed := false; !handed; {
		exited, ok := c.startBatch()
		if !ok {
			countReqs.Put(r)
			return errConnClosed
		}
		select {
		case c.batch <- r:
			handed = true
		case <-exited: // the loop ended idle: start the next
		case <-c.lifeCtx.Done():
			countReqs.Put(r)
			return errConnClosed
		case <-ctx.Done():
			countReqs.Put(r)
			return fmt.Errorf("count in redis: %w", ctx.Err())
		}
	}
	select {
	case err := <-r.done:
		if err == nil {
			*u = r.counts
		}
		r.keys, r.ttls = nil, nil
		countReqs.Put(r)
		return err
	case <-ctx.Done():
		return fmt.Errorf("count in redis: %w", ctx.Err()) // r stays with the loop
	}
}

// startBatch returns the running batch loop's exit channel, starting a
// loop when none runs; false once the connection is stopping. It costs
// one atomic load while a loop runs.
func (c *redisConn) startBatch() (<-chan struct{}, bool) {
	if g := c.gen.Load(); g != nil {
		return g.exited, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, false
	}
	g := c.gen.Load()
	if g == nil {
		g = &batchGen{exited: make(chan struct{})}
		c.gen.Store(g)
		c.loops.Add(1)
		go c.batchLoop(g)
	}
	return g.exited, true
}

// batchLoop sends the waiting requests' counts until the connection
// stops or nothing came for batchIdle. c.batch is unbuffered, so a
// request is either taken by the loop or still free to give up, or to
// start the next loop: none is left behind when a loop ends.
func (c *redisConn) batchLoop(g *batchGen) {
	defer c.loops.Done()
	idle := time.NewTimer(batchIdle)
	defer idle.Stop()
	reqs := make([]*countReq, 0, maxBatch)
	for {
		select {
		case <-c.lifeCtx.Done():
			c.endBatch(g)
			return
		case <-idle.C:
			c.endBatch(g)
			return
		case r := <-c.batch:
			reqs = append(reqs[:0], r)
		}
	more:
		for len(reqs) < maxBatch {
			select {
			case r := <-c.batch:
				reqs = append(reqs, r)
			default:
				break more
			}
		}
		c.sendBatch(reqs)
		clear(reqs)
		idle.Reset(batchIdle)
	}
}

// endBatch retires the loop g: requests see it gone and start another.
func (c *redisConn) endBatch(g *batchGen) {
	c.mu.Lock()
	c.gen.CompareAndSwap(g, nil)
	close(g.exited)
	c.mu.Unlock()
}

// sendBatch runs the script for each request in one pipeline and answers
// each. The calls Redis refused because it no longer holds the script
// (NOSCRIPT, after a restart or SCRIPT FLUSH) did not run: they are sent
// again with the script's text (EVAL), which caches it.
func (c *redisConn) sendBatch(reqs []*countReq) {
	ctx := c.lifeCtx
	cmds := make([]*redis.Cmd, len(reqs))
	// retried are the calls sent again with EVAL; when that second
	// pipeline fails, only they fail: the others have counted.
	var retried []int
	err := c.client.Do(ctx, func(ctx context.Context, rdb *redis.Client) error {
		pending := reqs
		idx := make([]int, len(reqs))
		for i := range idx {
			idx[i] = i
		}
		for attempt := 0; ; attempt++ {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, i := range idx {
					if attempt == 0 {
						cmds[i] = realtimeScript.EvalSha(ctx, p, pending[i].keys, pending[i].ttls...)
					} else {
						cmds[i] = realtimeScript.Eval(ctx, p, pending[i].keys, pending[i].ttls...)
					}
				}
				return nil
			})
			if err != nil && !isReplyError(err) {
				return err // the connection failed: every request fails
			}
			if attempt > 0 {
				return nil
			}
			var refused []int
			for _, i := range idx {
				if e := cmds[i].Err(); e != nil && strings.HasPrefix(e.Error(), "NOSCRIPT") {
					refused = append(refused, i)
				}
			}
			if len(refused) == 0 {
				return nil
			}
			idx, retried = refused, refused
		}
	})
	failed := func(int) bool { return err != nil }
	if err != nil && retried != nil {
		failed = func(i int) bool { return slices.Contains(retried, i) }
	}
	for i, r := range reqs {
		if failed(i) {
			r.done <- answer(r, cmds[i], err)
		} else {
			r.done <- answer(r, cmds[i], nil)
		}
	}
}

// answer fills r's counts from its reply, or says why it cannot.
func answer(r *countReq, cmd *redis.Cmd, batchErr error) error {
	if batchErr != nil {
		return fmt.Errorf("count in redis: %w", batchErr)
	}
	if cmd == nil {
		return errors.New("count in redis: not sent")
	}
	counts, err := cmd.Int64Slice()
	if err != nil {
		return fmt.Errorf("count in redis: %w", err)
	}
	if len(counts) != r.n {
		return fmt.Errorf("count in redis: %d counts for %d periods", len(counts), r.n)
	}
	copy(r.counts[:], counts)
	return nil
}

// isReplyError reports whether err is a Redis error reply (the server
// answered), as opposed to a connection failure.
func isReplyError(err error) bool {
	_, ok := errors.AsType[redis.Error](err)
	return ok
}
