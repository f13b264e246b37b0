package ratelimiting

import (
	"maps"
	"testing"
)

func TestDecideHeaders(t *testing.T) {
	t.Parallel()
	lim := func(p period, v float64) limit { return limit{p: p, value: v, text: formatNumber(v)} }
	// now is 22:13:20 UTC: 40 s left of the minute, 2800 s of the hour.
	now := t0.Unix()
	tests := []struct {
		name    string
		limits  []limit
		usage   usage
		blocked bool
		want    map[string]string
	}{
		{
			name:   "first request",
			limits: []limit{lim(minute, 10)},
			want: map[string]string{
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "9",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "40",
			},
		},
		{
			name:   "last request admitted",
			limits: []limit{lim(minute, 10)},
			usage:  usage{9},
			want: map[string]string{
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "0",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
			},
		},
		{
			name:    "blocked",
			limits:  []limit{lim(minute, 10)},
			usage:   usage{10},
			blocked: true,
			want: map[string]string{
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "0",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
			},
		},
		{
			name:   "the most restrictive period is the one with least remaining",
			limits: []limit{lim(second, 5), lim(minute, 100), lim(hour, 1000)},
			usage:  usage{1, 97, 10},
			want: map[string]string{
				"X-RateLimit-Limit-Second": "5", "X-RateLimit-Remaining-Second": "3",
				"X-RateLimit-Limit-Minute": "100", "X-RateLimit-Remaining-Minute": "2",
				"X-RateLimit-Limit-Hour": "1000", "X-RateLimit-Remaining-Hour": "989",
				"RateLimit-Limit": "100", "RateLimit-Remaining": "2", "RateLimit-Reset": "40",
			},
		},
		{
			name:   "a tie goes to the longer window",
			limits: []limit{lim(second, 5), lim(minute, 10), lim(hour, 20)},
			usage:  usage{0, 5, 15},
			want: map[string]string{
				"X-RateLimit-Limit-Second": "5", "X-RateLimit-Remaining-Second": "4",
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "4",
				"X-RateLimit-Limit-Hour": "20", "X-RateLimit-Remaining-Hour": "4",
				"RateLimit-Limit": "20", "RateLimit-Remaining": "4", "RateLimit-Reset": "2800",
			},
		},
		{
			name:    "when blocked only the blocking period counts this request",
			limits:  []limit{lim(second, 5), lim(minute, 10), lim(hour, 100)},
			usage:   usage{3, 10, 50},
			blocked: true,
			want: map[string]string{
				"X-RateLimit-Limit-Second": "5", "X-RateLimit-Remaining-Second": "2",
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "0",
				"X-RateLimit-Limit-Hour": "100", "X-RateLimit-Remaining-Hour": "50",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
			},
		},
		{
			name:    "two blocking periods: the longer one describes the wait",
			limits:  []limit{lim(second, 2), lim(minute, 10)},
			usage:   usage{2, 12},
			blocked: true,
			want: map[string]string{
				"X-RateLimit-Limit-Second": "2", "X-RateLimit-Remaining-Second": "0",
				"X-RateLimit-Limit-Minute": "10", "X-RateLimit-Remaining-Minute": "0",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
			},
		},
		{
			name:   "fractional limits",
			limits: []limit{lim(minute, 2.5)},
			usage:  usage{1},
			want: map[string]string{
				"X-RateLimit-Limit-Minute": "2.5", "X-RateLimit-Remaining-Minute": "0.5",
				"RateLimit-Limit": "2.5", "RateLimit-Remaining": "0.5", "RateLimit-Reset": "40",
			},
		},
		{
			name:    "a fractional limit blocks once nothing is left",
			limits:  []limit{lim(minute, 2.5)},
			usage:   usage{3},
			blocked: true,
			want: map[string]string{
				"X-RateLimit-Limit-Minute": "2.5", "X-RateLimit-Remaining-Minute": "0",
				"RateLimit-Limit": "2.5", "RateLimit-Remaining": "0", "RateLimit-Reset": "40",
			},
		},
		{
			name:   "year and month",
			limits: []limit{lim(month, 1000), lim(year, 1000)},
			usage:  usage{10, 10},
			want: map[string]string{
				"X-RateLimit-Limit-Month": "1000", "X-RateLimit-Remaining-Month": "989",
				"X-RateLimit-Limit-Year": "1000", "X-RateLimit-Remaining-Year": "989",
				// 2023-11-14T22:13:20Z: 317 days and 80000 s into the year.
				"RateLimit-Limit": "1000", "RateLimit-Remaining": "989", "RateLimit-Reset": "4067200",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := admits(tt.limits, &tt.usage); got == tt.blocked {
				t.Errorf("admits = %v, want %v", got, !tt.blocked)
			}
			d := decide(tt.limits, &tt.usage, now)
			if (d.blocked >= 0) != tt.blocked {
				t.Errorf("blocked = %d", d.blocked)
			}
			got := map[string]string{}
			d.each(tt.limits, func(k, v string) { got[k] = v })
			if !maps.Equal(got, tt.want) {
				t.Errorf("headers\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{0: "0", 10: "10", 2.5: "2.5", 1e6: "1000000", 0.125: "0.125"} {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}
