package prometheus

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
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

func newMetrics() *metrics {
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
	m.bandwidth, err = adopt(reg, m.bandwidth)
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
