package balancer

import (
	"fmt"
	"strconv"
	"strings"

	"gatehouse.dev/dataplane/internal/dns"
	"gatehouse.dev/dataplane/internal/healthcheck"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// algorithm is an upstream's balancing algorithm.
type algorithm uint8

const (
	roundRobinAlgo algorithm = iota
	consistentHashingAlgo
	leastConnectionsAlgo
	latencyAlgo
)

var algorithms = map[string]algorithm{
	"round-robin":        roundRobinAlgo,
	"consistent-hashing": consistentHashingAlgo,
	"least-connections":  leastConnectionsAlgo,
	"latency":            latencyAlgo,
}

func (a algorithm) String() string {
	for name, v := range algorithms {
		if v == a {
			return name
		}
	}
	return "unknown"
}

// hashSource is one of hash_on or hash_fallback with its parameter (the
// header, query argument or capture name).
type hashSource struct {
	kind  string // none, consumer, ip, header, cookie, path, query_arg, uri_capture
	param string
}

// upstreamSpec is an upstream entity, parsed.
type upstreamSpec struct {
	raw        map[string]any
	id, name   string
	key        string // id, or name when the entity has no id
	algorithm  algorithm
	hashOn     hashSource
	fallback   hashSource
	cookie     string
	cookiePath string
	slots      int
	hc         *healthcheck.Config // nil when health checking is off
	threshold  float64
	hostHeader string
	clientCert string // certificate id
	useSRVName bool
	targets    []*targetSpec
}

// targetSpec is a target entity, parsed.
type targetSpec struct {
	raw    map[string]any
	id     string
	target string // normalized "host:port"
	host   string // as shown: a name, an IPv4 address, or "[ipv6]"
	port   int
	weight int
	ip     bool    // the host is an IP address
	key    dns.Key // the name to resolve, when !ip
}

// parseUpstream reads an upstream entity.
func parseUpstream(u map[string]any) (*upstreamSpec, error) {
	s := &upstreamSpec{raw: u}
	s.id, _ = u["id"].(string)
	s.name, _ = u["name"].(string)
	if s.name == "" {
		return nil, fmt.Errorf("upstream %q: no name", s.id)
	}
	s.key = s.id
	if s.key == "" {
		s.key = s.name
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("upstream %s: "+format, append([]any{s.name}, args...)...)
	}

	alg := str(u, "algorithm", "round-robin")
	a, ok := algorithms[alg]
	if !ok {
		return nil, errf("unknown algorithm %q", alg)
	}
	s.algorithm = a
	s.hashOn = hashSource{str(u, "hash_on", "none"), ""}
	s.fallback = hashSource{str(u, "hash_fallback", "none"), ""}
	for _, h := range []struct {
		src  *hashSource
		side string
	}{{&s.hashOn, "hash_on"}, {&s.fallback, "hash_fallback"}} {
		switch h.src.kind {
		case "none", "consumer", "ip", "cookie", "path":
		case "header":
			h.src.param = strings.ToLower(str(u, h.side+"_header", ""))
		case "query_arg":
			h.src.param = str(u, h.side+"_query_arg", "")
		case "uri_capture":
			h.src.param = str(u, h.side+"_uri_capture", "")
		default:
			return nil, errf("unknown %s %q", h.side, h.src.kind)
		}
	}
	s.cookie = str(u, "hash_on_cookie", "")
	s.cookiePath = str(u, "hash_on_cookie_path", "/")
	if (s.hashOn.kind == "cookie" || s.fallback.kind == "cookie") && s.cookie == "" {
		return nil, errf("hash_on_cookie is required")
	}
	s.slots = 10000
	if v, ok := schema.AsInt(u["slots"]); ok {
		s.slots = int(v)
	}
	hcRecord, _ := u["healthchecks"].(map[string]any)
	hc, err := healthcheck.Parse(hcRecord)
	if err != nil {
		return nil, errf("%w", err)
	}
	s.threshold = hc.Threshold
	if hc.Enabled() {
		s.hc = &hc
	}
	s.hostHeader = str(u, "host_header", "")
	s.clientCert = ref(u, "client_certificate")
	s.useSRVName, _ = u["use_srv_name"].(bool)
	return s, nil
}

// parseTarget reads a target entity of upstream up.
func parseTarget(t map[string]any, up *upstreamSpec) (*targetSpec, error) {
	s := &targetSpec{raw: t}
	s.id, _ = t["id"].(string)
	raw, _ := t["target"].(string)
	h, err := schema.NormalizeIP(raw)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: target %q: %w", up.name, raw, err)
	}
	s.port = entity.DefaultTargetPort
	if h.HasPort {
		s.port = h.Port
	}
	s.host = h.Host
	switch h.Type {
	case "ipv6":
		s.host = "[" + h.Host + "]"
		s.ip = true
	case "ipv4":
		s.ip = true
	default:
		s.key = dns.Key{Name: h.Host, PreferSRV: up.useSRVName}
	}
	s.target = s.host + ":" + strconv.Itoa(s.port)
	s.weight = 100
	if v, present := t["weight"]; present && v != nil {
		w, ok := schema.AsInt(v)
		if !ok || w < 0 || w > 65535 {
			return nil, fmt.Errorf("upstream %s: target %s: invalid weight %v", up.name, s.target, v)
		}
		s.weight = int(w)
	}
	return s, nil
}

// parseConfig reads the upstreams and their targets; targets of unknown
// upstreams are left out.
func parseConfig(upstreams, targets []map[string]any) ([]*upstreamSpec, error) {
	specs := make([]*upstreamSpec, 0, len(upstreams))
	byID := make(map[string]*upstreamSpec, len(upstreams))
	names := make(map[string]bool, len(upstreams))
	for _, u := range upstreams {
		s, err := parseUpstream(u)
		if err != nil {
			return nil, err
		}
		if names[s.name] {
			return nil, fmt.Errorf("upstream %s: name used twice", s.name)
		}
		names[s.name] = true
		specs = append(specs, s)
		byID[s.id] = s
	}
	for _, t := range targets {
		id := ref(t, "upstream")
		up := byID[id]
		if id == "" || up == nil {
			continue
		}
		ts, err := parseTarget(t, up)
		if err != nil {
			return nil, err
		}
		up.targets = append(up.targets, ts)
	}
	return specs, nil
}

// sameSpec reports whether a and b were read from equal entities.
func sameSpec(a, b *upstreamSpec) bool {
	if !schema.Equal(a.raw, b.raw) || len(a.targets) != len(b.targets) {
		return false
	}
	for i := range a.targets {
		if !schema.Equal(a.targets[i].raw, b.targets[i].raw) {
			return false
		}
	}
	return true
}

func str(m map[string]any, field, def string) string {
	if s, ok := m[field].(string); ok {
		return s
	}
	return def
}

// ref returns the id a foreign key field holds ({"id": ...}), or "".
func ref(m map[string]any, field string) string {
	fk, _ := m[field].(map[string]any)
	id, _ := fk["id"].(string)
	return id
}
