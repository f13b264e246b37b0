package syncclient

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	t.Parallel()
	c := New(Options{BackoffInitial: 100 * time.Millisecond, BackoffCap: time.Second}, nil, nil, nil, nil)
	tests := []struct {
		rounds   int
		lo, high time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{50, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := c.backoff(tt.rounds)
			if d < tt.lo || d > tt.high {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", tt.rounds, d, tt.lo, tt.high)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff(%d) took %d distinct values in 200 draws: no jitter", tt.rounds, len(seen))
		}
	}
	if d := New(Options{}, nil, nil, nil, nil).backoff(100); d > DefaultBackoffCap {
		t.Errorf("default cap exceeded: %s", d)
	}
}
