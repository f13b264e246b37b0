package healthcheck

import (
	"sync"
	"sync/atomic"
)

// Status is an address's health as lua-resty-healthcheck tracks it: fully
// healthy or unhealthy, or on its way from one to the other.
type Status uint32

// The four states of lua-resty-healthcheck. MostlyHealthy is healthy with
// failures counted; MostlyUnhealthy is unhealthy with successes counted.
const (
	Healthy Status = iota
	MostlyHealthy
	Unhealthy
	MostlyUnhealthy
)

// Available reports whether an address in this state receives traffic:
// Healthy and MostlyHealthy do.
func (s Status) Available() bool { return s == Healthy || s == MostlyHealthy }

// String returns lua-resty-healthcheck's name of the state.
func (s Status) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case MostlyHealthy:
		return "mostly_healthy"
	case Unhealthy:
		return "unhealthy"
	case MostlyUnhealthy:
		return "mostly_unhealthy"
	default:
		return "unknown"
	}
}

// Failure is how a probe or a proxied request failed before it got an
// HTTP status.
type Failure uint8

// Failure kinds. FailureNone means the result carries an HTTP status.
const (
	FailureNone Failure = iota
	FailureTCP
	FailureTimeout
)

// Result is the outcome of one probe or one proxied request: an HTTP
// status (0 for an unreadable response, which counts as an HTTP failure),
// or a connection failure.
type Result struct {
	Status  int
	Failure Failure
}

// The four counters of an address.
const (
	ctrSuccess = iota
	ctrHTTP
	ctrTCP
	ctrTimeout
	numCounters
)

// State is the health of one address: its Status and its four counters
// (successes, HTTP failures, TCP failures, timeouts), with
// lua-resty-healthcheck's semantics:
//
//   - a success resets the three failure counters; any failure resets the
//     success counter;
//   - a counter reaching its limit makes the address fully healthy
//     (successes) or fully unhealthy (any failure counter);
//   - a failure counted on a healthy address makes it MostlyHealthy, a
//     success counted on an unhealthy one MostlyUnhealthy;
//   - a fully healthy address does not count successes and a fully
//     unhealthy one does not count failures;
//   - a limit of 0 disables its counter: such a report is ignored
//     altogether, so (as in Kong) it resets nothing either.
//
// The zero State is Healthy with all counters at zero. A State is safe for
// concurrent use; reading the status is one atomic load.
type State struct {
	status atomic.Uint32
	mu     sync.Mutex
	counts [numCounters]uint8
}

// NewState returns a state with the given initial health.
func NewState(healthy bool) *State {
	s := &State{}
	if !healthy {
		s.status.Store(uint32(Unhealthy))
	}
	return s
}

// Status returns the current status.
func (s *State) Status() Status { return Status(s.status.Load()) }

// Available reports whether the address receives traffic.
func (s *State) Available() bool { return s.Status().Available() }

// Record counts one result against the limits and status lists of c (the
// active or passive checks) and returns the new status and whether the
// address's availability changed.
func (s *State) Record(c *Checks, r Result) (Status, bool) {
	switch r.Failure {
	case FailureTCP:
		return s.incr(false, c.TCPFailures, ctrTCP)
	case FailureTimeout:
		return s.incr(false, c.Timeouts, ctrTimeout)
	case FailureNone:
	}
	switch {
	case c.HealthyStatuses.Has(r.Status):
		return s.incr(true, c.Successes, ctrSuccess)
	case r.Status == 0 || c.UnhealthyStatuses.Has(r.Status):
		return s.incr(false, c.HTTPFailures, ctrHTTP)
	default:
		return s.Status(), false
	}
}

// Set forces the status to Healthy or Unhealthy and clears the counters
// (lua-resty-healthcheck's set_target_status). It reports whether the
// availability changed.
func (s *State) Set(healthy bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = [numCounters]uint8{}
	to := Unhealthy
	if healthy {
		to = Healthy
	}
	from := Status(s.status.Swap(uint32(to)))
	return from.Available() != to.Available()
}

// Counters returns the success, HTTP failure, TCP failure and timeout
// counters, for tests and diagnostics.
func (s *State) Counters() (successes, httpFailures, tcpFailures, timeouts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.counts[ctrSuccess]), int(s.counts[ctrHTTP]), int(s.counts[ctrTCP]), int(s.counts[ctrTimeout])
}

// incr is lua-resty-healthcheck's incr_counter: healthy reports a success
// (towards Healthy), else a failure (towards Unhealthy).
func (s *State) incr(healthy bool, limit, ctr int) (Status, bool) {
	if limit <= 0 {
		return s.Status(), false
	}
	full := Unhealthy
	if healthy {
		full = Healthy
	}
	// The common case (a success on a healthy address) needs no lock.
	if cur := s.Status(); cur == full {
		return cur, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.Status()
	if cur == full {
		return cur, false
	}
	if s.counts[ctr] < 255 {
		s.counts[ctr]++
	}
	if ctr == ctrSuccess {
		s.counts[ctrHTTP], s.counts[ctrTCP], s.counts[ctrTimeout] = 0, 0, 0
	} else {
		s.counts[ctrSuccess] = 0
	}
	next := cur
	switch {
	case int(s.counts[ctr]) >= limit:
		next = full
	case cur == Healthy && (s.counts[ctrHTTP] > 0 || s.counts[ctrTCP] > 0 || s.counts[ctrTimeout] > 0):
		next = MostlyHealthy
	case cur == Unhealthy && s.counts[ctrSuccess] > 0:
		next = MostlyUnhealthy
	}
	if next == cur {
		return cur, false
	}
	s.status.Store(uint32(next))
	return next, cur.Available() != next.Available()
}
