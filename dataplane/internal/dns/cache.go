package dns

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Key names one cached resolution: a host name and whether SRV records
// are preferred (an upstream's use_srv_name).
type Key struct {
	Name      string
	PreferSRV bool
}

// Entry is a cached resolution. It is immutable; the Cache replaces it
// when the resolution changes, so two lookups returning the same *Entry
// saw the same answer.
type Entry struct {
	// Answer is the last good answer. When Err is set too, Answer is
	// stale: the last refresh failed with a transient error and the
	// previous records are still served (within CacheOptions.StaleTTL).
	Answer Answer

	// Err is the last resolution error, nil after a successful one.
	Err error
}

// Usable reports whether the entry has records to use.
func (e *Entry) Usable() bool { return e != nil && len(e.Answer.Records) > 0 }

func (e *Entry) equal(o *Entry) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.Answer.Equal(o.Answer) && errText(e.Err) == errText(o.Err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// CacheOptions tune a Cache. Zero values take the defaults.
type CacheOptions struct {
	// MinTTL is the shortest time an answer is cached (default 1 s):
	// records with a TTL of 0 are refreshed that often rather than on
	// every request.
	MinTTL time.Duration

	// NotFoundTTL is how long a name that does not resolve is cached
	// before it is asked again (default 30 s, Kong's dns_not_found_ttl and
	// balancer requery interval); ErrorTTL is the same for other failures
	// (default 1 s, Kong's dns_error_ttl).
	NotFoundTTL time.Duration
	ErrorTTL    time.Duration

	// StaleTTL is how long after its expiry a good answer is still served
	// while refreshing it fails with errors other than "not found"
	// (default 1 h, Kong's dns_stale_ttl).
	StaleTTL time.Duration

	// IdleTimeout drops entries that are neither pinned nor looked up
	// for that long (default 10 min).
	IdleTimeout time.Duration

	// Concurrency bounds the refreshes running at once (default 8).
	Concurrency int

	// OnChange, if set, is called from Run's goroutine after a refresh
	// changed an entry (its records, or its error).
	OnChange func(Key)
}

func (o *CacheOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MinTTL, time.Second)
	def(&o.NotFoundTTL, 30*time.Second)
	def(&o.ErrorTTL, time.Second)
	def(&o.StaleTTL, time.Hour)
	def(&o.IdleTimeout, 10*time.Minute)
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
}

// maxWait bounds how long Run sleeps, so idle entries are dropped in
// time even when nothing expires.
const maxWait = time.Minute

// Cache caches resolutions for their TTL and refreshes them in the
// background (Run) while they are pinned or in use: the proxy's hot path
// reads it with Peek and never waits for DNS once a name is cached. It is
// safe for concurrent use.
type Cache struct {
	r      Resolver
	opts   CacheOptions
	slots  sync.Map // Key -> *slot
	pinned atomic.Pointer[map[Key]struct{}]
	wake   chan struct{}
}

// slot holds one key's entry and its timing.
type slot struct {
	entry      atomic.Pointer[Entry]
	expires    atomic.Int64 // unix ns; refreshed when passed
	staleUntil atomic.Int64 // unix ns; the last good answer serves until then
	// used is set by lookups and cleared by the refresher, which then
	// records the time in seen: the hot path reads no clock.
	used  atomic.Bool
	seen  atomic.Int64 // unix ns
	ready chan struct{}
}

// NewCache returns a cache resolving with r.
func NewCache(r Resolver, opts CacheOptions) *Cache {
	opts.defaults()
	c := &Cache{r: r, opts: opts, wake: make(chan struct{}, 1)}
	c.pinned.Store(&map[Key]struct{}{})
	return c
}

// Pin replaces the set of pinned keys: pinned entries are refreshed and
// kept whether or not they are looked up. Keys that are pinned but not
// cached yet are not resolved until looked up.
func (c *Cache) Pin(keys []Key) {
	m := make(map[Key]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	c.pinned.Store(&m)
}

// Peek returns the cached entry of k without resolving. It never blocks
// and does not allocate. An entry is returned whether or not it has
// expired: the refresher replaces it in the background.
func (c *Cache) Peek(k Key) (*Entry, bool) {
	v, ok := c.slots.Load(k)
	if !ok {
		return nil, false
	}
	s := v.(*slot)
	e := s.entry.Load()
	if e == nil {
		return nil, false // the first resolution is under way
	}
	s.touch()
	return e, true
}

// Lookup returns the entry of k, resolving it first when it is not
// cached (concurrent first lookups of a key share one resolution). The
// error is ctx's, when it ends before the resolution does; resolution
// failures are in the Entry.
func (c *Cache) Lookup(ctx context.Context, k Key) (*Entry, error) {
	for {
		if e, ok := c.Peek(k); ok {
			return e, nil
		}
		v, loaded := c.slots.LoadOrStore(k, &slot{ready: make(chan struct{})})
		s := v.(*slot)
		if !loaded {
			return c.first(ctx, k, s)
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e := s.entry.Load(); e != nil {
			s.touch()
			return e, nil
		}
		// The first lookup gave up (its context ended): resolve anew.
	}
}

// first makes the first resolution of a new slot. A resolution cut short
// by ctx is not cached.
func (c *Cache) first(ctx context.Context, k Key, s *slot) (*Entry, error) {
	defer close(s.ready)
	ans, err := c.r.Resolve(ctx, k.Name, k.PreferSRV)
	if ctx.Err() != nil {
		c.slots.CompareAndDelete(k, s)
		return nil, ctx.Err()
	}
	now := time.Now()
	e := c.next(nil, s, ans, err, now)
	s.seen.Store(now.UnixNano())
	s.entry.Store(e)
	s.touch()
	c.poke()
	return e, nil
}

// touch marks the slot used, writing only when the mark is not set yet
// so the hot path does not contend on it.
func (s *slot) touch() {
	if !s.used.Load() {
		s.used.Store(true)
	}
}

func (c *Cache) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// next is the entry after a resolution, and sets the slot's timing.
func (c *Cache) next(old *Entry, s *slot, ans Answer, err error, now time.Time) *Entry {
	switch {
	case err == nil:
		exp := now.Add(max(ans.TTL, c.opts.MinTTL))
		s.expires.Store(exp.UnixNano())
		s.staleUntil.Store(exp.Add(c.opts.StaleTTL).UnixNano())
		return &Entry{Answer: ans}
	case IsNotFound(err):
		s.expires.Store(now.Add(c.opts.NotFoundTTL).UnixNano())
		return &Entry{Err: err}
	default:
		s.expires.Store(now.Add(c.opts.ErrorTTL).UnixNano())
		if old.Usable() && now.UnixNano() < s.staleUntil.Load() {
			return &Entry{Answer: old.Answer, Err: err}
		}
		return &Entry{Err: err}
	}
}

// Run refreshes entries as they expire and drops idle ones until ctx
// ends. It owns the goroutines it starts and returns once they stopped.
// Run must be called at most once.
func (c *Cache) Run(ctx context.Context) {
	t := time.NewTimer(maxWait)
	defer t.Stop()
	for {
		next := c.refresh(ctx)
		t.Reset(min(max(time.Until(next), 10*time.Millisecond), maxWait))
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-t.C:
		}
	}
}

// refresh refreshes every expired entry, drops idle ones, calls OnChange
// for the entries that changed, and returns when the next one expires.
func (c *Cache) refresh(ctx context.Context) time.Time {
	now := time.Now()
	next := now.Add(maxWait)
	pinned := *c.pinned.Load()
	type item struct {
		k Key
		s *slot
	}
	var due []item
	c.slots.Range(func(key, v any) bool {
		k, s := key.(Key), v.(*slot)
		if s.entry.Load() == nil {
			return true
		}
		if s.used.Load() {
			s.used.Store(false)
			s.seen.Store(now.UnixNano())
		} else if _, pin := pinned[k]; !pin && now.UnixNano()-s.seen.Load() > int64(c.opts.IdleTimeout) {
			c.slots.Delete(k)
			return true
		}
		if exp := time.Unix(0, s.expires.Load()); exp.After(now) {
			next = earliest(next, exp)
		} else {
			due = append(due, item{k, s})
		}
		return true
	})
	if len(due) == 0 {
		return next
	}

	changed := make([]bool, len(due))
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i, it := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ans, err := c.r.Resolve(ctx, it.k.Name, it.k.PreferSRV)
			if ctx.Err() != nil {
				return
			}
			old := it.s.entry.Load()
			if e := c.next(old, it.s, ans, err, time.Now()); !e.equal(old) {
				it.s.entry.Store(e)
				changed[i] = true
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return next
	}
	for i, it := range due {
		next = earliest(next, time.Unix(0, it.s.expires.Load()))
		if changed[i] && c.opts.OnChange != nil {
			c.opts.OnChange(it.k)
		}
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
