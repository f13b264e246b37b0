package chain

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
)

// runtimeEnv is what plugins see of one runtime: its configuration, the
// values Index built for it, and the resources every runtime shares.
type runtimeEnv struct {
	gen    uint64 // increases with every runtime built
	set    *configset.Set
	shared *gateway.Shared
	reg    prometheus.Registerer
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	index map[string]*indexEntry
}

// generations numbers runtime environments in the order they are built.
var generations atomic.Uint64

// indexEntry is one value Index built. deps are the entity types its
// build read, known when it was built while an instance was being made
// (recorded); an entry whose deps are known and unchanged is carried over
// to the next runtime instead of being built again.
type indexEntry struct {
	once    sync.Once
	value   any
	deps    typeSet
	tainted bool        // the build used a value whose reads are unknown
	known   atomic.Bool // set after deps are complete
}

// typeSet is a set of entity type names.
type typeSet map[string]struct{}

func (s typeSet) add(typ string) { s[typ] = struct{}{} }

func (s typeSet) has(typ string) bool {
	_, ok := s[typ]
	return ok
}

func (s typeSet) intersects(o typeSet) bool {
	for t := range s {
		if _, ok := o[t]; ok {
			return true
		}
	}
	return false
}

// consumersKey is the Index key of the consumer lookup table.
const consumersKey = "chain:consumers"

// consumerTypes are the types a consumer lookup reads.
var consumerTypes = []string{entity.Consumers, entity.ConsumerGroups, entity.ConsumerGroupConsumers}

func newRuntimeEnv(set *configset.Set, shared *gateway.Shared, opts *Options, prev *runtimeEnv, changed typeSet) *runtimeEnv {
	e := &runtimeEnv{
		gen: generations.Add(1),
		set: set, shared: shared, reg: opts.Registerer, log: opts.Logger, now: opts.Now,
		index: map[string]*indexEntry{},
	}
	if prev != nil {
		prev.mu.Lock()
		for k, ie := range prev.index {
			if ie.known.Load() && !ie.deps.intersects(changed) {
				e.index[k] = ie
			}
		}
		prev.mu.Unlock()
	}
	return e
}

// entry returns the index entry for key, adding an empty one.
func (e *runtimeEnv) entry(key string) *indexEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	ie := e.index[key]
	if ie == nil {
		ie = &indexEntry{deps: typeSet{}}
		e.index[key] = ie
	}
	return ie
}

// consumerTable is the consumer lookup of a runtime.
type consumerTable struct {
	byID, byUsername map[string]*pdk.Consumer
}

func (e *runtimeEnv) buildConsumers() any {
	groupNames := map[string]string{}
	e.set.Each(entity.ConsumerGroups, func(g map[string]any) {
		id, _ := g["id"].(string)
		groupNames[id], _ = g["name"].(string)
	})
	groups := map[string][]string{}
	e.set.Each(entity.ConsumerGroupConsumers, func(m map[string]any) {
		if name, ok := groupNames[foreignID(m, "consumer_group")]; ok {
			c := foreignID(m, "consumer")
			groups[c] = append(groups[c], name)
		}
	})
	t := &consumerTable{byID: map[string]*pdk.Consumer{}, byUsername: map[string]*pdk.Consumer{}}
	e.set.Each(entity.Consumers, func(m map[string]any) {
		c := &pdk.Consumer{}
		c.ID, _ = m["id"].(string)
		c.Username, _ = m["username"].(string)
		c.CustomID, _ = m["custom_id"].(string)
		c.Groups = groups[c.ID]
		slices.Sort(c.Groups)
		t.byID[c.ID] = c
		if c.Username != "" {
			t.byUsername[c.Username] = c
		}
	})
	return t
}

// env is the pdk.Env one instance gets. While its Factory's New runs it
// records the entity types the instance reads (through Entity, Each,
// Consumer and the builds of Index), so a later runtime knows whether it
// can keep the instance; afterwards it reads the newest runtime that
// keeps the instance.
type env struct {
	rt atomic.Pointer[runtimeEnv]
	// recording is true during New only, when the Factory's goroutine
	// alone uses the env: deps collects the types read, frames the deps
	// of the Index builds in progress, and unknown is set when New used
	// an Index value whose reads were not recorded (built after an
	// earlier New), so the instance cannot be kept.
	recording bool
	deps      typeSet
	frames    []*indexEntry
	unknown   bool
	// lives are the Live handles the instance took, warmed for each
	// runtime that keeps it (warmLives).
	lives []*live
	// consumers caches the consumer table of the runtime last asked.
	consumers atomic.Pointer[consumersOf]
}

// consumersOf is a runtime's consumer table.
type consumersOf struct {
	rt *runtimeEnv
	t  *consumerTable
}

var _ pdk.Env = (*env)(nil)

func newEnv(rt *runtimeEnv) *env {
	e := &env{recording: true}
	e.rt.Store(rt)
	return e
}

// seal ends recording: New has returned.
func (e *env) seal() { e.recording = false }

func (e *env) read(typ string) {
	if !e.recording {
		return
	}
	if e.deps == nil {
		e.deps = typeSet{}
	}
	e.deps.add(typ)
	for _, f := range e.frames {
		f.deps.add(typ)
	}
}

// Entity returns an entity of the configuration.
func (e *env) Entity(typ, id string) (map[string]any, bool) {
	e.read(typ)
	return e.rt.Load().set.Get(typ, id)
}

// Each calls fn for every entity of a type.
func (e *env) Each(typ string, fn func(map[string]any)) {
	e.read(typ)
	e.rt.Load().set.Each(typ, fn)
}

// Index returns the value built for key in this runtime.
func (e *env) Index(key string, build func() any) any {
	return e.index(e.rt.Load(), key, build)
}

func (e *env) index(rt *runtimeEnv, key string, build func() any) any {
	ie := rt.entry(key)
	recording := e.recording
	ie.once.Do(func() {
		if recording {
			e.frames = append(e.frames, ie)
			defer func() { e.frames = e.frames[:len(e.frames)-1] }()
		}
		ie.value = build()
		ie.known.Store(recording && !ie.tainted)
	})
	if recording {
		if !ie.known.Load() {
			e.unknown = true
			for _, f := range e.frames {
				f.tainted = true
			}
		}
		// The reads of a nested build count for the builds around it.
		for t := range ie.deps {
			e.read(t)
		}
	}
	return ie.value
}

// Shared returns a value that outlives runtimes.
func (e *env) Shared(key string, create func() any) any {
	return e.rt.Load().shared.LoadOrStore("plugin:"+key, create)
}

// Consumer finds a consumer by id, else by username. The value is shared:
// callers must not modify it.
func (e *env) Consumer(idOrUsername string) (*pdk.Consumer, bool) {
	rt := e.rt.Load()
	var t *consumerTable
	if c := e.consumers.Load(); c != nil && c.rt == rt {
		// A credential table looks up every credential's consumer: the
		// table found once serves the rest, with the same reads.
		t = c.t
		for _, typ := range consumerTypes {
			e.read(typ)
		}
	} else {
		t = e.index(rt, consumersKey, func() any {
			for _, typ := range consumerTypes {
				e.read(typ)
			}
			return rt.buildConsumers()
		}).(*consumerTable)
		e.consumers.Store(&consumersOf{rt: rt, t: t})
	}
	if c, ok := t.byID[idOrUsername]; ok {
		return c, true
	}
	c, ok := t.byUsername[idOrUsername]
	return c, ok
}

// Live returns a handle on the value built for key in each runtime that
// keeps the instance; see pdk.Env.Live. The value for the runtime being
// built is made now.
func (e *env) Live(key string, build func(env pdk.Env) any) pdk.Live {
	if !e.recording {
		// The handles are warmed for each runtime that keeps the
		// instance: they must all be known when New returns.
		panic("pdk: Env.Live called after the Factory's New returned")
	}
	l := &live{key: "live:" + key, build: build, e: e}
	e.lives = append(e.lives, l)
	l.Get()
	return l
}

// live is a pdk.Live: cur caches the value of the runtime it was last
// read for, so that Get costs two atomic loads per request.
type live struct {
	key   string
	build func(pdk.Env) any
	e     *env
	cur   atomic.Pointer[liveValue]
}

type liveValue struct {
	rt *runtimeEnv
	v  any
}

func (l *live) Get() any {
	rt := l.e.rt.Load()
	if c := l.cur.Load(); c != nil && c.rt == rt {
		return c.v
	}
	v := rt.liveValue(l.key, l.build)
	l.cur.Store(&liveValue{rt: rt, v: v})
	return v
}

// liveValue returns the value of a Live key in rt, building it with an
// env of its own: what the build reads is recorded on the index entry
// (so the next runtime keeps it while those types do not change), not on
// any instance.
func (e *runtimeEnv) liveValue(key string, build func(pdk.Env) any) any {
	e.mu.Lock()
	ie := e.index[key]
	e.mu.Unlock()
	if ie != nil && ie.known.Load() {
		return ie.value // built (known is set after the value)
	}
	rec := newEnv(e)
	v := rec.index(e, key, func() any { return build(rec) })
	rec.seal() // a value that kept rec must not record from requests
	return v
}

// warmLives builds the Live values of an instance kept by rt before rt
// serves, so that no request pays for them; warmed holds the keys done
// in this build (instances share keys).
func warmLives(e *env, rt *runtimeEnv, warmed map[string]bool) {
	for _, l := range e.lives {
		if !warmed[l.key] {
			warmed[l.key] = true
			rt.liveValue(l.key, l.build)
		}
	}
}

// Registerer is the data plane's Prometheus registry.
func (e *env) Registerer() prometheus.Registerer { return e.rt.Load().reg }

// Logger is the data plane's logger.
func (e *env) Logger() *slog.Logger { return e.rt.Load().log }

// Now is the clock.
func (e *env) Now() time.Time { return e.rt.Load().now() }

// foreignID returns the id a foreign key field holds ({"id": ...}), or "".
func foreignID(e map[string]any, field string) string {
	m, _ := e[field].(map[string]any)
	id, _ := m["id"].(string)
	return id
}
