package healthcheck_test

import (
	"sync"
	"testing"

	"gatehouse.dev/dataplane/internal/healthcheck"
)

var (
	ok200   = healthcheck.Result{Status: 200}
	err500  = healthcheck.Result{Status: 500}
	other   = healthcheck.Result{Status: 418}
	bad     = healthcheck.Result{Status: 0}
	tcpFail = healthcheck.Result{Failure: healthcheck.FailureTCP}
	timeout = healthcheck.Result{Failure: healthcheck.FailureTimeout}
)

func checks(successes, httpFailures, tcpFailures, timeouts int) *healthcheck.Checks {
	return &healthcheck.Checks{
		Type:              "http",
		HealthyStatuses:   healthcheck.NewStatusSet(200, 302),
		UnhealthyStatuses: healthcheck.NewStatusSet(500, 503),
		Successes:         successes,
		HTTPFailures:      httpFailures,
		TCPFailures:       tcpFailures,
		Timeouts:          timeouts,
	}
}

func TestStateRecord(t *testing.T) {
	t.Parallel()
	const (
		H  = healthcheck.Healthy
		MH = healthcheck.MostlyHealthy
		U  = healthcheck.Unhealthy
		MU = healthcheck.MostlyUnhealthy
	)
	tests := []struct {
		name    string
		start   bool
		checks  *healthcheck.Checks
		reports []healthcheck.Result
		want    []healthcheck.Status // status after each report
		flips   int                  // availability changes seen
	}{
		{
			name: "http failures flip at the threshold", start: true, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{err500, err500, err500},
			want:    []healthcheck.Status{MH, MH, U}, flips: 1,
		},
		{
			name: "a success resets the failure counters", start: true, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{err500, err500, ok200, err500, err500, err500},
			want:    []healthcheck.Status{MH, MH, MH, MH, MH, U}, flips: 1,
		},
		{
			name: "failure kinds count separately", start: true, checks: checks(2, 3, 3, 3),
			reports: []healthcheck.Result{err500, err500, tcpFail, tcpFail, timeout, timeout},
			want:    []healthcheck.Status{MH, MH, MH, MH, MH, MH}, flips: 0,
		},
		{
			name: "one timeout is enough when the limit is 1", start: true, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{timeout},
			want:    []healthcheck.Status{U}, flips: 1,
		},
		{
			name: "tcp failures", start: true, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{tcpFail, tcpFail},
			want:    []healthcheck.Status{MH, U}, flips: 1,
		},
		{
			name: "successes bring an unhealthy address back", start: false, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{ok200, ok200},
			want:    []healthcheck.Status{MU, H}, flips: 1,
		},
		{
			name: "a failure resets the success counter", start: false, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{ok200, err500, ok200, ok200},
			want:    []healthcheck.Status{MU, MU, MU, H}, flips: 1,
		},
		{
			name: "an unhealthy address does not count failures", start: false, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{err500, err500, err500, timeout},
			want:    []healthcheck.Status{U, U, U, U}, flips: 0,
		},
		{
			name: "a healthy address does not count successes", start: true, checks: checks(1, 3, 2, 1),
			reports: []healthcheck.Result{ok200, ok200},
			want:    []healthcheck.Status{H, H}, flips: 0,
		},
		{
			name: "a zero limit disables its counter", start: true, checks: checks(0, 0, 2, 0),
			reports: []healthcheck.Result{err500, timeout, err500, tcpFail},
			want:    []healthcheck.Status{H, H, H, MH}, flips: 0,
		},
		{
			name: "a disabled success counter resets nothing", start: true, checks: checks(0, 2, 2, 1),
			reports: []healthcheck.Result{err500, ok200, err500},
			want:    []healthcheck.Status{MH, MH, U}, flips: 1,
		},
		{
			name: "unlisted statuses are ignored", start: true, checks: checks(2, 1, 2, 1),
			reports: []healthcheck.Result{other, other},
			want:    []healthcheck.Status{H, H}, flips: 0,
		},
		{
			name: "an unreadable response is an http failure", start: true, checks: checks(2, 1, 2, 1),
			reports: []healthcheck.Result{bad},
			want:    []healthcheck.Status{U}, flips: 1,
		},
		{
			name: "mostly healthy back to healthy", start: true, checks: checks(2, 3, 2, 1),
			reports: []healthcheck.Result{err500, ok200, ok200},
			want:    []healthcheck.Status{MH, MH, H}, flips: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := healthcheck.NewState(tt.start)
			flips := 0
			for i, r := range tt.reports {
				got, flipped := s.Record(tt.checks, r)
				if flipped {
					flips++
				}
				if got != tt.want[i] || s.Status() != got {
					t.Fatalf("after report %d (%+v): status %v (held %v), want %v", i, r, got, s.Status(), tt.want[i])
				}
			}
			if flips != tt.flips {
				t.Errorf("availability flips = %d, want %d", flips, tt.flips)
			}
		})
	}
}

func TestStateSetClearsCounters(t *testing.T) {
	t.Parallel()
	s := healthcheck.NewState(true)
	c := checks(2, 3, 2, 1)
	s.Record(c, err500)
	s.Record(c, err500)
	if flipped := s.Set(false); !flipped {
		t.Fatal("Set(false) on a mostly healthy address did not flip it")
	}
	if succ, h, tcp, to := s.Counters(); succ+h+tcp+to != 0 {
		t.Fatalf("counters after Set = %d %d %d %d, want zeros", succ, h, tcp, to)
	}
	if s.Available() {
		t.Fatal("Set(false) left the address available")
	}
	if flipped := s.Set(false); flipped {
		t.Fatal("Set(false) twice reported a flip")
	}
}

func TestStateRecordConcurrentSafe(t *testing.T) {
	t.Parallel()
	s := healthcheck.NewState(true)
	c := checks(5, 50, 0, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s.Record(c, err500)
			}
		})
	}
	wg.Wait()
	if s.Status() != healthcheck.Unhealthy {
		t.Fatalf("status after 800 failures = %v, want unhealthy", s.Status())
	}
	if _, h, _, _ := s.Counters(); h != 50 {
		t.Fatalf("http failure counter = %d, want 50 (counting stops once unhealthy)", h)
	}
}
