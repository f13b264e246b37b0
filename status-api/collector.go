package statusapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names the collector exports: Kong's data-plane gauges
// (kong/plugins/prometheus/exporter.lua) and Gatehouse's own.
const (
	MetricControlPlaneConnected = "kong_control_plane_connected"
	MetricClusterCertExpiry     = "kong_data_plane_cluster_cert_expiry_timestamp"
	MetricUpstreamTargetHealth  = "kong_upstream_target_health"
	MetricConfigRevision        = "gatehouse_config_revision"
	MetricSecondsSinceLastSync  = "gatehouse_seconds_since_last_sync"
)

// targetHealthStates are the state label values of
// kong_upstream_target_health, in Kong's order.
var targetHealthStates = [...]string{"healthchecks_off", "healthy", "unhealthy", "dns_error"}

// subsystem is the subsystem label: Gatehouse proxies HTTP.
const subsystem = "http"

// NewCollector returns a collector of the data plane's gauges, read from
// src at every scrape so they are never stale:
//
//   - kong_control_plane_connected: 1 while a sync session is up, else 0.
//   - kong_data_plane_cluster_cert_expiry_timestamp: the cluster
//     certificate's expiry in Unix seconds (absent without one).
//   - kong_upstream_target_health{upstream,target,address,state,subsystem}:
//     for every address of every active target, one series per state,
//     1 for the current state and 0 for the others; a target without
//     addresses has one address "" in state dns_error.
//   - gatehouse_config_revision: the revision being served (0 for none).
//   - gatehouse_seconds_since_last_sync: seconds since Status.LastSync
//     (absent before the first sync).
//
// The data plane registers it once in its registry, which it then passes
// as Options.Gatherer.
func NewCollector(src Source) prometheus.Collector {
	return &collector{
		src: src,
		connected: prometheus.NewDesc(MetricControlPlaneConnected,
			"Kong connected to control plane, 0 is unconnected", nil, nil),
		certExpiry: prometheus.NewDesc(MetricClusterCertExpiry,
			"Unix timestamp of Data Plane's cluster_cert expiry time", nil, nil),
		targetHealth: prometheus.NewDesc(MetricUpstreamTargetHealth,
			"Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.",
			[]string{"upstream", "target", "address", "state", "subsystem"}, nil),
		revision: prometheus.NewDesc(MetricConfigRevision,
			"Control-plane revision of the configuration the data plane serves, 0 for none.", nil, nil),
		sinceSync: prometheus.NewDesc(MetricSecondsSinceLastSync,
			"Seconds since the data plane last synced its configuration with the control plane.", nil, nil),
	}
}

type collector struct {
	src                                                      Source
	connected, certExpiry, targetHealth, revision, sinceSync *prometheus.Desc
}

// Describe sends the descriptions of every metric the collector may
// export.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connected
	ch <- c.certExpiry
	ch <- c.targetHealth
	ch <- c.revision
	ch <- c.sinceSync
}

// Collect reads the Source and sends the current values.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	connected := 0.0
	if st.ControlPlane.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, connected)
	if !st.ControlPlane.CertExpiry.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.certExpiry, prometheus.GaugeValue, float64(st.ControlPlane.CertExpiry.Unix()))
	}
	ch <- prometheus.MustNewConstMetric(c.revision, prometheus.GaugeValue, float64(st.Revision))
	if !st.LastSync.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.sinceSync, prometheus.GaugeValue, time.Since(st.LastSync).Seconds())
	}
	for _, up := range c.src.Upstreams() {
		c.collectUpstream(ch, &up)
	}
}

// collectUpstream sends kong_upstream_target_health for one upstream, as
// Kong's exporter does from the balancer's health (one label set per
// target and address, sent once even if the balancer lists it twice).
func (c *collector) collectUpstream(ch chan<- prometheus.Metric, up *Upstream) {
	seen := map[[2]string]bool{}
	send := func(target, address, state string) {
		key := [2]string{target, address}
		if seen[key] {
			return
		}
		seen[key] = true
		for _, s := range targetHealthStates {
			v := 0.0
			if s == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.targetHealth, prometheus.GaugeValue, v,
				up.Name, target, address, s, subsystem)
		}
	}
	for _, t := range activeTargets(up.Targets) {
		if t.Balancer == nil || len(t.Balancer.Addresses) == 0 {
			send(t.Target, "", "dns_error")
			continue
		}
		for _, a := range t.Balancer.Addresses {
			send(t.Target, joinAddress(a.IP, a.Port), strings.ToLower(string(addressHealth(up, t, a))))
		}
	}
}

// joinAddress is "ip:port", with an IPv6 address in brackets.
func joinAddress(ip string, port int) string {
	if strings.Contains(ip, ":") && !strings.HasPrefix(ip, "[") {
		ip = "[" + ip + "]"
	}
	return ip + ":" + strconv.Itoa(port)
}
