package ratelimiting

import (
	"fmt"
	"runtime"
	"strconv"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
)

// Name is the plugin's name.
const Name = "rate-limiting"

// Keys of the values the plugin keeps in pdk.Env.Shared.
const (
	sharedLocal        = "rate-limiting/local"
	sharedRedisPrefix  = "rate-limiting/redis/"
	decisionContextKey = "rate-limiting/decision"
)

// Factory makes rate-limiting instances.
type Factory struct{}

var _ pdk.Factory = Factory{}

// Name returns "rate-limiting".
func (Factory) Name() string { return Name }

// New parses the configuration and attaches the instance to the data
// plane's counters: the local store, or the shared Redis client for its
// settings (opened on first use).
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("rate-limiting plugin %s: %w", cfg.ID, err)
	}
	route, service := cfg.RouteID, cfg.ServiceID
	if route == "" {
		route = emptyUUID
	}
	if service == "" {
		service = emptyUUID
	}
	in := &Instance{
		config: c,
		scope:  "ratelimit:" + route + ":" + service + ":",
		now:    cfg.Env.Now,
	}
	if c.policy == policyLocal {
		in.local = cfg.Env.Shared(sharedLocal, func() any { return newLocalStore() }).(*localStore)
		return in, nil
	}
	in.ttls = make([]any, len(c.limits))
	for i, l := range c.limits {
		in.ttls[i] = l.p.seconds()
	}
	logger := cfg.Env.Logger()
	b := cfg.Env.Shared(sharedRedisPrefix+c.redis.Key(), func() any {
		return newBackend(c.redis, logger)
	}).(*backend)
	in.backend = b
	in.redis = b.acquire(c.syncRate)
	runtime.AddCleanup(in, func(r release) { r.b.release(r.c, r.rate) }, release{b, in.redis, c.syncRate})
	return in, nil
}

// release is what an Instance gives back when it is garbage.
type release struct {
	b    *backend
	c    *redisConn
	rate time.Duration
}

// Instance is one configured rate-limiting plugin. It is safe for
// concurrent use.
type Instance struct {
	config
	// scope is the counter-key prefix: "ratelimit:<route_id>:<service_id>:".
	scope string
	now   func() time.Time
	local *localStore // policy local
	redis *redisConn  // policy redis
	// backend is what redis came from (for tests).
	backend *backend
	ttls    []any // window lengths of config.limits, the script's ARGV
}

var (
	_ pdk.Accesser       = (*Instance)(nil)
	_ pdk.HeaderFilterer = (*Instance)(nil)
)

// Access counts the request and answers error_code with error_message
// when a limit is exceeded. When the counters cannot be reached (Redis
// down), a fault-tolerant instance lets the request through without
// headers and logs (at most once per 10 s per Redis server); otherwise it
// returns the error, which answers 500.
func (in *Instance) Access(ctx pdk.Context) error {
	k := bucketKey{scope: in.scope, id: in.identifier(ctx)}
	now := in.now().Unix()
	var u usage
	switch {
	case in.local != nil:
		in.local.take(k, now, in.limits, &u)
	case in.syncRate > 0:
		if err := in.redis.sync.take(ctx.Context(), k, now, in.limits, &u); err != nil {
			return in.failed(ctx, err)
		}
		in.redis.kick()
	default:
		if err := in.redis.takeRealtime(ctx.Context(), k, now, in.limits, in.ttls, &u); err != nil {
			return in.failed(ctx, err)
		}
	}
	d := decide(in.limits, &u, now)
	if d.blocked < 0 {
		if !in.hideHeaders {
			ctx.Set(decisionContextKey, &d)
		}
		return nil
	}
	var headers map[string]string
	if !in.hideHeaders {
		headers = make(map[string]string, 2*len(in.limits)+4)
		d.each(in.limits, func(name, value string) { headers[name] = value })
		headers["Retry-After"] = strconv.FormatInt(d.reset, 10)
	}
	ctx.Error(in.errorCode, in.errorMessage, headers)
	return nil
}

// failed handles a counter store failure.
func (in *Instance) failed(ctx pdk.Context, err error) error {
	if !in.faultTolerant {
		return fmt.Errorf("rate-limiting usage: %w", err)
	}
	in.redis.logFailure(ctx.Logger(), "rate-limiting: counters unavailable, request not limited", err)
	return nil
}

// HeaderFilter adds the X-RateLimit-* and RateLimit-* headers of an
// admitted request to the response.
func (in *Instance) HeaderFilter(ctx pdk.Context) {
	d, _ := ctx.Get(decisionContextKey).(*decision)
	if d == nil {
		return
	}
	d.each(in.limits, ctx.Response().SetHeader)
}

// identifier is what the request is counted under, with Kong's fallbacks
// to the client IP.
func (in *Instance) identifier(ctx pdk.Context) string {
	switch in.limitBy {
	case byConsumer:
		if c := ctx.Consumer(); c != nil && c.ID != "" {
			return c.ID
		}
		if c := ctx.Credential(); c != nil && c.ID != "" {
			return c.ID
		}
	case byCredential:
		if c := ctx.Credential(); c != nil && c.ID != "" {
			return c.ID
		}
	case byService:
		if id := ctx.ServiceID(); id != "" {
			return id
		}
	case byHeader:
		// A header sent empty is an identifier (Lua's "" is true).
		if v := ctx.Request().Header(in.headerName); v != "" || len(ctx.Request().HeaderValues(in.headerName)) > 0 {
			return v
		}
	case byPath:
		if p := ctx.Request().Path(); p == in.path {
			return p
		}
	}
	return ctx.ClientIP()
}
