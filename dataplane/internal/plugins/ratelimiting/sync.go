package ratelimiting

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"gatehouse.dev/dataplane/internal/redispool"
)

// syncStore is the redis policy's counters in sync_rate mode, for one
// Redis server on one data plane. Requests are decided and counted
// locally against the cluster totals last read from Redis plus what this
// data plane counted since; the flusher (redisConn.run) pushes the local
// counts with INCRBY and EXPIRE in one pipeline per interval and reads the
// new totals back from the INCRBY replies. A counter this data plane has
// not seen yet in its window (and any counter while Redis is down) is read
// with one MGET before the decision, so a new window or a restarted data
// plane starts from the cluster's count. It is safe for concurrent use.
type syncStore struct {
	client *redispool.Client
	// clock is the latest request time seen (Unix seconds): the flusher
	// drops counters by the plugin's clock, which tests move.
	clock atomic.Int64
	// active is set when a request was counted or a push failed since the
	// last flush began.
	active atomic.Bool
	seed   maphash.Seed
	shards [numShards]syncShard
}

type syncShard struct {
	mu      sync.Mutex
	buckets map[bucketKey]*syncBucket
	// retired are counts of windows that ended before they were flushed.
	retired []flushItem
}

type syncBucket struct {
	slots [numPeriods]syncSlot
}

// syncSlot is one period's counter: the count is base + inflight + delta.
type syncSlot struct {
	window int64  // start of the window, Unix seconds; 0: unused
	key    string // the Redis key
	known  bool   // base was read from Redis in this window
	// base is the cluster total last read; delta what this data plane
	// counted since the last flush; inflight what the running flush is
	// pushing.
	base, inflight, delta int64
	// touched says a request used the slot since the last flush, which
	// then refreshes base.
	touched bool
}

// flushItem is one counter a flush pushes.
type flushItem struct {
	shard  *syncShard
	bucket *syncBucket
	p      period
	window int64
	key    string
	delta  int64
}

func newSyncStore(client *redispool.Client) *syncStore {
	s := &syncStore{client: client, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].buckets = map[bucketKey]*syncBucket{}
	}
	return s
}

func (s *syncStore) shard(k bucketKey) *syncShard {
	return &s.shards[maphash.String(s.seed, k.id)%numShards]
}

// take fills u with the usage of each limit before this request and
// counts the request locally when every limit admits it. It goes to Redis
// only for counters not read yet in their window, or while the client is
// down (the request then fails fast, or probes the server).
func (s *syncStore) take(ctx context.Context, k bucketKey, now int64, limits []limit, u *usage) error {
	if now > s.clock.Load() {
		s.clock.Store(now)
	}
	sh := s.shard(k)
	sh.mu.Lock()
	b := sh.buckets[k]
	if b == nil {
		b = &syncBucket{}
		sh.buckets[k] = b
	}
	fetch := s.client.Down()
	for _, l := range limits {
		sl := &b.slots[l.p]
		if w := l.p.start(now); w > sl.window {
			sh.retire(b, l.p)
			*sl = syncSlot{window: w, key: string(appendKey(nil, k, l.p, w))}
		}
		fetch = fetch || !sl.known
	}
	if fetch {
		var keys [numPeriods]string
		var windows [numPeriods]int64
		for i, l := range limits {
			keys[i], windows[i] = b.slots[l.p].key, b.slots[l.p].window
		}
		sh.mu.Unlock()
		counts, err := s.read(ctx, keys[:len(limits)])
		if err != nil {
			return err
		}
		sh.mu.Lock()
		for i, l := range limits {
			if sl := &b.slots[l.p]; sl.window == windows[i] {
				sl.base, sl.known = counts[i], true
			}
		}
	}
	defer sh.mu.Unlock()
	for i, l := range limits {
		sl := &b.slots[l.p]
		u[i] = sl.base + sl.inflight + sl.delta
	}
	if !admits(limits, u) {
		return nil
	}
	for _, l := range limits {
		sl := &b.slots[l.p]
		sl.delta++
		sl.touched = true
	}
	s.active.Store(true)
	return nil
}

// retire queues the unflushed count of a slot whose window ended.
func (sh *syncShard) retire(b *syncBucket, p period) {
	sl := &b.slots[p]
	if sl.delta > 0 {
		sh.retired = append(sh.retired, flushItem{p: p, window: sl.window, key: sl.key, delta: sl.delta})
	}
}

// read returns the Redis counts of keys (0 for a missing key) in one
// round trip.
func (s *syncStore) read(ctx context.Context, keys []string) ([]int64, error) {
	counts := make([]int64, len(keys))
	err := s.client.Do(ctx, func(ctx context.Context, rdb *redis.Client) error {
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("read counters: %w", err)
		}
		for i, v := range vals {
			if str, ok := v.(string); ok {
				n, err := strconv.ParseInt(str, 10, 64)
				if err != nil {
					return fmt.Errorf("read counter %s: %w", keys[i], err)
				}
				counts[i] = n
			}
		}
		return nil
	})
	return counts, err
}

// flush pushes every local count in one pipeline (INCRBY by the count,
// then EXPIRE by the window length, for each counter used since the last
// flush) and takes the totals Redis answers as the new base. Counters
// whose windows have passed are dropped once flushed. On failure the
// counts stay local for the next flush, except those of ended windows.
// It returns how many counters it pushed.
func (s *syncStore) flush(ctx context.Context) (int, error) {
	s.active.Store(false)
	now := s.clock.Load()
	var starts [numPeriods]int64
	for p := range numPeriods {
		starts[p] = p.start(now)
	}
	var items []flushItem
	for i := range s.shards {
		items = s.shards[i].collect(items, &starts)
	}
	if len(items) == 0 {
		return 0, nil
	}
	totals := make([]*redis.IntCmd, len(items))
	err := s.client.Do(ctx, func(ctx context.Context, rdb *redis.Client) error {
		pipe := rdb.Pipeline()
		for i, it := range items {
			totals[i] = pipe.IncrBy(ctx, it.key, it.delta)
			pipe.Expire(ctx, it.key, time.Duration(it.p.seconds())*time.Second)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("push counters: %w", err)
		}
		return nil
	})
	for i, it := range items {
		if it.bucket == nil {
			continue // a retired count: pushed, or dropped
		}
		it.shard.mu.Lock()
		sl := &it.bucket.slots[it.p]
		if sl.window == it.window {
			sl.inflight -= it.delta
			if total, ok := pushedTotal(totals[i], err); ok {
				sl.base, sl.known = total, true
			} else {
				sl.delta += it.delta
				sl.touched = true
				s.active.Store(true)
			}
		}
		it.shard.mu.Unlock()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return len(items), err
	}
	return len(items), nil
}

// pushedTotal is a pipelined INCRBY's total, unless the pipeline (err) or the
// command failed, or never ran (nil).
func pushedTotal(cmd *redis.IntCmd, err error) (int64, bool) {
	if err != nil || cmd == nil {
		return 0, false
	}
	total, err := cmd.Result()
	return total, err == nil
}

// collect moves the shard's counts to push into items, and drops the
// buckets whose windows have all passed with nothing left to push.
func (sh *syncShard) collect(items []flushItem, starts *[numPeriods]int64) []flushItem {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	items = append(items, sh.retired...)
	sh.retired = nil
	for k, b := range sh.buckets {
		live := false
		for p := range numPeriods {
			sl := &b.slots[p]
			if sl.window == 0 {
				continue
			}
			if sl.touched || sl.delta != 0 {
				items = append(items, flushItem{shard: sh, bucket: b, p: p, window: sl.window, key: sl.key, delta: sl.delta})
				sl.inflight += sl.delta
				sl.delta, sl.touched = 0, false
			}
			if sl.window >= starts[p] || sl.inflight != 0 {
				live = true
			}
		}
		if !live {
			delete(sh.buckets, k)
		}
	}
	return items
}
