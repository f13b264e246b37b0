package declarative_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"go.yaml.in/yaml/v3"

	"gatehouse.dev/shared/declarative"
)

// benchDoc builds a file of about n entities: services with a nested
// route and a route plugin, and consumers with a basic-auth credential.
func benchDoc(n int) map[string]any {
	var services, consumers []any
	for i := 0; len(services)*3+len(consumers)*2 < n; i++ {
		if i%4 == 3 {
			consumers = append(consumers, map[string]any{
				"username": fmt.Sprintf("user-%d", i),
				"tags":     []any{"bench"},
				"basicauth_credentials": []any{map[string]any{
					"username": fmt.Sprintf("user-%d", i), "password": "secret",
				}},
			})
			continue
		}
		services = append(services, map[string]any{
			"name": fmt.Sprintf("service-%d", i),
			"url":  fmt.Sprintf("http://upstream-%d.internal:8080/v1", i),
			"tags": []any{"bench", "team-a"},
			"routes": []any{map[string]any{
				"name":    fmt.Sprintf("route-%d", i),
				"paths":   []any{fmt.Sprintf("/svc/%d", i)},
				"methods": []any{"GET", "POST"},
				"plugins": []any{map[string]any{
					"name":   "rate-limiting",
					"config": map[string]any{"minute": 100, "policy": "local"},
				}},
			}},
		})
	}
	return map[string]any{"_format_version": "3.0", "services": services, "consumers": consumers}
}

func BenchmarkParse(b *testing.B) {
	doc := benchDoc(10000)
	jsonData, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	yamlData, err := yaml.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog(b)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"entities=10k/yaml", yamlData},
		{"entities=10k/json", jsonData},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := declarative.Parse(tc.data, cat, declarative.Options{Now: now})
			if err != nil {
				b.Fatal(err)
			}
			if cfg.Len() < 10000 {
				b.Fatalf("%d entities, want 10000", cfg.Len())
			}
			b.SetBytes(int64(len(tc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := declarative.Parse(tc.data, cat, declarative.Options{Now: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	data, err := json.Marshal(benchDoc(10000))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := declarative.Parse(data, catalog(b), declarative.Options{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []declarative.Format{declarative.JSON, declarative.YAML} {
		b.Run("entities=10k/"+f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := cfg.Marshal(f)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(out)))
			}
		})
	}
}
