package hub

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gatehouse.dev/shared/protocol"
)

// Metrics are the hub's Prometheus metrics, in their own registry (which
// also holds the Go and process collectors). NewMetrics builds them; the
// hub records into them and the status listener serves Registry.
type Metrics struct {
	// Registry is what /metrics serves.
	Registry *prometheus.Registry

	pushLatency     prometheus.Histogram
	sentBytes       *prometheus.CounterVec
	sentMessages    *prometheus.CounterVec
	sentByType      map[protocol.Type]sentCounters // read-only once built
	snapshotEncodes prometheus.Counter
	deltaEncodes    prometheus.Counter
	acks            prometheus.Counter
	nacks           prometheus.Counter
}

// NewMetrics creates the metrics and their registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		pushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_sync_hub_push_latency_seconds",
			Help: "Time from a revision's commit in Postgres to a data plane's acknowledgement of it.",
			Buckets: []float64{
				.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30,
			},
		}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_sent_bytes_total",
			Help: "Bytes of websocket messages sent to data planes, by message type.",
		}, []string{"type"}),
		sentMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_sent_messages_total",
			Help: "Websocket messages sent to data planes, by message type.",
		}, []string{"type"}),
		snapshotEncodes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_snapshot_encodes_total",
			Help: "Snapshots encoded and compressed (once per revision and compatibility level, shared by every data plane).",
		}),
		deltaEncodes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_delta_encodes_total",
			Help: "Deltas encoded (once per range of revisions and compatibility level, shared by every data plane).",
		}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_acks_total",
			Help: "Configurations acknowledged by data planes.",
		}),
		nacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_sync_hub_nacks_total",
			Help: "Configurations refused by data planes.",
		}),
	}
	// Every message type the hub sends starts at zero, so rates work from
	// the first scrape.
	m.sentByType = map[protocol.Type]sentCounters{}
	for _, t := range []protocol.Type{protocol.TypeSnapshot, protocol.TypeDelta, protocol.TypeError, protocol.TypePong} {
		m.sentByType[t] = sentCounters{m.sentBytes.WithLabelValues(string(t)), m.sentMessages.WithLabelValues(string(t))}
	}
	m.Registry.MustRegister(
		m.pushLatency, m.sentBytes, m.sentMessages, m.snapshotEncodes, m.deltaEncodes, m.acks, m.nacks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *Metrics) sent(t protocol.Type, n int) {
	c, ok := m.sentByType[t]
	if !ok {
		c = sentCounters{m.sentBytes.WithLabelValues(string(t)), m.sentMessages.WithLabelValues(string(t))}
	}
	c.bytes.Add(float64(n))
	c.messages.Inc()
}

// sentCounters are the counters of one message type, resolved once.
type sentCounters struct{ bytes, messages prometheus.Counter }

// stateCollector reports, at each scrape, what the hub and its follower
// hold: connected data planes by sync_status, each data plane's revision
// lag and compatibility, the revision, Postgres reachability, and
// notification and poll counts.
type stateCollector struct {
	h *Hub

	dataPlanes, lag, compatible, revision, postgresUp, checks, history *prometheus.Desc
}

func newStateCollector(h *Hub) *stateCollector {
	return &stateCollector{
		h: h,
		dataPlanes: prometheus.NewDesc("gatehouse_sync_hub_data_planes",
			"Data planes connected to this hub, by sync_status.", []string{"sync_status"}, nil),
		lag: prometheus.NewDesc("gatehouse_sync_hub_data_plane_revision_lag",
			"Revisions between the newest and the one a connected data plane acknowledged.", []string{"node_id", "hostname"}, nil),
		compatible: prometheus.NewDesc("gatehouse_sync_hub_data_plane_version_compatible",
			"1 when a connected data plane is compatible with this control plane (Kong's data_plane_version_compatible).",
			[]string{"node_id", "hostname", "version"}, nil),
		revision: prometheus.NewDesc("gatehouse_sync_hub_revision",
			"The newest configuration revision the hub holds.", nil, nil),
		postgresUp: prometheus.NewDesc("gatehouse_sync_hub_postgres_up",
			"1 when the last read from Postgres succeeded.", nil, nil),
		checks: prometheus.NewDesc("gatehouse_sync_hub_revision_checks_total",
			"Reasons to read the latest revision: notifications received and polls made.", []string{"source"}, nil),
		history: prometheus.NewDesc("gatehouse_sync_hub_history_revisions",
			"Revisions held in the in-memory history.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.dataPlanes, c.lag, c.compatible, c.revision, c.postgresUp, c.checks, c.history} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	var newest int64
	if st := c.h.follower.Current(); st != nil {
		newest = st.Revision
		ch <- prometheus.MustNewConstMetric(c.revision, prometheus.GaugeValue, float64(newest))
		ch <- prometheus.MustNewConstMetric(c.history, prometheus.GaugeValue, float64(st.HistoryLen()))
	}
	up := 0.0
	if c.h.follower.Health().Reachable {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.postgresUp, prometheus.GaugeValue, up)
	stats := c.h.follower.Stats()
	ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(stats.Notifications), "notification")
	ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(stats.Polls), "poll")

	byStatus := map[protocol.SyncStatus]int{}
	for _, s := range protocol.SyncStatuses() {
		byStatus[s] = 0
	}
	for _, dp := range c.h.DataPlanes() {
		byStatus[dp.SyncStatus]++
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(max(newest-dp.Revision, 0)), dp.NodeID, dp.Hostname)
		compatible := 0.0
		if dp.SyncStatus.Compatible() {
			compatible = 1
		}
		ch <- prometheus.MustNewConstMetric(c.compatible, prometheus.GaugeValue, compatible, dp.NodeID, dp.Hostname, dp.Version)
	}
	for s, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(c.dataPlanes, prometheus.GaugeValue, float64(n), string(s))
	}
}
