package confighash_test

import (
	"fmt"
	"math/rand/v2"
)

// genConfig returns a deterministic, realistic configuration of n entities:
// 15% services, 40% routes, 30% plugins and 15% consumers, shaped like
// Kong's entities (every field present, unset ones null).
func genConfig(n int) map[string][]map[string]any {
	r := rand.New(rand.NewPCG(uint64(n), 42)) //nolint:gosec // G404: a seeded PRNG makes the test data reproducible.
	nServices := max(1, n*15/100)
	nRoutes := n * 40 / 100
	nConsumers := n * 15 / 100
	nPlugins := n - nServices - nRoutes - nConsumers
	cfg := map[string][]map[string]any{}
	for i := range nServices {
		cfg["services"] = append(cfg["services"], genService(r, i))
	}
	for i := range nRoutes {
		svc := cfg["services"][r.IntN(nServices)]
		cfg["routes"] = append(cfg["routes"], genRoute(r, i, svc["id"].(string)))
	}
	for i := range nConsumers {
		cfg["consumers"] = append(cfg["consumers"], genConsumer(r, i))
	}
	for i := range nPlugins {
		var route any
		if nRoutes > 0 && i%4 != 0 {
			route = map[string]any{"id": cfg["routes"][r.IntN(nRoutes)]["id"]}
		}
		cfg["plugins"] = append(cfg["plugins"], genPlugin(r, i, route))
	}
	return cfg
}

func genUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, 0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
}

func genService(r *rand.Rand, i int) map[string]any {
	return map[string]any{
		"id":                 genUUID(r),
		"name":               fmt.Sprintf("service-%d", i),
		"protocol":           "http",
		"host":               fmt.Sprintf("upstream-%d.internal.example.com", i),
		"port":               int64(8000 + r.IntN(1000)),
		"path":               fmt.Sprintf("/api/v%d", 1+r.IntN(3)),
		"retries":            int64(5),
		"connect_timeout":    int64(60000),
		"write_timeout":      int64(60000),
		"read_timeout":       int64(60000),
		"tags":               []any{"team-" + []string{"a", "b", "c", "d", "e"}[r.IntN(5)], "env-prod"},
		"client_certificate": nil,
		"tls_verify":         nil,
		"tls_verify_depth":   nil,
		"ca_certificates":    nil,
		"enabled":            true,
		"created_at":         int64(1700000000 + i),
		"updated_at":         int64(1700000000 + i + r.IntN(1000)),
	}
}

func genRoute(r *rand.Rand, i int, serviceID string) map[string]any {
	return map[string]any{
		"id":                         genUUID(r),
		"name":                       fmt.Sprintf("route-%d", i),
		"protocols":                  []any{"http", "https"},
		"methods":                    []any{"GET", "POST", "PUT"},
		"hosts":                      []any{fmt.Sprintf("api-%d.example.com", i%50)},
		"paths":                      []any{fmt.Sprintf("/v1/route-%d", i), `~/v1/items/\d+$`},
		"headers":                    map[string]any{"x-tenant": []any{"acme", fmt.Sprintf("t%d", r.IntN(100))}},
		"https_redirect_status_code": int64(426),
		"regex_priority":             int64(r.IntN(10)),
		"strip_path":                 true,
		"path_handling":              "v0",
		"preserve_host":              false,
		"request_buffering":          true,
		"response_buffering":         true,
		"snis":                       nil,
		"sources":                    nil,
		"destinations":               nil,
		"tags":                       []any{"generated"},
		"service":                    map[string]any{"id": serviceID},
		"created_at":                 int64(1700000000 + i),
		"updated_at":                 int64(1700000000 + i),
	}
}

func genPlugin(r *rand.Rand, i int, route any) map[string]any {
	return map[string]any{
		"id":            genUUID(r),
		"name":          "rate-limiting",
		"instance_name": nil,
		"enabled":       true,
		"protocols":     []any{"grpc", "grpcs", "http", "https"},
		"route":         route,
		"service":       nil,
		"consumer":      nil,
		"tags":          nil,
		"ordering":      nil,
		"created_at":    1700000000.123 + float64(i),
		"updated_at":    int64(1700000000 + i),
		"config": map[string]any{
			"second":              nil,
			"minute":              float64(10 + r.IntN(100)),
			"hour":                float64(1000),
			"day":                 nil,
			"month":               nil,
			"year":                nil,
			"limit_by":            "consumer",
			"policy":              "redis",
			"fault_tolerant":      true,
			"hide_client_headers": false,
			"error_code":          float64(429),
			"error_message":       "API rate limit exceeded",
			"sync_rate":           float64(-1),
			"header_name":         nil,
			"path":                nil,
			"redis": map[string]any{
				"host":     "127.0.0.1",
				"port":     float64(6379),
				"timeout":  float64(2000),
				"database": float64(0),
				"password": nil,
				"ssl":      false,
			},
		},
	}
}

func genConsumer(r *rand.Rand, i int) map[string]any {
	return map[string]any{
		"id":         genUUID(r),
		"username":   fmt.Sprintf("user-%d", i),
		"custom_id":  nil,
		"tags":       []any{"tier-" + []string{"gold", "silver", "bronze"}[r.IntN(3)]},
		"created_at": int64(1700000000 + i),
		"updated_at": int64(1700000000 + i),
	}
}
