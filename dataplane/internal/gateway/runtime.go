// Package gateway builds the runtime: the immutable value the data plane
// serves from, made from a configuration (a configset.Set) and swapped in
// whole, so a request finishes on the runtime it started with.
//
// A Builder validates every entity through its entity Type (with
// schema.Mode{IgnoreUnknownNulls: true}, as a Kong data plane is lenient
// with unknown null fields), checks the references between entities, works
// out what is served (disabled services, their routes and their plugins
// are carried but not served), then lets each Extension build its part:
// the router, the plugin chains and the balancers are Extensions. A change
// is built incrementally: only the changed entities are validated, and
// extensions get the changes to do the same. State that must outlive a
// swap (upstream health, counters) lives in Shared, by key.
package gateway

import (
	"sync/atomic"
	"time"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
)

// Runtime is one built configuration. It is immutable once built and safe
// for concurrent use; its Set must not be modified.
type Runtime struct {
	set        *configset.Set
	configHash string
	builtAt    time.Time
	disabled   map[string]struct{} // ids of disabled services
	parts      map[string]any
	shared     *Shared
}

// Set is the configuration the runtime was built from.
func (r *Runtime) Set() *configset.Set { return r.set }

// Revision is the control-plane revision of the configuration (0 for a
// declarative file or none).
func (r *Runtime) Revision() int64 { return r.set.Revision }

// ConfigHash is the configuration hash the data plane reports: the
// control plane's, or for a declarative file the digest. It is "" when no
// configuration has been loaded.
func (r *Runtime) ConfigHash() string { return r.configHash }

// ReportedHash is ConfigHash, or protocol.EmptyHash when no configuration
// has been loaded: what Hello and Ping carry.
func (r *Runtime) ReportedHash() string {
	if r.configHash == "" {
		return protocol.EmptyHash
	}
	return r.configHash
}

// Digest is the hash of exactly the entities held.
func (r *Runtime) Digest() string { return r.set.Hash() }

// Loaded reports whether a configuration was loaded (possibly an empty
// one); the runtime a data plane starts with before any is not.
func (r *Runtime) Loaded() bool { return r.configHash != "" }

// BuiltAt is when the runtime was built.
func (r *Runtime) BuiltAt() time.Time { return r.builtAt }

// Part returns what the extension called name built, or nil.
func (r *Runtime) Part(name string) any { return r.parts[name] }

// Shared is the state that outlives swaps.
func (r *Runtime) Shared() *Shared { return r.shared }

// Served reports whether the entity of type typ with id is served: it
// exists, and it is not a disabled service, a route of one, a plugin
// attached to either, or a disabled plugin. Disabled entities are kept in
// the configuration (they count in its hash) but never served.
func (r *Runtime) Served(typ, id string) bool {
	e, ok := r.set.Get(typ, id)
	return ok && r.ServedEntity(typ, e)
}

// ServedEntity is Served for an entity in hand, of type typ.
func (r *Runtime) ServedEntity(typ string, e map[string]any) bool {
	switch typ {
	case entity.Services:
		id, _ := e["id"].(string)
		return !r.serviceDisabled(id)
	case entity.Routes:
		return !r.serviceDisabled(ref(e, "service"))
	case entity.Plugins:
		if enabled, ok := e["enabled"].(bool); ok && !enabled {
			return false
		}
		if r.serviceDisabled(ref(e, "service")) {
			return false
		}
		if route := ref(e, "route"); route != "" {
			if rt, ok := r.set.Get(entity.Routes, route); ok && r.serviceDisabled(ref(rt, "service")) {
				return false
			}
		}
		return true
	default:
		return true
	}
}

func (r *Runtime) serviceDisabled(id string) bool {
	if id == "" {
		return false
	}
	_, off := r.disabled[id]
	return off
}

// DisabledServices reports how many services are disabled.
func (r *Runtime) DisabledServices() int { return len(r.disabled) }

// ref returns the id a foreign key field holds ({"id": ...}), or "".
func ref(e map[string]any, field string) string {
	m, _ := e[field].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// Holder holds the current runtime. Load is safe from any goroutine and
// never blocks; Swap publishes a new runtime at once.
type Holder struct {
	p atomic.Pointer[Runtime]
}

// NewHolder returns a holder of r.
func NewHolder(r *Runtime) *Holder {
	h := &Holder{}
	h.p.Store(r)
	return h
}

// Load returns the current runtime.
func (h *Holder) Load() *Runtime { return h.p.Load() }

// Swap makes r current and returns the previous runtime.
func (h *Holder) Swap(r *Runtime) *Runtime { return h.p.Swap(r) }
