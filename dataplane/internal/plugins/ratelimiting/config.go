package ratelimiting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"gatehouse.dev/dataplane/internal/redispool"
	"gatehouse.dev/shared/schema"
)

// Policies and limit_by values.
const (
	policyLocal = "local"
	policyRedis = "redis"

	byConsumer   = "consumer"
	byCredential = "credential"
	byIP         = "ip"
	byService    = "service"
	byHeader     = "header"
	byPath       = "path"
)

// emptyUUID stands for the route or service a plugin is not attached to,
// in counter keys.
const emptyUUID = "00000000-0000-0000-0000-000000000000"

// limit is one configured period.
type limit struct {
	p     period
	value float64
	// text is value as a header shows it.
	text string
}

// config is a plugin entity's config record, parsed once.
type config struct {
	limits        []limit // configured periods, shortest first
	limitBy       string
	headerName    string
	path          string
	policy        string
	faultTolerant bool
	redis         redispool.Settings
	hideHeaders   bool
	errorCode     int
	errorMessage  string
	// syncRate is the redis policy's batching interval; 0 counts in Redis
	// on every request (Kong's sync_rate -1).
	syncRate time.Duration
}

// parseConfig reads a config record the plugin's schema validated.
func parseConfig(m map[string]any) (config, error) {
	c := config{
		limitBy:       str(m, "limit_by", byConsumer),
		headerName:    str(m, "header_name", ""),
		path:          str(m, "path", ""),
		policy:        str(m, "policy", policyLocal),
		faultTolerant: flag(m, "fault_tolerant", true),
		hideHeaders:   flag(m, "hide_client_headers", false),
		errorCode:     http429,
		errorMessage:  str(m, "error_message", "API rate limit exceeded"),
	}
	for p := range numPeriods {
		v, ok := schema.AsFloat(m[p.String()])
		if !ok {
			continue
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return config{}, fmt.Errorf("config.%s: %v is not a positive number", p, v)
		}
		c.limits = append(c.limits, limit{p: p, value: v, text: formatNumber(v)})
	}
	if len(c.limits) == 0 {
		return config{}, errors.New("no limit configured (second, minute, hour, day, month or year)")
	}
	switch c.limitBy {
	case byConsumer, byCredential, byIP, byService:
	case byHeader:
		if c.headerName == "" {
			return config{}, errors.New("config.header_name is required with limit_by header")
		}
	case byPath:
		if c.path == "" {
			return config{}, errors.New("config.path is required with limit_by path")
		}
	default:
		return config{}, fmt.Errorf("config.limit_by: unknown value %q", c.limitBy)
	}
	if v, ok := schema.AsFloat(m["error_code"]); ok {
		if v < 100 || v > 999 {
			return config{}, fmt.Errorf("config.error_code: %v is not an HTTP status", v)
		}
		c.errorCode = int(v)
	}
	syncRate := -1.0
	if v, ok := schema.AsFloat(m["sync_rate"]); ok {
		syncRate = v
	}
	switch c.policy {
	case policyLocal:
		if syncRate != -1 {
			return config{}, errors.New("sync_rate can only be used with the redis policy")
		}
	case policyRedis:
		r, err := parseRedis(m["redis"])
		if err != nil {
			return config{}, err
		}
		c.redis = r
		switch {
		case syncRate == -1:
		case syncRate >= 0.02 && syncRate <= math.MaxInt64/float64(time.Second):
			c.syncRate = time.Duration(syncRate * float64(time.Second))
		default:
			return config{}, errors.New("sync_rate must be greater than 0.02, or -1 to disable")
		}
	default:
		// Kong refuses "cluster" on hybrid-mode nodes: there is no
		// database on a data plane.
		return config{}, fmt.Errorf("config.policy: %q is not available on a data plane (local or redis)", c.policy)
	}
	return c, nil
}

const http429 = 429

// parseRedis reads the redis record.
func parseRedis(v any) (redispool.Settings, error) {
	m, _ := v.(map[string]any)
	s := redispool.Settings{
		Host:       str(m, "host", ""),
		Port:       6379,
		Username:   str(m, "username", ""),
		Password:   str(m, "password", ""),
		SSL:        flag(m, "ssl", false),
		SSLVerify:  flag(m, "ssl_verify", false),
		ServerName: str(m, "server_name", ""),
		Timeout:    2000 * time.Millisecond,
	}
	if s.Host == "" {
		return redispool.Settings{}, errors.New("config.redis.host is required with the redis policy")
	}
	if n, ok := schema.AsInt(m["port"]); ok {
		if n < 0 || n > 65535 {
			return redispool.Settings{}, fmt.Errorf("config.redis.port: %d is not a port", n)
		}
		s.Port = int(n)
	}
	if n, ok := schema.AsInt(m["database"]); ok {
		if n < 0 || n > math.MaxInt32 {
			return redispool.Settings{}, fmt.Errorf("config.redis.database: %d is not a database", n)
		}
		s.Database = int(n)
	}
	if n, ok := schema.AsInt(m["timeout"]); ok {
		if n < 0 || n > math.MaxInt32 {
			return redispool.Settings{}, fmt.Errorf("config.redis.timeout: %d is not a timeout", n)
		}
		s.Timeout = time.Duration(n) * time.Millisecond
	}
	return s, nil
}

// str returns a string field, def when absent or null.
func str(m map[string]any, key, def string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return def
}

// flag returns a boolean field, def when absent or null.
func flag(m map[string]any, key string, def bool) bool {
	if b, ok := m[key].(bool); ok {
		return b
	}
	return def
}

// formatNumber writes a number as Kong's headers do: integers without a
// fraction.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
