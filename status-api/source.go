package statusapi

import "time"

// Source is the data plane's state as the status API reads it. The data
// plane implements it over its in-memory runtime; the status API never
// opens the cache or the configuration store itself.
//
// Every method must be safe for concurrent use and cheap: each request
// calls one or two of them and a /metrics scrape calls Status and
// Upstreams. The status API never modifies what a Source returns, so a
// Source may hand out data shared with its own immutable snapshots.
type Source interface {
	// Status returns a snapshot of the node's counters and sync state.
	Status() Status

	// Ready reports whether the node can proxy traffic: a configuration
	// is loaded and the runtime built from it. When it cannot, reason is
	// one of Kong's texts (see Readiness). Losing the control plane does
	// not make a data plane unready: it keeps serving its configuration.
	Ready() (ready bool, reason string)

	// Upstream returns the upstream whose id is idOrName, else the one
	// whose name is idOrName, with all its targets (weight 0 included)
	// and their health as the data plane's balancer sees it. It reports
	// false when neither exists.
	Upstream(idOrName string) (Upstream, bool)

	// Upstreams returns every upstream of the running configuration, as
	// Upstream returns each. The order does not matter.
	Upstreams() []Upstream
}

// Status is the snapshot behind GET /status and the collector's gauges.
type Status struct {
	// Server holds the proxy's connection and request counters.
	Server Server

	// Memory holds the memory figures, reported as Kong reports its Lua
	// VMs and shared dictionaries.
	Memory Memory

	// ConfigurationHash is the hash of the configuration being served:
	// 32 lower-case hex characters, 32 zeros for the empty configuration,
	// and "" before any configuration is loaded (the field is then left
	// out of /status, as Kong does).
	ConfigurationHash string

	// Revision is the control-plane revision of that configuration, 0
	// for none (a declarative file or an empty start).
	Revision int64

	// ControlPlane is the state of the connection to the control plane.
	ControlPlane ControlPlane

	// LastSync is when the data plane last received and applied a
	// configuration from the control plane (a snapshot or a delta), or
	// was told on connecting that its own is current. Zero when it never
	// has.
	LastSync time.Time

	// LastError is the last sync error (a refused configuration, a
	// failed connection), "" when the last sync succeeded.
	LastError string
}

// Server holds the proxy's counters with Kong's meanings (nginx's stub
// status): connections accepted and handled since start, connections open
// now split into reading a request, writing a response and idle waiting,
// and requests served since start.
type Server struct {
	ConnectionsAccepted int64
	ConnectionsHandled  int64
	ConnectionsActive   int64
	ConnectionsReading  int64
	ConnectionsWriting  int64
	ConnectionsWaiting  int64
	TotalRequests       int64
}

// Memory holds the memory figures in bytes. Kong reports one entry per
// nginx worker and one per shared dictionary; a data plane is one process
// (see ProcessMemory) and may report its caches as shared dictionaries.
type Memory struct {
	// Workers are reported as "workers_lua_vms".
	Workers []WorkerMemory

	// SharedDicts are reported as "lua_shared_dicts", by name.
	SharedDicts map[string]SharedDict
}

// WorkerMemory is one worker: its process id and the bytes allocated by
// its garbage-collected heap ("http_allocated_gc").
type WorkerMemory struct {
	PID       int
	Allocated uint64
}

// SharedDict is one shared store: its capacity and the bytes in use
// ("capacity" and "allocated_slabs").
type SharedDict struct {
	Capacity  uint64
	Allocated uint64
}

// ControlPlane is the state of the data plane's connection to its control
// plane.
type ControlPlane struct {
	// Address is the control plane the data plane connects to (or is
	// connected to, when several are configured); "" when it runs
	// standalone from a declarative file.
	Address string

	// Connected reports whether a sync session is established now.
	Connected bool

	// Since is when Connected last changed; zero when it never has.
	Since time.Time

	// CertExpiry is when the cluster certificate expires; zero without
	// one.
	CertExpiry time.Time
}

// Upstream is one upstream as the data plane's balancer runs it.
type Upstream struct {
	ID   string
	Name string

	// Healthchecks reports whether health checking is on: any of
	// healthchecks.active.healthy.interval, active.unhealthy.interval,
	// passive.unhealthy.tcp_failures, timeouts or http_failures is
	// non-zero. Without it every address reports HEALTHCHECKS_OFF.
	Healthchecks bool

	// Healthy reports whether the balancer accepts requests: its total
	// weight is above zero and the available share above
	// healthchecks.threshold.
	Healthy bool

	// Targets are all the upstream's target entities, weight 0 included,
	// in any order.
	Targets []Target
}

// Target is one target entity with the balancer's view of it.
type Target struct {
	ID string

	// CreatedAt and UpdatedAt are seconds since the epoch with
	// millisecond precision, as Kong stores them for targets.
	CreatedAt float64
	UpdatedAt float64

	// Target is the normalized "host:port".
	Target string
	Weight int

	// Tags are the entity's tags; nil is shown as null.
	Tags []string

	// Balancer is the balancer's entry for the target; nil when it has
	// none, which Kong reports as DNS_ERROR.
	Balancer *TargetBalancer
}

// TargetBalancer is what the balancer knows of a target: how its host
// resolved and the addresses it balances over.
type TargetBalancer struct {
	// DNS is how the host resolved: the record type ("A", "AAAA",
	// "SRV"), "ttl=0, virtual SRV", or the resolver's error text; ""
	// is shown as "unknown".
	DNS string

	// Addresses are the resolved addresses. None means the name did not
	// resolve, which Kong reports as DNS_ERROR.
	Addresses []Address
}

// Address is one resolved address of a target.
type Address struct {
	// IP is the address as the balancer holds it (IPv6 in brackets, as
	// Kong shows it).
	IP     string
	Port   int
	Weight int

	// Healthy reports whether the health checker counts the address as
	// available. Addresses of an upstream without health checks are
	// healthy.
	Healthy bool
}
