package balancer

// Health is a health value of Kong's /upstreams/{upstream}/health.
type Health string

// Kong's health values.
const (
	Healthy         Health = "HEALTHY"
	Unhealthy       Health = "UNHEALTHY"
	DNSError        Health = "DNS_ERROR"
	HealthchecksOff Health = "HEALTHCHECKS_OFF"
)

// Weight is a weight split: the total, the part on available addresses
// and the part on unavailable ones.
type Weight struct {
	Total       int
	Available   int
	Unavailable int
}

// UpstreamHealth is the balancer's view of an upstream, what the status
// API serves at /upstreams/{upstream}/health.
type UpstreamHealth struct {
	ID   string
	Name string

	// Healthchecks reports whether health checking is on.
	Healthchecks bool

	// Balancer is the balancer's health: HEALTHY when it accepts
	// requests (see Balancer.Healthy), else UNHEALTHY.
	Balancer Health

	// Health is ?balancer_health=1's "health": HEALTHCHECKS_OFF without
	// health checks, else Balancer.
	Health Health

	// Weight is the split over every address.
	Weight Weight

	// Targets are the upstream's targets (weight 0 included), in
	// configuration order.
	Targets []TargetHealth
}

// TargetHealth is one target (Kong's getTargetStatus, with health).
type TargetHealth struct {
	ID string

	// Target is the normalized "host:port"; Host and Port its parts
	// (Host an IPv6 address in brackets).
	Target string
	Host   string
	Port   int

	// NodeWeight is the target's weight.
	NodeWeight int

	// Health is Kong's target health: DNS_ERROR when the target has no
	// addresses; else HEALTHY if any address is healthy, else UNHEALTHY
	// if any is unhealthy, else HEALTHCHECKS_OFF.
	Health Health

	// DNS is how the host resolved: "A", "AAAA" or "SRV" (an IP target
	// is "A" or "AAAA"), the resolver's error text, or "unknown" when it
	// was not resolved yet.
	DNS string

	// Weight is the split over the target's addresses.
	Weight Weight

	Addresses []AddressHealth
}

// AddressHealth is one address of a target.
type AddressHealth struct {
	// IP is the address, IPv6 in brackets.
	IP     string
	Port   int
	Weight int

	// Healthy reports whether the address receives traffic (Kong's
	// "healthy" in balancer_health details): always true without health
	// checks.
	Healthy bool

	// Health is HEALTHCHECKS_OFF without health checks or for a target
	// of weight 0, else HEALTHY or UNHEALTHY.
	Health Health
}

// Health returns the balancer's health snapshot. It reads the current
// state of every address, so it is up to date even for a balancer that a
// newer one replaced.
func (b *Balancer) Health() UpstreamHealth {
	u := UpstreamHealth{
		ID: b.spec.id, Name: b.spec.name, Healthchecks: b.spec.hc != nil,
		Balancer: Unhealthy, Health: HealthchecksOff,
		Targets: make([]TargetHealth, 0, len(b.targets)),
	}
	if b.Healthy() {
		u.Balancer = Healthy
	}
	if u.Healthchecks {
		u.Health = u.Balancer
	}
	for _, t := range b.targets {
		th := TargetHealth{
			ID: t.spec.id, Target: t.spec.target, Host: t.spec.host, Port: t.spec.port,
			NodeWeight: t.spec.weight, DNS: t.dns, Health: HealthchecksOff,
			Addresses: make([]AddressHealth, 0, len(t.addrs)),
		}
		if th.DNS == "" {
			th.DNS = "unknown"
		}
		sawUnhealthy := false
		for _, a := range t.addrs {
			ah := AddressHealth{IP: a.ip, Port: a.port, Weight: a.weight, Healthy: b.available(a), Health: HealthchecksOff}
			th.Weight.Total += a.weight
			if ah.Healthy {
				th.Weight.Available += a.weight
			} else {
				th.Weight.Unavailable += a.weight
			}
			if u.Healthchecks && t.spec.weight > 0 {
				ah.Health = Unhealthy
				if ah.Healthy {
					ah.Health = Healthy
				}
			}
			switch ah.Health {
			case Healthy:
				th.Health = Healthy
			case Unhealthy:
				sawUnhealthy = true
			case DNSError, HealthchecksOff:
			}
			th.Addresses = append(th.Addresses, ah)
		}
		switch {
		case len(t.addrs) == 0:
			th.Health = DNSError
		case th.Health != Healthy && sawUnhealthy:
			th.Health = Unhealthy
		}
		u.Weight.Total += th.Weight.Total
		u.Weight.Available += th.Weight.Available
		u.Weight.Unavailable += th.Weight.Unavailable
		u.Targets = append(u.Targets, th)
	}
	return u
}
