package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatehouse.dev/admin-api/internal/admin"
)

// Metrics are admin-api's Prometheus metrics, served at /metrics on the
// admin listener. Its methods are safe for concurrent use; a nil *Metrics
// records nothing.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	revision  prometheus.Gauge
	floor     prometheus.Gauge
	storeErrs *prometheus.CounterVec
	expired   prometheus.Counter
	maintErrs prometheus.Counter
}

// NewMetrics creates the metrics in a registry of their own, with the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admin_http_requests_total",
			Help: "Admin API requests, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_admin_http_request_duration_seconds",
			Help:    "Admin API request latency, by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_admin_config_revision",
			Help: "Newest configuration revision this process has committed or seen.",
		}),
		floor: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_admin_change_log_floor",
			Help: "Highest revision trimmed from the change log.",
		}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_admin_store_errors_total",
			Help: "Requests that failed in the store, by kind (unavailable, unexpected).",
		}, []string{"kind"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_admin_expired_credentials_deleted_total",
			Help: "Expired credentials removed by the maintenance job.",
		}),
		maintErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_admin_maintenance_errors_total",
			Help: "Maintenance passes that failed.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.revision, m.floor, m.storeErrs, m.expired, m.maintErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Committed records a revision this process committed (admin.Options.OnCommit).
func (m *Metrics) Committed(rev int64) {
	if m == nil {
		return
	}
	m.revision.Set(float64(rev))
}

// Maintained records a maintenance pass (admin.Service.RunMaintenance).
func (m *Metrics) Maintained(res admin.MaintenanceResult, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.maintErrs.Inc()
		return
	}
	m.expired.Add(float64(res.Expired))
	m.floor.Set(float64(res.Floor))
	if res.Revision > 0 {
		m.revision.Set(float64(res.Revision))
	}
}

func (m *Metrics) request(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *Metrics) storeError(kind string) {
	if m == nil {
		return
	}
	m.storeErrs.WithLabelValues(kind).Inc()
}
