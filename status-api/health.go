package statusapi

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Health is a health value of Kong's /upstreams/{upstream}/health.
type Health string

// Kong's health values for targets, addresses and balancers.
const (
	Healthy         Health = "HEALTHY"
	Unhealthy       Health = "UNHEALTHY"
	DNSError        Health = "DNS_ERROR"
	HealthchecksOff Health = "HEALTHCHECKS_OFF"
)

// addressHealth is Kong's rule (kong/runloop/balancer/healthcheckers.lua
// get_upstream_health): HEALTHY or UNHEALTHY from the health checker when
// the upstream checks health and the target has weight, else
// HEALTHCHECKS_OFF.
func addressHealth(up *Upstream, t *Target, a Address) Health {
	if !up.Healthchecks || t.Weight <= 0 {
		return HealthchecksOff
	}
	if a.Healthy {
		return Healthy
	}
	return Unhealthy
}

// targetHealth is Kong's rule (kong/db/dao/targets.lua
// page_for_upstream_with_health): DNS_ERROR without resolved addresses,
// else HEALTHY if any address is, else UNHEALTHY if any address is, else
// HEALTHCHECKS_OFF.
func targetHealth(up *Upstream, t *Target) Health {
	if t.Balancer == nil || len(t.Balancer.Addresses) == 0 {
		return DNSError
	}
	h := HealthchecksOff
	for _, a := range t.Balancer.Addresses {
		switch addressHealth(up, t, a) {
		case Healthy:
			return Healthy
		case Unhealthy:
			h = Unhealthy
		case DNSError, HealthchecksOff:
		}
	}
	return h
}

// weightBody is a balancer weight split: total, available to balancing,
// and held by unhealthy addresses.
type weightBody struct {
	Total       int `json:"total"`
	Available   int `json:"available"`
	Unavailable int `json:"unavailable"`
}

// targetStatus is the balancer's status of a target
// (balancer getTargetStatus): the "data" of a target in /health with
// addresses carrying "health", and a host of balancer_health's details
// with addresses carrying "healthy".
type targetStatus[A any] struct {
	Host       string     `json:"host"`
	Port       int        `json:"port"`
	DNS        string     `json:"dns"`
	NodeWeight int        `json:"nodeWeight"`
	Weight     weightBody `json:"weight"`
	Addresses  []A        `json:"addresses"`
}

type addressHealthBody struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Weight int    `json:"weight"`
	Health Health `json:"health"`
}

// addressStatusBody mirrors Address field for field, so an Address
// converts to it.
type addressStatusBody struct {
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Weight  int    `json:"weight"`
	Healthy bool   `json:"healthy"`
}

// newTargetStatus builds a target's status with its addresses rendered by
// addr. A target without a balancer entry has none (nil).
func newTargetStatus[A any](t *Target, addr func(Address) A) *targetStatus[A] {
	if t.Balancer == nil {
		return nil
	}
	host, port := splitTarget(t.Target)
	dns := t.Balancer.DNS
	if dns == "" {
		dns = "unknown"
	}
	s := &targetStatus[A]{
		Host: host, Port: port, DNS: dns, NodeWeight: t.Weight,
		Addresses: make([]A, 0, len(t.Balancer.Addresses)),
	}
	for _, a := range t.Balancer.Addresses {
		s.Weight.Total += a.Weight
		if !a.Healthy {
			s.Weight.Unavailable += a.Weight
		}
		s.Addresses = append(s.Addresses, addr(a))
	}
	s.Weight.Available = s.Weight.Total - s.Weight.Unavailable
	return s
}

// splitTarget splits a normalized "host:port" (IPv6 hosts keep their
// brackets, as Kong shows them).
func splitTarget(target string) (string, int) {
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return target, 0
	}
	port, err := strconv.Atoi(target[i+1:])
	if err != nil {
		return target, 0
	}
	return target[:i], port
}

// activeTargets are the targets the balancer uses, newest first: for each
// target string its newest entry, unless that entry has weight 0.
func activeTargets(all []Target) []*Target {
	sorted := newestFirst(all)
	seen := make(map[string]bool, len(sorted))
	active := sorted[:0]
	for _, t := range sorted {
		if seen[t.Target] {
			continue
		}
		seen[t.Target] = true
		if t.Weight > 0 {
			active = append(active, t)
		}
	}
	return active
}

// newestFirst orders targets by creation time then id, newest first, as
// Kong's targets DAO walks them.
func newestFirst(all []Target) []*Target {
	out := make([]*Target, len(all))
	for i := range all {
		out[i] = &all[i]
	}
	slices.SortStableFunc(out, func(a, b *Target) int {
		return cmp.Or(cmp.Compare(b.CreatedAt, a.CreatedAt), strings.Compare(b.ID, a.ID))
	})
	return out
}

// oldestFirst orders targets by creation time then id, oldest first: the
// raw history /targets/all lists.
func oldestFirst(all []Target) []*Target {
	out := newestFirst(all)
	slices.Reverse(out)
	return out
}
