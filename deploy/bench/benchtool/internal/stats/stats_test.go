package stats

import (
	"math"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []float64
		want   Summary
		text   string
	}{
		{"none", nil, Summary{}, "-"},
		{"one", []float64{3}, Summary{Median: 3, Min: 3, Max: 3, N: 1}, "3.0"},
		{"odd", []float64{5, 1, 3}, Summary{Median: 3, Min: 1, Max: 5, N: 3}, "3.0 (1.0–5.0)"},
		{"even", []float64{4, 1, 2, 10}, Summary{Median: 3, Min: 1, Max: 10, N: 4}, "3.0 (1.0–10.0)"},
		{"NaN ignored", []float64{math.NaN(), 2, 2}, Summary{Median: 2, Min: 2, Max: 2, N: 2}, "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Summarize(tt.values)
			if got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.values, got, tt.want)
			}
			if s := got.Format("%.1f"); s != tt.text {
				t.Errorf("Format = %q, want %q", s, tt.text)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}}
	for _, tt := range tests {
		if got := Percentile(d, tt.p); got != tt.want {
			t.Errorf("Percentile(1..100 ms, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
}
