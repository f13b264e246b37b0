package pdktest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
)

// Env is a fake pdk.Env over a configuration the test builds with Put
// (or hands to NewEnvFrom). Put before handing the Env to a plugin; the
// lookups are then safe for concurrent use.
type Env struct {
	set      *configset.Set
	registry *prometheus.Registry
	logger   *slog.Logger

	mu     sync.Mutex
	now    time.Time
	index  map[string]any
	builds map[string]int
	shared map[string]any
}

var _ pdk.Env = (*Env)(nil)

// NewEnv returns an Env over an empty configuration, whose clock reads
// 2023-11-14T22:13:20Z until SetNow.
func NewEnv() *Env { return NewEnvFrom(configset.New()) }

// NewEnvFrom returns an Env over set, which the Env may add to.
func NewEnvFrom(set *configset.Set) *Env {
	return &Env{
		set: set, registry: prometheus.NewRegistry(), logger: slog.New(slog.DiscardHandler),
		now: time.Unix(1700000000, 0).UTC(), index: map[string]any{}, builds: map[string]int{}, shared: map[string]any{},
	}
}

// Put adds an entity of type typ (it needs an "id"); it panics on an
// entity without one. It returns e for chaining.
func (e *Env) Put(typ string, ent map[string]any) *Env {
	if err := e.set.Put(typ, ent); err != nil {
		panic("pdktest: put " + typ + ": " + err.Error())
	}
	return e
}

// AddConsumer adds a consumer; username or customID may be "".
func (e *Env) AddConsumer(id, username, customID string) *Env {
	c := map[string]any{"id": id}
	if username != "" {
		c["username"] = username
	}
	if customID != "" {
		c["custom_id"] = customID
	}
	return e.Put(entity.Consumers, c)
}

// AddToGroup makes a consumer a member of the consumer group called name,
// adding the group (with a derived id) when it is new.
func (e *Env) AddToGroup(consumerID, name string) *Env {
	groupID := schema.UUIDv5(entity.MembershipNamespace, "group:"+name)
	if _, ok := e.set.Get(entity.ConsumerGroups, groupID); !ok {
		e.Put(entity.ConsumerGroups, map[string]any{"id": groupID, "name": name})
	}
	return e.Put(entity.ConsumerGroupConsumers, map[string]any{
		"id":             entity.MembershipID(groupID, consumerID),
		"consumer_group": map[string]any{"id": groupID}, "consumer": map[string]any{"id": consumerID},
	})
}

// SetNow sets the clock.
func (e *Env) SetNow(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = t
}

// Registry is the Prometheus registry Registerer registers with.
func (e *Env) Registry() *prometheus.Registry { return e.registry }

// IndexBuilds reports how many times Index called a build for key.
func (e *Env) IndexBuilds(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.builds[key]
}

// Entity returns an entity.
func (e *Env) Entity(typ, id string) (map[string]any, bool) { return e.set.Get(typ, id) }

// Each calls fn for every entity of a type.
func (e *Env) Each(typ string, fn func(map[string]any)) { e.set.Each(typ, fn) }

// Index returns the value built for key, calling build the first time.
func (e *Env) Index(key string, build func() any) any {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.index[key]; ok {
		return v
	}
	v := build()
	e.index[key] = v
	e.builds[key]++
	return v
}

// Live returns a handle on Index(key) built with this Env, built now as
// the data plane's is (IndexBuilds counts its builds too); the
// configuration of a test Env does not change once in use.
func (e *Env) Live(key string, build func(env pdk.Env) any) pdk.Live {
	l := live(func() any { return e.Index(key, func() any { return build(e) }) })
	l.Get()
	return l
}

type live func() any

func (l live) Get() any { return l() }

// Shared returns the value under key, calling create the first time.
func (e *Env) Shared(key string, create func() any) any {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.shared[key]; ok {
		return v
	}
	v := create()
	e.shared[key] = v
	return v
}

// Consumer finds a consumer by id, else by username, with the names of
// its consumer groups, sorted.
func (e *Env) Consumer(idOrUsername string) (*pdk.Consumer, bool) {
	c, ok := e.set.Get(entity.Consumers, idOrUsername)
	if !ok {
		e.set.Each(entity.Consumers, func(x map[string]any) {
			if !ok && x["username"] == idOrUsername {
				c, ok = x, true
			}
		})
	}
	if !ok {
		return nil, false
	}
	out := &pdk.Consumer{}
	out.ID, _ = c["id"].(string)
	out.Username, _ = c["username"].(string)
	out.CustomID, _ = c["custom_id"].(string)
	e.set.Each(entity.ConsumerGroupConsumers, func(m map[string]any) {
		if foreign(m, "consumer") != out.ID {
			return
		}
		if g, ok := e.set.Get(entity.ConsumerGroups, foreign(m, "consumer_group")); ok {
			name, _ := g["name"].(string)
			out.Groups = append(out.Groups, name)
		}
	})
	slices.Sort(out.Groups)
	return out, true
}

// Registerer is Registry.
func (e *Env) Registerer() prometheus.Registerer { return e.registry }

// Logger discards.
func (e *Env) Logger() *slog.Logger { return e.logger }

// Now is the clock SetNow set.
func (e *Env) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func foreign(e map[string]any, field string) string {
	m, _ := e[field].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

var (
	catalogOnce sync.Once
	catalog     *entity.Catalog
)

// NewConfig processes a plugin entity input (name, config, route,
// service, consumer, ...) as the control plane does (defaults filled,
// validated against the plugin's schema) and returns the pdk.Config the
// runtime would give the plugin's Factory, with numbers as they arrive
// from sync-hub (json.Number). It fails the test on an invalid input.
func NewConfig(tb testing.TB, env pdk.Env, in map[string]any) pdk.Config {
	tb.Helper()
	catalogOnce.Do(func() {
		set, err := plugin.Load(plugin.SpecBundled)
		if err != nil {
			panic(err)
		}
		if catalog, err = entity.New(set); err != nil {
			panic(err)
		}
	})
	if in["id"] == nil {
		in["id"] = schema.NewUUID()
	}
	written, serr := catalog.Type(entity.Plugins).Write(in, schema.Insert, time.Unix(1700000000, 0))
	if serr != nil {
		tb.Fatalf("plugin %v: %v", in["name"], serr)
	}
	data, err := json.Marshal(written)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		tb.Fatal(err)
	}
	cfg := pdk.Config{Env: env}
	cfg.ID, _ = p["id"].(string)
	cfg.Name, _ = p["name"].(string)
	cfg.InstanceName, _ = p["instance_name"].(string)
	cfg.Config, _ = p["config"].(map[string]any)
	cfg.RouteID, cfg.ServiceID = foreign(p, "route"), foreign(p, "service")
	cfg.ConsumerID, cfg.ConsumerGroupID = foreign(p, "consumer"), foreign(p, "consumer_group")
	return cfg
}
