package confighash_test

import (
	"maps"
	"testing"

	"gatehouse.dev/shared/confighash"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1k", 1_000},
	{"10k", 10_000},
	{"100k", 100_000},
}

// BenchmarkCompute hashes a generated configuration of n entities from
// scratch. ns/entity is the cost per entity.
func BenchmarkCompute(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("entities="+size.name, func(b *testing.B) {
			cfg := genConfig(size.n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := confighash.Compute(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size.n), "ns/entity")
		})
	}
}

// BenchmarkUpdateOne replaces one route in an Index of n entities and reads
// the hash, as sync-hub does for a one-entity change. It must not grow with n.
func BenchmarkUpdateOne(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("entities="+size.name, func(b *testing.B) {
			cfg := genConfig(size.n)
			ix, err := confighash.Build(cfg)
			if err != nil {
				b.Fatal(err)
			}
			route := cfg["routes"][len(cfg["routes"])/2]
			versions := [2]map[string]any{route, maps.Clone(route)}
			versions[1]["updated_at"] = route["updated_at"].(int64) + 1
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := ix.Put("routes", versions[i&1]); err != nil {
					b.Fatal(err)
				}
				_ = ix.Hash()
			}
			if ix.Len() != size.n {
				b.Fatalf("Len = %d; want %d", ix.Len(), size.n)
			}
		})
	}
}

// BenchmarkEntityDigest digests one realistic entity of each kind.
func BenchmarkEntityDigest(b *testing.B) {
	cfg := genConfig(100)
	for _, typ := range []string{"services", "routes", "plugins", "consumers"} {
		b.Run("type="+typ, func(b *testing.B) {
			e := cfg[typ][0]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := confighash.EntityDigest(typ, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHash reads the hash of an Index, which costs O(types).
func BenchmarkHash(b *testing.B) {
	ix, err := confighash.Build(genConfig(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = ix.Hash()
	}
}
