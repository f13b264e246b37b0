package ratelimiting

import (
	"testing"
	"time"
)

func TestWindowsAlignToUTCCalendar(t *testing.T) {
	t.Parallel()
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	tests := []struct {
		name      string
		now       string
		p         period
		start     string
		resetSecs int64
	}{
		{"second", "2024-02-29T23:59:59Z", second, "2024-02-29T23:59:59Z", 1},
		{"minute", "2024-02-29T23:59:59Z", minute, "2024-02-29T23:59:00Z", 1},
		{"minute start", "2024-02-29T23:59:00Z", minute, "2024-02-29T23:59:00Z", 60},
		{"hour", "2024-02-29T23:10:05Z", hour, "2024-02-29T23:00:00Z", 3600 - 605},
		{"day", "2024-02-29T01:00:00Z", day, "2024-02-29T00:00:00Z", 86400 - 3600},
		{"month of a leap February", "2024-02-29T00:00:10Z", month, "2024-02-01T00:00:00Z", 2592000 - 28*86400 - 10},
		// A month is 30 days for Kong: on the 31st the reset is 1.
		{"31st of a month", "2024-01-31T12:00:00Z", month, "2024-01-01T00:00:00Z", 1},
		{"first of a month", "2024-03-01T00:00:00Z", month, "2024-03-01T00:00:00Z", 2592000},
		{"year", "2024-07-01T00:00:00Z", year, "2024-01-01T00:00:00Z", 31536000 - 182*86400},
		// A leap year's last day is past Kong's 365 days.
		{"leap year's last day", "2024-12-31T10:00:00Z", year, "2024-01-01T00:00:00Z", 1},
		{"new year", "2025-01-01T00:00:00Z", year, "2025-01-01T00:00:00Z", 31536000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := at(tt.now)
			if got, want := tt.p.start(now), at(tt.start); got != want {
				t.Errorf("start = %s, want %s", time.Unix(got, 0).UTC(), tt.start)
			}
			if got := tt.p.reset(now); got != tt.resetSecs {
				t.Errorf("reset = %d, want %d", got, tt.resetSecs)
			}
		})
	}
}

func TestWindowLengthsAreKongs(t *testing.T) {
	t.Parallel()
	want := map[string]int64{"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 2592000, "year": 31536000}
	for p := range numPeriods {
		if p.seconds() != want[p.String()] {
			t.Errorf("%s = %d s, want %d", p, p.seconds(), want[p.String()])
		}
	}
}

func FuzzWindows(f *testing.F) {
	for _, s := range []int64{0, 1700000000, 1709164800, 1735689599, 4102444800, -86401} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, now int64) {
		// Unix seconds within the years 1..9999 and back.
		if now < -62135596800 || now > 253402300799 {
			return
		}
		for p := range numPeriods {
			s := p.start(now)
			if s > now || p.start(s) != s {
				t.Fatalf("%s at %d: start %d", p, now, s)
			}
			if r := p.reset(now); r < 1 || r > p.seconds() {
				t.Fatalf("%s at %d: reset %d", p, now, r)
			}
			tm := time.Unix(s, 0).UTC()
			switch p {
			case second:
			case minute, hour, day:
				if now-s >= p.seconds() || mod(s, p.seconds()) != 0 {
					t.Fatalf("%s at %d: start %d", p, now, s)
				}
			case month:
				if tm.Day() != 1 || tm.Hour() != 0 || tm.Minute() != 0 || tm.Second() != 0 || now-s >= 31*86400 {
					t.Fatalf("%s at %d: start %v", p, now, tm)
				}
			case year:
				if tm.YearDay() != 1 || tm.Hour() != 0 || now-s >= 366*86400 {
					t.Fatalf("%s at %d: start %v", p, now, tm)
				}
			case numPeriods:
			}
		}
	})
}
