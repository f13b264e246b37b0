package ratelimiting

import "time"

// period is one of the plugin's periods, shortest first, so a larger
// period has a longer window.
type period uint8

const (
	second period = iota
	minute
	hour
	day
	month
	year
	numPeriods
)

var periodNames = [numPeriods]string{"second", "minute", "hour", "day", "month", "year"}

// periodSeconds are Kong's window lengths (kong/plugins/rate-limiting/
// expiration.lua), used for counter expiry and RateLimit-Reset: a month is
// 30 days and a year 365 days whatever the calendar says.
var periodSeconds = [numPeriods]int64{1, 60, 3600, 86400, 2592000, 31536000}

var (
	limitHeaders = [numPeriods]string{
		"X-RateLimit-Limit-Second", "X-RateLimit-Limit-Minute", "X-RateLimit-Limit-Hour",
		"X-RateLimit-Limit-Day", "X-RateLimit-Limit-Month", "X-RateLimit-Limit-Year",
	}
	remainingHeaders = [numPeriods]string{
		"X-RateLimit-Remaining-Second", "X-RateLimit-Remaining-Minute", "X-RateLimit-Remaining-Hour",
		"X-RateLimit-Remaining-Day", "X-RateLimit-Remaining-Month", "X-RateLimit-Remaining-Year",
	}
)

func (p period) String() string { return periodNames[p] }

// seconds is the window length Kong uses for p.
func (p period) seconds() int64 { return periodSeconds[p] }

// start returns the start (Unix seconds) of the window of p holding now:
// windows are aligned to UTC calendar boundaries, as Kong's
// timestamp.get_timestamps does.
func (p period) start(now int64) int64 {
	switch p {
	case second:
		return now
	case minute, hour, day:
		n := p.seconds()
		return now - mod(now, n)
	case month:
		y, m, _ := time.Unix(now, 0).UTC().Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
	case year:
		y := time.Unix(now, 0).UTC().Year()
		return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
	case numPeriods:
	}
	panic("ratelimiting: no such period")
}

// reset is RateLimit-Reset for p at now: the seconds left of Kong's window
// length since the window started, at least 1.
func (p period) reset(now int64) int64 {
	return max(1, p.seconds()-(now-p.start(now)))
}

// mod is the floored remainder, so windows before 1970 align too.
func mod(a, n int64) int64 {
	r := a % n
	if r < 0 {
		r += n
	}
	return r
}
