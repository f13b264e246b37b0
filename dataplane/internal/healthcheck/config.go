package healthcheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gatehouse.dev/shared/schema"
)

// Config is an upstream's healthchecks record (kong/db/schema/entities/
// upstreams.lua), parsed. It is immutable once parsed and may be shared.
type Config struct {
	// Threshold is the percentage (0-100) of the balancer's total weight
	// that must be available for the balancer to be healthy.
	Threshold float64

	// Active holds the active probe settings and their counters.
	Active Active

	// Passive holds the counters fed by proxied traffic.
	Passive Checks
}

// Checks are one side's (active or passive) status lists and counter
// limits. A limit of 0 disables its counter.
type Checks struct {
	// Type is "http", "https", "tcp", "grpc" or "grpcs".
	Type string

	// HealthyStatuses count as successes, UnhealthyStatuses as HTTP
	// failures; other statuses are ignored.
	HealthyStatuses   StatusSet
	UnhealthyStatuses StatusSet

	// Successes is how many successes in a row make an address healthy.
	Successes int

	// HTTPFailures, TCPFailures and Timeouts are how many failures of
	// each kind (with no success in between) make an address unhealthy.
	HTTPFailures int
	TCPFailures  int
	Timeouts     int
}

// Active is the active health check configuration.
type Active struct {
	Checks

	// HealthyInterval is how often healthy addresses are probed, and
	// UnhealthyInterval how often unhealthy ones are; 0 disables that
	// probing.
	HealthyInterval   time.Duration
	UnhealthyInterval time.Duration

	// Timeout bounds one probe (connect, TLS handshake, request and
	// status line).
	Timeout time.Duration

	// Concurrency is how many probes run at once.
	Concurrency int

	// HTTPPath is the path probed with GET.
	HTTPPath string

	// HTTPSSNI is the server name sent in https probes; "" sends the
	// target's host name (when it is a name).
	HTTPSSNI string

	// HTTPSVerifyCertificate makes https probes verify the certificate.
	HTTPSVerifyCertificate bool

	// Headers are the extra request header lines ("Name: value"), one per
	// value, sorted by name.
	Headers []string
}

// Enabled reports whether health checking is on for the upstream, Kong's
// is_upstream_using_healthcheck: an active interval, or a passive failure
// counter, is non-zero. When it is off every address is available, and
// the status API shows HEALTHCHECKS_OFF.
func (c *Config) Enabled() bool {
	return c.Active.HealthyInterval > 0 || c.Active.UnhealthyInterval > 0 ||
		c.Passive.TCPFailures > 0 || c.Passive.Timeouts > 0 || c.Passive.HTTPFailures > 0
}

// Probing reports whether active probes run: health checking is on, an
// active interval is non-zero, and the active type is one the HTTP
// subsystem probes ("http" or "https"). Kong runs "tcp" probes only in
// its stream subsystem, which Gatehouse does not serve, and gRPC probes
// are not supported.
func (c *Config) Probing() bool {
	return c.Enabled() && (c.Active.HealthyInterval > 0 || c.Active.UnhealthyInterval > 0) &&
		(c.Active.Type == "http" || c.Active.Type == "https")
}

// StatusSet is a set of HTTP status codes (0-1023).
type StatusSet [16]uint64

// NewStatusSet returns the set of codes; codes outside 0-1023 are left
// out.
func NewStatusSet(codes ...int) StatusSet {
	var s StatusSet
	for _, c := range codes {
		if c >= 0 && c < 1024 {
			s[c>>6] |= 1 << (c & 63)
		}
	}
	return s
}

// Has reports whether code is in the set.
func (s *StatusSet) Has(code int) bool {
	return code >= 0 && code < 1024 && s[code>>6]&(1<<(code&63)) != 0
}

// Default is Kong's default healthchecks record: health checking off.
func Default() Config {
	c, _ := Parse(nil)
	return c
}

// Parse reads an upstream's healthchecks record (a decoded entity value,
// whose numbers may be any of the types a JSON decoder produces). Missing
// fields take Kong's defaults, so nil gives the default configuration.
// Values of the wrong type are an error.
func Parse(hc map[string]any) (Config, error) {
	r := reader{}
	active := r.record(hc, "active")
	passive := r.record(hc, "passive")
	activeHealthy := r.record(active, "healthy")
	activeUnhealthy := r.record(active, "unhealthy")
	passiveHealthy := r.record(passive, "healthy")
	passiveUnhealthy := r.record(passive, "unhealthy")

	c := Config{
		Threshold: r.number(hc, "threshold", 0),
		Active: Active{
			Checks: Checks{
				Type:              r.str(active, "type", "http"),
				HealthyStatuses:   r.statuses(activeHealthy, 200, 302),
				UnhealthyStatuses: r.statuses(activeUnhealthy, 429, 404, 500, 501, 502, 503, 504, 505),
				Successes:         r.integer(activeHealthy, "successes", 0),
				HTTPFailures:      r.integer(activeUnhealthy, "http_failures", 0),
				TCPFailures:       r.integer(activeUnhealthy, "tcp_failures", 0),
				Timeouts:          r.integer(activeUnhealthy, "timeouts", 0),
			},
			HealthyInterval:        r.seconds(activeHealthy, "interval", 0),
			UnhealthyInterval:      r.seconds(activeUnhealthy, "interval", 0),
			Timeout:                r.seconds(active, "timeout", 1),
			Concurrency:            r.integer(active, "concurrency", 10),
			HTTPPath:               r.str(active, "http_path", "/"),
			HTTPSSNI:               r.str(active, "https_sni", ""),
			HTTPSVerifyCertificate: r.boolean(active, "https_verify_certificate", true),
			Headers:                r.headers(active),
		},
		Passive: Checks{
			Type: r.str(passive, "type", "http"),
			HealthyStatuses: r.statuses(passiveHealthy, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
				300, 301, 302, 303, 304, 305, 306, 307, 308),
			UnhealthyStatuses: r.statuses(passiveUnhealthy, 429, 500, 503),
			Successes:         r.integer(passiveHealthy, "successes", 0),
			HTTPFailures:      r.integer(passiveUnhealthy, "http_failures", 0),
			TCPFailures:       r.integer(passiveUnhealthy, "tcp_failures", 0),
			Timeouts:          r.integer(passiveUnhealthy, "timeouts", 0),
		},
	}
	if c.Active.Concurrency < 1 {
		c.Active.Concurrency = 1
	}
	if r.err != nil {
		return Config{}, fmt.Errorf("healthchecks: %w", r.err)
	}
	return c, nil
}

// reader reads typed fields of decoded records, keeping the first error.
// A missing or null field takes its default.
type reader struct {
	err error
}

func (r *reader) fail(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: expected %s", name, want)
	}
}

func (r *reader) record(m map[string]any, name string) map[string]any {
	switch v := m[name].(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	default:
		r.fail(name, "a record")
		return nil
	}
}

func (r *reader) str(m map[string]any, name, def string) string {
	switch v := m[name].(type) {
	case nil:
		return def
	case string:
		return v
	default:
		r.fail(name, "a string")
		return def
	}
}

func (r *reader) boolean(m map[string]any, name string, def bool) bool {
	switch v := m[name].(type) {
	case nil:
		return def
	case bool:
		return v
	default:
		r.fail(name, "a boolean")
		return def
	}
}

func (r *reader) number(m map[string]any, name string, def float64) float64 {
	v, present := m[name]
	if !present || v == nil {
		return def
	}
	f, ok := schema.AsFloat(v)
	if !ok || math.IsNaN(f) || f < 0 {
		r.fail(name, "a non-negative number")
		return def
	}
	return f
}

func (r *reader) integer(m map[string]any, name string, def int) int {
	v, present := m[name]
	if !present || v == nil {
		return def
	}
	i, ok := schema.AsInt(v)
	if !ok || i < 0 || i > math.MaxInt32 {
		r.fail(name, "a non-negative integer")
		return def
	}
	return int(i)
}

func (r *reader) seconds(m map[string]any, name string, def float64) time.Duration {
	f := r.number(m, name, def)
	if f > 65535 {
		r.fail(name, "at most 65535 seconds")
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

func (r *reader) statuses(m map[string]any, def ...int) StatusSet {
	v, present := m["http_statuses"]
	if !present || v == nil {
		return NewStatusSet(def...)
	}
	list, ok := v.([]any)
	if !ok {
		r.fail("http_statuses", "an array")
		return NewStatusSet(def...)
	}
	codes := make([]int, 0, len(list))
	for _, e := range list {
		c, ok := schema.AsInt(e)
		if !ok || c < 0 || c > 1023 {
			r.fail("http_statuses", "an array of status codes")
			return NewStatusSet(def...)
		}
		codes = append(codes, int(c))
	}
	return NewStatusSet(codes...)
}

// headers reads active.headers, a map of header name to values, as the
// request lines Kong sends ("Name: value", one per value), sorted by name
// so probes are reproducible.
func (r *reader) headers(active map[string]any) []string {
	v, present := active["headers"]
	if !present || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.fail("headers", "a map")
		return nil
	}
	var lines []string
	for name, vals := range m {
		if strings.ContainsAny(name, "\r\n:") {
			r.fail("headers", "header names")
			return nil
		}
		list, ok := vals.([]any)
		if !ok {
			r.fail("headers", "arrays of values")
			return nil
		}
		for _, e := range list {
			s, ok := e.(string)
			if !ok || strings.ContainsAny(s, "\r\n") {
				r.fail("headers", "string values")
				return nil
			}
			lines = append(lines, name+": "+s)
		}
	}
	slices.SortStableFunc(lines, func(a, b string) int {
		return strings.Compare(a[:strings.IndexByte(a, ':')], b[:strings.IndexByte(b, ':')])
	})
	return lines
}
