package prometheus

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"gatehouse.dev/dataplane/internal/balancer"
)

// Kong's histogram buckets, in milliseconds.
var (
	kongLatencyBuckets     = []float64{1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000}
	upstreamLatencyBuckets = []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}
)

// metrics are Kong's per-service and per-route collectors, registered
// once per registry and shared by every instance and runtime.
type metrics struct {
	requests        *prometheus.CounterVec
	kongLatency     *prometheus.HistogramVec
	upstreamLatency *prometheus.HistogramVec
	requestLatency  *prometheus.HistogramVec
	bandwidth       *prometheus.CounterVec
	health          *healthCollector

	// series caches the children of one (service, route, consumer), so
	// the log phase does not hash label values for every observation.
	series sync.Map // seriesKey → *series
}

type seriesKey struct{ service, route, consumer string }

// series are the metrics of one (service, route, consumer), each child
// made at its first use (a family whose flag is off stays empty).
type series struct {
	key                                   seriesKey
	m                                     *metrics
	kongLatency, upstreamLatency, latency lazy[prometheus.Observer]
	ingress, egress                       lazy[prometheus.Counter]
	// codes are the request counters seen so far, copied on write (a
	// series sees few statuses): looking one up does not allocate.
	codes  atomic.Pointer[[]codeCounter]
	codesM sync.Mutex
}

type codeCounter struct {
	key int // status<<1 | fromService
	c   prometheus.Counter
}

// lazy is a value made once, at its first use.
type lazy[T any] struct{ p atomic.Pointer[T] }

func (l *lazy[T]) get(create func() T) T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	v := create()
	l.p.CompareAndSwap(nil, &v)
	return *l.p.Load()
}

func (s *series) observeKong(v float64) {
	s.kongLatency.get(func() prometheus.Observer { return s.m.kongLatency.WithLabelValues(s.key.service, s.key.route) }).Observe(v)
}

func (s *series) observeUpstream(v float64) {
	s.upstreamLatency.get(func() prometheus.Observer { return s.m.upstreamLatency.WithLabelValues(s.key.service, s.key.route) }).Observe(v)
}

func (s *series) observeRequest(v float64) {
	s.latency.get(func() prometheus.Observer { return s.m.requestLatency.WithLabelValues(s.key.service, s.key.route) }).Observe(v)
}

func (s *series) addIngress(v float64) {
	s.ingress.get(func() prometheus.Counter {
		return s.m.bandwidth.WithLabelValues(s.key.service, s.key.route, "ingress", s.key.consumer)
	}).Add(v)
}

func (s *series) addEgress(v float64) {
	s.egress.get(func() prometheus.Counter {
		return s.m.bandwidth.WithLabelValues(s.key.service, s.key.route, "egress", s.key.consumer)
	}).Add(v)
}

// seriesFor returns the cached series of k.
func (m *metrics) seriesFor(k seriesKey) *series {
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	actual, _ := m.series.LoadOrStore(k, &series{key: k, m: m})
	return actual.(*series)
}

// requests returns the request counter of a status and source.
func (s *series) requests(status int, fromService bool) prometheus.Counter {
	key := status << 1
	if fromService {
		key |= 1
	}
	if c := findCode(s.codes.Load(), key); c != nil {
		return c
	}
	s.codesM.Lock()
	defer s.codesM.Unlock()
	cur := s.codes.Load()
	if c := findCode(cur, key); c != nil {
		return c
	}
	source := "kong"
	if fromService {
		source = "service"
	}
	c := s.m.requests.WithLabelValues(s.key.service, s.key.route, statusText(status), source, s.key.consumer)
	var next []codeCounter
	if cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, codeCounter{key, c})
	s.codes.Store(&next)
	return c
}

func findCode(list *[]codeCounter, key int) prometheus.Counter {
	if list == nil {
		return nil
	}
	for _, cc := range *list {
		if cc.key == key {
			return cc.c
		}
	}
	return nil
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kong_http_requests_total",
			Help: "HTTP status codes per consumer/service/route in Kong",
		}, []string{"service", "route", "code", "source", "consumer"}),
		kongLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kong_kong_latency_ms",
			Help:    "Latency added by Kong and enabled plugins for each service/route in Kong",
			Buckets: kongLatencyBuckets,
		}, []string{"service", "route"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kong_upstream_latency_ms",
			Help:    "Latency added by upstream response for each service/route in Kong",
			Buckets: upstreamLatencyBuckets,
		}, []string{"service", "route"}),
		requestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kong_request_latency_ms",
			Help:    "Total latency incurred during requests for each service/route in Kong",
			Buckets: upstreamLatencyBuckets,
		}, []string{"service", "route"}),
		bandwidth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kong_bandwidth_bytes",
			Help: "Total bandwidth (ingress/egress) throughput in bytes",
		}, []string{"service", "route", "direction", "consumer"}),
		health: &healthCollector{reg: reg, desc: prometheus.NewDesc(
			"kong_upstream_target_health",
			"Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.",
			[]string{"upstream", "target", "address", "state", "subsystem"}, nil,
		)},
	}
}

// register adds the collectors to reg. A collector already registered
// there (by another Env sharing the registry) is adopted instead.
func (m *metrics) register(reg prometheus.Registerer) error {
	var err error
	if m.requests, err = adopt(reg, m.requests); err != nil {
		return err
	}
	if m.kongLatency, err = adopt(reg, m.kongLatency); err != nil {
		return err
	}
	if m.upstreamLatency, err = adopt(reg, m.upstreamLatency); err != nil {
		return err
	}
	if m.requestLatency, err = adopt(reg, m.requestLatency); err != nil {
		return err
	}
	if m.bandwidth, err = adopt(reg, m.bandwidth); err != nil {
		return err
	}
	m.health, err = adopt(reg, m.health)
	return err
}

// adopt registers c, or returns the equal collector registered before.
func adopt[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("register prometheus metrics: %w", err)
}

// HealthSource returns the health of every upstream, as the balancers
// see it now.
type HealthSource func() []balancer.UpstreamHealth

// sources holds the upstream health source of each registry: the data
// plane's wiring provides it with ProvideUpstreamHealth, the plugin's
// collector (registered on that registry) reads it at scrape time.
var sources sync.Map // prometheus.Registerer → HealthSource

// ProvideUpstreamHealth makes src the upstream health that
// kong_upstream_target_health reports for the plugin instances
// registering their metrics with reg (the data plane's registry). The
// metric is exported once some prometheus plugin has
// upstream_health_metrics on.
func ProvideUpstreamHealth(reg prometheus.Registerer, src HealthSource) {
	sources.Store(reg, src)
}

// healthCollector is kong_upstream_target_health, computed at scrape
// time (Kong resets and refills it on every scrape).
type healthCollector struct {
	desc *prometheus.Desc
	// reg is the registry whose health source is read.
	reg prometheus.Registerer
	// on is set once an instance asks for the metric; as in Kong, it
	// stays on until the process restarts.
	on atomic.Bool
}

// Describe sends the metric's description.
func (h *healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// healthStates are Kong's states, each reported 1 or 0 per address.
var healthStates = []string{"healthchecks_off", "healthy", "unhealthy", "dns_error"}

// Collect reports every address of every upstream target with the four
// states, 1 for its own; a target without addresses reports dns_error
// with an empty address.
func (h *healthCollector) Collect(ch chan<- prometheus.Metric) {
	if !h.on.Load() {
		return
	}
	v, ok := sources.Load(h.reg)
	if !ok {
		return
	}
	for _, u := range v.(HealthSource)() {
		for _, t := range u.Targets {
			if len(t.Addresses) == 0 {
				h.send(ch, u.Name, t.Target, "", "dns_error")
				continue
			}
			for _, a := range t.Addresses {
				h.send(ch, u.Name, t.Target, fmt.Sprintf("%s:%d", a.IP, a.Port), stateOf(a.Health))
			}
		}
	}
}

func (h *healthCollector) send(ch chan<- prometheus.Metric, upstream, target, address, state string) {
	for _, s := range healthStates {
		v := 0.0
		if s == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(h.desc, prometheus.GaugeValue, v, upstream, target, address, s, "http")
	}
}

func stateOf(h balancer.Health) string {
	switch h {
	case balancer.Healthy:
		return "healthy"
	case balancer.Unhealthy:
		return "unhealthy"
	case balancer.DNSError:
		return "dns_error"
	case balancer.HealthchecksOff:
		return "healthchecks_off"
	default:
		return "healthchecks_off"
	}
}
