package ratelimiting

import (
	"testing"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/shared/schema"
)

// BenchmarkAccess measures the access phase per request, with a limit
// never reached (a minute and an hour), for each way of counting, and
// reports the Redis round trips per request: 1 in realtime mode, about 0
// with sync_rate.
func BenchmarkAccess(b *testing.B) {
	for _, pol := range []struct {
		name string
		conf map[string]any
	}{
		{"local", map[string]any{}},
		{"redis", redisConfig(map[string]any{})},
		{"redis-sync", redisConfig(map[string]any{"sync_rate": 0.1})},
	} {
		b.Run(pol.name, func(b *testing.B) {
			pol.conf["minute"] = 1e12
			pol.conf["hour"] = 1e12
			pol.conf["limit_by"] = "consumer"
			route := schema.NewUUID()
			b.Cleanup(func() { deleteKeys(b, "ratelimit:"+route+":*") })
			inst, err := Factory{}.New(pdktest.NewConfig(b, pdktest.NewEnv(), map[string]any{
				"name": Name, "config": pol.conf, "route": map[string]any{"id": route},
			}))
			if err != nil {
				b.Fatal(err)
			}
			in := inst.(*Instance)
			if in.backend != nil {
				b.Cleanup(func() { _ = in.backend.Close() })
			}
			consumer := &pdk.Consumer{ID: schema.NewUUID()}
			ctx := get("10.30.0.1").WithConsumer(consumer, nil)
			var trips uint64
			if in.redis != nil {
				trips = in.redis.client.RoundTrips()
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := in.Access(ctx); err != nil || ctx.Exited() {
					b.Fatalf("%v exited %v", err, ctx.Exited())
				}
				n++
			}
			if in.redis != nil {
				b.ReportMetric(float64(in.redis.client.RoundTrips()-trips)/float64(n), "roundtrips/op")
			}
		})
	}
}

// BenchmarkAccessParallel is BenchmarkAccess's redis case with requests
// from many goroutines at once, as on a loaded data plane: concurrent
// counts share round trips (batch.go), so roundtrips/op falls below 1.
func BenchmarkAccessParallel(b *testing.B) {
	conf := redisConfig(map[string]any{"minute": 1e12, "hour": 1e12, "limit_by": "consumer"})
	route := schema.NewUUID()
	b.Cleanup(func() { deleteKeys(b, "ratelimit:"+route+":*") })
	inst, err := Factory{}.New(pdktest.NewConfig(b, pdktest.NewEnv(), map[string]any{
		"name": Name, "config": conf, "route": map[string]any{"id": route},
	}))
	if err != nil {
		b.Fatal(err)
	}
	in := inst.(*Instance)
	b.Cleanup(func() { _ = in.backend.Close() })
	trips := in.redis.client.RoundTrips()
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		consumer := &pdk.Consumer{ID: schema.NewUUID()}
		for pb.Next() {
			ctx := get("10.30.0.2").WithConsumer(consumer, nil)
			if err := in.Access(ctx); err != nil || ctx.Exited() {
				b.Errorf("%v exited %v", err, ctx.Exited())
				return
			}
		}
	})
	b.ReportMetric(float64(in.redis.client.RoundTrips()-trips)/float64(b.N), "roundtrips/op")
}
