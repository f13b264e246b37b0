package ratelimiting

import (
	"hash/maphash"
	"sync"
)

// bucketKey identifies the counters of one identifier under one plugin
// attachment: scope is the counter-key prefix "ratelimit:<route_id>:
// <service_id>:" (zero UUIDs where the plugin is not attached).
type bucketKey struct {
	scope string
	id    string
}

// numShards spreads buckets over locks so concurrent requests for
// different identifiers rarely contend.
const numShards = 64

// sweepEvery is how often (seconds of the plugin's clock) a shard drops
// its expired buckets, on the first request after the time has come.
const sweepEvery = 60

// localStore is the local policy's counters: one per data plane (Kong's
// kong_rate_limiting_counters shared dict), kept across configuration
// swaps in pdk.Env.Shared. It is safe for concurrent use.
//
// A counter has Kong's shared-dict semantics: it is created with the
// first request counted in its window and expires its period's window
// length later (so a 31st day of a month starts a fresh month counter, as
// in Kong). Unlike Kong, which reads in the access phase and increments
// later from a timer, reading, deciding and counting happen under one
// lock, so concurrent requests never overshoot a limit; rejected requests
// are not counted.
type localStore struct {
	seed   maphash.Seed
	shards [numShards]localShard
}

type localShard struct {
	mu        sync.Mutex
	buckets   map[bucketKey]*localBucket
	nextSweep int64
}

// localBucket holds the counters of one bucketKey, one slot per period.
type localBucket struct {
	slots [numPeriods]localSlot
}

type localSlot struct {
	window  int64 // start of the counted window, Unix seconds
	count   int64
	expires int64 // Unix seconds; the slot counts nothing from then on
}

func newLocalStore() *localStore {
	s := &localStore{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].buckets = map[bucketKey]*localBucket{}
	}
	return s
}

func (s *localStore) shard(k bucketKey) *localShard {
	return &s.shards[maphash.String(s.seed, k.id)%numShards]
}

// take fills u with the usage of each limit before this request at now
// (Unix seconds) and counts the request when every limit admits it.
func (s *localStore) take(k bucketKey, now int64, limits []limit, u *usage) {
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now >= sh.nextSweep {
		sh.sweep(now)
	}
	b := sh.buckets[k]
	if b == nil {
		b = &localBucket{}
		sh.buckets[k] = b
	}
	for i, l := range limits {
		u[i] = b.slots[l.p].current(l.p.start(now), now)
	}
	if !admits(limits, u) {
		return
	}
	for _, l := range limits {
		sl := &b.slots[l.p]
		w := l.p.start(now)
		if sl.current(w, now) == 0 && sl.window <= w {
			*sl = localSlot{window: w, expires: now + l.p.seconds()}
		}
		sl.count++
	}
}

// current is the slot's count for the window starting at w. A request
// that read the clock just before a newer one counts in the newer window.
func (sl *localSlot) current(w, now int64) int64 {
	if sl.window < w || now >= sl.expires {
		return 0
	}
	return sl.count
}

// sweep drops the buckets whose counters have all expired.
func (sh *localShard) sweep(now int64) {
	for k, b := range sh.buckets {
		live := false
		for _, sl := range b.slots {
			if sl.count > 0 && now < sl.expires {
				live = true
				break
			}
		}
		if !live {
			delete(sh.buckets, k)
		}
	}
	sh.nextSweep = now + sweepEvery
}

// len counts the buckets held.
func (s *localStore) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}
