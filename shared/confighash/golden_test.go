package confighash_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/confighash"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the cases in golden_test.go")

const goldenPath = "testdata/golden.json"

// goldenFile is the layout of testdata/golden.json: test vectors for the
// cluster contract that any implementation can check itself against.
type goldenFile struct {
	Comment string       `json:"comment"`
	Cases   []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name       string                      `json:"name"`
	Config     map[string][]map[string]any `json:"config"`
	Hash       string                      `json:"hash"`
	TypeHashes map[string]string           `json:"type_hashes"`
	Entities   []goldenEntity              `json:"entities"`
}

type goldenEntity struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Canonical string `json:"canonical"`
	Digest    string `json:"digest"`
}

func goldenCases() []struct {
	name   string
	config map[string][]map[string]any
} {
	return []struct {
		name   string
		config map[string][]map[string]any
	}{
		{"empty", map[string][]map[string]any{}},
		{"empty-types", map[string][]map[string]any{"services": {}, "routes": nil}},
		{"one-service", map[string][]map[string]any{"services": {goldenService()}}},
		{"mixed", goldenMixed()},
	}
}

func goldenService() map[string]any {
	return map[string]any{
		"id":                 "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11",
		"name":               "orders",
		"protocol":           "https",
		"host":               "orders.internal",
		"port":               int64(443),
		"path":               "/api/v1",
		"retries":            int64(5),
		"connect_timeout":    int64(60000),
		"write_timeout":      int64(60000),
		"read_timeout":       int64(60000),
		"tags":               []any{"team-orders", "env-prod"},
		"client_certificate": nil,
		"tls_verify":         true,
		"tls_verify_depth":   nil,
		"ca_certificates":    []any{"8d2b1c3e-0a4f-4b6d-9e8f-1a2b3c4d5e6f"},
		"enabled":            true,
		"created_at":         int64(1700000000),
		"updated_at":         int64(1700000123),
	}
}

// goldenMixed is a small but realistic configuration touching every part of
// the encoding: nested records, arrays, nulls (omitted as members, kept in
// arrays), integer and fractional numbers of several Go types, unicode and
// characters that need escaping.
func goldenMixed() map[string][]map[string]any {
	return map[string][]map[string]any{
		"services": {
			goldenService(),
			{
				"id":              "0b9f4d2c-7e61-4a3f-8c2d-5e4f6a7b8c9d",
				"name":            "catalogue",
				"protocol":        "http",
				"host":            "catalogue.internal",
				"port":            8080,
				"path":            nil,
				"retries":         0.0,
				"connect_timeout": json.Number("60000"),
				"write_timeout":   60000.0,
				"read_timeout":    int32(60000),
				"tags":            nil,
				"enabled":         false,
				"created_at":      1700000000.123,
				"updated_at":      json.Number("1700000000.5"),
			},
		},
		"routes": {
			{
				"id":                         "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
				"name":                       "orders-read",
				"protocols":                  []any{"http", "https"},
				"methods":                    []any{"GET", "HEAD"},
				"hosts":                      []any{"api.example.com", "*.example.org"},
				"paths":                      []any{"/orders", `~/orders/\d+$`},
				"headers":                    map[string]any{"x-tenant": []any{"acme", "globex"}, "x-empty": []any{}},
				"https_redirect_status_code": int64(426),
				"regex_priority":             int64(-1),
				"strip_path":                 true,
				"path_handling":              "v0",
				"preserve_host":              false,
				"request_buffering":          true,
				"response_buffering":         true,
				"snis":                       nil,
				"sources":                    []any{map[string]any{"ip": "10.0.0.0/8", "port": nil}},
				"destinations":               nil,
				"tags":                       []any{"read", nil, "\u2028sep"},
				"service":                    map[string]any{"id": "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11"},
				"created_at":                 int64(1700000001),
				"updated_at":                 int64(1700000001),
			},
			{
				"id":        "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60",
				"name":      "catalogue-ünïcode-路由",
				"protocols": []any{"grpc"},
				"paths":     []any{"/catalogue.v1.Catalogue/"},
				"service":   map[string]any{"id": "0b9f4d2c-7e61-4a3f-8c2d-5e4f6a7b8c9d"},
				"tags":      []any{},
			},
			{
				"id":      "e3f4a5b6-c7d8-4e9f-8a1b-2c3d4e5f6071",
				"name":    "escapes",
				"paths":   []any{`/say/"hi"/\back`, "/tab\there", "/nl\nhere", "/ctl\x01\x1f", "/<html>&amp;"},
				"service": nil,
			},
		},
		"plugins": {
			{
				"id":            "f4a5b6c7-d8e9-4f0a-9b2c-3d4e5f607182",
				"name":          "rate-limiting",
				"instance_name": nil,
				"enabled":       true,
				"protocols":     []any{"grpc", "grpcs", "http", "https"},
				"route":         map[string]any{"id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"},
				"service":       nil,
				"consumer":      nil,
				"ordering":      map[string]any{"before": map[string]any{"access": []any{"key-auth"}}},
				"created_at":    1700000000.123,
				"config": map[string]any{
					"second":              nil,
					"minute":              float64(100),
					"hour":                json.Number("1000"),
					"limit_by":            "consumer",
					"policy":              "redis",
					"fault_tolerant":      true,
					"hide_client_headers": false,
					"error_code":          int64(429),
					"error_message":       "API rate limit exceeded — slow down 🚦",
					"sync_rate":           -1.0,
					"redis": map[string]any{
						"host":     "127.0.0.1",
						"port":     6379,
						"timeout":  2000.0,
						"database": 0,
						"password": nil,
						"ssl":      false,
					},
				},
			},
			{
				"id":        "a5b6c7d8-e9f0-4a1b-8c2d-4e5f60718293",
				"name":      "key-auth",
				"enabled":   true,
				"protocols": []any{"http", "https"},
				"route":     nil,
				"service":   map[string]any{"id": "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11"},
				"config": map[string]any{
					"key_names":        []any{"apikey", "x-api-key"},
					"key_in_header":    true,
					"key_in_query":     true,
					"key_in_body":      false,
					"hide_credentials": false,
					"anonymous":        nil,
					"run_on_preflight": true,
					"realm":            nil,
				},
			},
			{
				"id":      "b6c7d8e9-f0a1-4b2c-9d3e-5f6071829304",
				"name":    "request-transformer",
				"enabled": false,
				"config": map[string]any{
					"add": map[string]any{
						"headers":     []any{"x-gw:gatehouse", "x-ratio:0.25"},
						"querystring": []any{},
						"body":        nil,
					},
					"weights":   []any{0.5, 0.25, 1e-7, 123456.7, json.Number("2.5e3"), nil},
					"nested":    []any{[]any{}, []any{map[string]any{}}, []any{nil, []any{nil}}},
					"threshold": 0.1,
				},
			},
		},
		"consumers": {
			{
				"id":         "c7d8e9f0-a1b2-4c3d-8e4f-607182930415",
				"username":   "jöhn-doe",
				"custom_id":  nil,
				"tags":       []any{"gold"},
				"created_at": int64(1700000002),
			},
			{
				"id":         "d8e9f0a1-b2c3-4d4e-9f50-718293041526",
				"username":   "名前 🚀",
				"custom_id":  "ext-42",
				"tags":       nil,
				"created_at": json.Number("1700000003"),
			},
		},
	}
}

// renderGolden computes every golden case and returns the file content.
func renderGolden(t *testing.T) []byte {
	t.Helper()
	file := goldenFile{
		Comment: "Test vectors for gatehouse.dev/shared/confighash (see its package documentation). " +
			"Regenerate with: go test ./confighash -run TestGolden -update",
	}
	for _, c := range goldenCases() {
		ix, err := confighash.Build(c.config)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		gc := goldenCase{
			Name:       c.name,
			Config:     c.config,
			Hash:       ix.Hash(),
			TypeHashes: ix.TypeHashes(),
			Entities:   []goldenEntity{},
		}
		for typ, list := range c.config {
			for _, e := range list {
				canon, err := confighash.Canonical(e)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				d, err := confighash.EntityDigest(typ, e)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				gc.Entities = append(gc.Entities, goldenEntity{Type: typ, ID: e["id"].(string), Canonical: string(canon), Digest: d.String()})
			}
		}
		slices.SortFunc(gc.Entities, func(a, b goldenEntity) int {
			if c := strings.Compare(a.Type, b.Type); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		file.Cases = append(file.Cases, gc)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGolden pins the hash, the per-type hashes, and every entity's canonical
// encoding and digest. A failure here means the cluster contract changed.
func TestGolden(t *testing.T) {
	t.Parallel()
	got := renderGolden(t)
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	var g, w goldenFile
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", goldenPath, err)
	}
	if len(g.Cases) != len(w.Cases) {
		t.Fatalf("%d cases; %s has %d", len(g.Cases), goldenPath, len(w.Cases))
	}
	for i := range g.Cases {
		gc, wc := g.Cases[i], w.Cases[i]
		if gc.Hash != wc.Hash {
			t.Errorf("case %s: hash %s; golden %s", gc.Name, gc.Hash, wc.Hash)
		}
		for j := range min(len(gc.Entities), len(wc.Entities)) {
			if gc.Entities[j] != wc.Entities[j] {
				t.Errorf("case %s: entity\n%+v\ngolden\n%+v", gc.Name, gc.Entities[j], wc.Entities[j])
			}
		}
	}
	t.Errorf("%s differs from the computed vectors (see above); if the change is deliberate, it changes the cluster contract: rerun with -update", goldenPath)
}

// TestGoldenFileDecodes reads the vectors back from JSON, as a data plane
// would receive them, and checks that both decoding modes give the pinned
// hashes and digests.
func TestGoldenFileDecodes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(goldenPath)
	if *update {
		raw, err = renderGolden(t), nil // TestGolden may be rewriting the file
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, useNumber := range []bool{false, true} {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if useNumber {
			dec.UseNumber()
		}
		var file goldenFile
		if err := dec.Decode(&file); err != nil {
			t.Fatal(err)
		}
		if len(file.Cases) == 0 {
			t.Fatal("no cases")
		}
		for _, c := range file.Cases {
			got, err := confighash.Compute(c.Config)
			if err != nil {
				t.Fatalf("UseNumber=%v case %s: %v", useNumber, c.Name, err)
			}
			if got != c.Hash {
				t.Errorf("UseNumber=%v case %s: hash %s; golden %s", useNumber, c.Name, got, c.Hash)
			}
			byKey := map[[2]string]map[string]any{}
			for typ, list := range c.Config {
				for _, e := range list {
					byKey[[2]string{typ, e["id"].(string)}] = e
				}
			}
			for _, ge := range c.Entities {
				d, err := confighash.EntityDigest(ge.Type, byKey[[2]string{ge.Type, ge.ID}])
				if err != nil || d.String() != ge.Digest {
					t.Errorf("UseNumber=%v case %s %s %s: digest %s, %v; golden %s", useNumber, c.Name, ge.Type, ge.ID, d, err, ge.Digest)
				}
			}
		}
	}
}

// TestGoldenInvariants checks facts that the vectors must satisfy whatever
// their values.
func TestGoldenInvariants(t *testing.T) {
	t.Parallel()
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, err := confighash.Compute(c.config)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, list := range c.config {
				n += len(list)
			}
			if (n == 0) != (h == confighash.Empty) {
				t.Errorf("%d entities hash to %s", n, h)
			}
			if len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" {
				t.Errorf("hash %q is not 32 lower-case hex characters", h)
			}
		})
	}
}
