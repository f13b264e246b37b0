package ratelimiting

import "strconv"

// usage holds, per configured limit (in the order of config.limits), the
// requests counted in its window before this one.
type usage [numPeriods]int64

// admits reports whether a request may pass: every limit has room left
// (Kong: remaining = limit - usage, blocked when remaining <= 0).
func admits(limits []limit, u *usage) bool {
	for i, l := range limits {
		if l.value-float64(u[i]) <= 0 {
			return false
		}
	}
	return true
}

// decision is the outcome of one request and the header values Kong
// sends for it.
type decision struct {
	// blocked is the index of the limit that blocks the request (the
	// longest such window), or -1.
	blocked int
	// remaining is X-RateLimit-Remaining per limit: what is left after
	// this request, at least 0; when blocked, only the blocking limit
	// counts this request.
	remaining [numPeriods]float64
	// tightest is the index of the most restrictive limit, which
	// RateLimit-Limit, -Remaining and -Reset (and Retry-After) describe:
	// the lowest remaining, the longer window on a tie.
	tightest int
	// reset is RateLimit-Reset for the tightest limit, in seconds.
	reset int64
}

// decide computes Kong's decision and headers for u at now (Unix
// seconds).
func decide(limits []limit, u *usage, now int64) decision {
	d := decision{blocked: -1}
	for i, l := range limits {
		if l.value-float64(u[i]) <= 0 {
			d.blocked = i
		}
	}
	for i, l := range limits {
		r := l.value - float64(u[i])
		if d.blocked < 0 || d.blocked == i {
			r--
		}
		d.remaining[i] = max(0, r)
		// limits are ordered by window length, so <= prefers the
		// longer window on a tie.
		if i == 0 || d.remaining[i] <= d.remaining[d.tightest] {
			d.tightest = i
		}
	}
	d.reset = limits[d.tightest].p.reset(now)
	return d
}

// each calls set with every header of d, unless the plugin hides them.
func (d *decision) each(limits []limit, set func(name, value string)) {
	for i, l := range limits {
		set(limitHeaders[l.p], l.text)
		set(remainingHeaders[l.p], formatNumber(d.remaining[i]))
	}
	set("RateLimit-Limit", limits[d.tightest].text)
	set("RateLimit-Remaining", formatNumber(d.remaining[d.tightest]))
	set("RateLimit-Reset", strconv.FormatInt(d.reset, 10))
}
