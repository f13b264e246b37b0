// Package prometheus is Kong's prometheus plugin: in the log phase it
// adds each proxied request to Kong's per-service and per-route metrics
// in the data plane's one Prometheus registry (served at /metrics on the
// status listener). Each flag of the configuration turns on a family:
//
//	status_code_metrics      kong_http_requests_total{service,route,code,source,consumer}
//	latency_metrics          kong_kong_latency_ms, kong_upstream_latency_ms,
//	                         kong_request_latency_ms{service,route} (histograms, Kong's buckets)
//	bandwidth_metrics        kong_bandwidth_bytes{service,route,direction,consumer}
//	upstream_health_metrics  accepted; kong_upstream_target_health{upstream,target,address,state,subsystem}
//	                         is always exported by the data plane itself (see status-api), so the
//	                         flag changes nothing here
//	per_consumer             the consumer label holds the consumer's username ("" otherwise)
//
// service is the service's name, else its host; route the route's name,
// else its id; source is "service" for the upstream's responses and
// "kong" for the others. Requests without a service are not counted, as
// in Kong. The collectors are registered once per registry and shared by
// every instance and runtime (Env.Shared), so configuration changes never
// reset them. ai_metrics and wasm_metrics are accepted and ignored (the
// data plane runs neither).
package prometheus

import (
	"fmt"
	"strconv"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "prometheus"

// sharedKey is the Env.Shared key of the collectors.
const sharedKey = "prometheus:metrics"

// Factory makes prometheus instances.
type Factory struct{}

// Name returns "prometheus".
func (Factory) Name() string { return Name }

// New reads one plugin entity's flags; the first instance of a registry
// registers the collectors.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	env := cfg.Env
	if env == nil {
		return nil, fmt.Errorf("%s: no environment", Name)
	}
	reg := env.Registerer()
	var regErr error
	m := env.Shared(sharedKey, func() any {
		m := newMetrics()
		if err := m.register(reg); err != nil {
			regErr = err
			return nil
		}
		return m
	})
	if regErr != nil {
		return nil, regErr
	}
	metrics, ok := m.(*metrics)
	if !ok {
		return nil, fmt.Errorf("%s: metrics were not registered", Name)
	}
	c := cfg.Config
	in := &instance{
		m:           metrics,
		env:         env,
		perConsumer: conf.Bool(c, "per_consumer"),
		status:      conf.Bool(c, "status_code_metrics"),
		latency:     conf.Bool(c, "latency_metrics"),
		bandwidth:   conf.Bool(c, "bandwidth_metrics"),
	}
	return in, nil
}

// instance is one configured prometheus plugin.
type instance struct {
	m                                       *metrics
	env                                     pdk.Env
	perConsumer, status, latency, bandwidth bool
}

var _ pdk.Logger = (*instance)(nil)

// ByteCounter is implemented by a pdk.Context that knows the bytes of the
// request as received (request line, headers and body) and of the
// response as sent; kong_bandwidth_bytes then counts them exactly, as
// Kong's request.size and response.size do. Without it the plugin
// estimates: the request line, headers and declared body length in, the
// declared response body length out.
type ByteCounter interface {
	BytesReceived() int64
	BytesSent() int64
}

// Log counts the request.
func (p *instance) Log(ctx pdk.Context) {
	serviceID := ctx.ServiceID()
	if serviceID == "" {
		return
	}
	service := ctx.ServiceName()
	if service == "" {
		service = p.serviceHost(serviceID)
	}
	route := ctx.RouteName()
	if route == "" {
		route = ctx.RouteID()
	}
	consumer := ""
	if p.perConsumer {
		if c := ctx.Consumer(); c != nil {
			consumer = c.Username
		}
	}
	s := p.m.seriesFor(seriesKey{service, route, consumer})
	resp := ctx.Response()
	if p.bandwidth {
		in, out := sizes(ctx)
		if in > 0 {
			s.addIngress(float64(in))
		}
		if out > 0 {
			s.addEgress(float64(out))
		}
	}
	if p.status && resp != nil {
		s.requests(resp.Status(), resp.FromUpstream()).Inc()
	}
	if p.latency {
		l := ctx.Latencies()
		s.observeRequest(ms(l.Request))
		if resp != nil && resp.FromUpstream() {
			s.observeUpstream(ms(l.Upstream))
		}
		s.observeKong(ms(l.Proxy))
	}
}

// serviceHost is the service's host, the label of a service without a
// name.
func (p *instance) serviceHost(id string) string {
	if svc, ok := p.env.Entity("services", id); ok {
		if host, ok := svc["host"].(string); ok {
			return host
		}
	}
	return ""
}

// sizes returns the bytes in and out (see ByteCounter).
func sizes(ctx pdk.Context) (in, out int64) {
	if bc, ok := ctx.(ByteCounter); ok {
		return bc.BytesReceived(), bc.BytesSent()
	}
	return estimate(ctx)
}

// estimate guesses the sizes from the request line, the request headers
// and the declared body lengths.
func estimate(ctx pdk.Context) (in, out int64) {
	r := ctx.Request()
	n := int64(len(r.Method()) + 1 + len(r.Path()) + len(" HTTP/1.1\r\n") + 2)
	if q := r.RawQuery(); q != "" {
		n += int64(1 + len(q))
	}
	r.Headers(func(name, value string) bool {
		n += int64(len(name) + 2 + len(value) + 2)
		return true
	})
	if cl, err := strconv.ParseInt(r.Header("Content-Length"), 10, 64); err == nil && cl > 0 {
		n += cl
	}
	if resp := ctx.Response(); resp != nil {
		if cl, err := strconv.ParseInt(resp.Header("Content-Length"), 10, 64); err == nil && cl > 0 {
			out = cl
		}
	}
	return n, out
}

// statusTexts are the label values of the statuses 0 to 999, made once.
var statusTexts = func() []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

func statusText(status int) string {
	if status >= 0 && status < len(statusTexts) {
		return statusTexts[status]
	}
	return strconv.Itoa(status)
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return d.Seconds() * 1000 }
