package declarative_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gatehouse.dev/shared/declarative"
	"gatehouse.dev/shared/schema"
)

// FuzzParse checks that Parse never panics, that every failure is a
// code-14 error, and that whatever it accepts survives an export and a
// second parse unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		nestedYAML, nestedJSON, exportYAML,
		`{"_format_version": "2.1", "routes": [{"name": "r", "paths": ["/x(y)%2e"]}]}`,
		"_format_version: \"3.0\"\nservices:\n- &s {name: a, host: h}\n- *s\n",
		`{"_format_version": "3.0", "consumer_groups": [{"name": "g", "consumers": ["a", {"id": 1}]}]}`,
		"a: [",
	} {
		f.Add([]byte(seed), false)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "flatten.json")); err == nil {
		f.Add(b, true)
	}
	cat := catalog(f)
	f.Fuzz(func(t *testing.T, data []byte, flatten bool) {
		opts := declarative.Options{Now: now, FlattenErrors: flatten, MaxEntities: 2000}
		cfg, err := declarative.Parse(data, cat, opts)
		if err != nil {
			var serr *schema.Error
			if !errors.As(err, &serr) || serr.Code != schema.CodeDeclarativeConfig {
				t.Fatalf("error %T %v, want a code-14 *schema.Error", err, err)
			}
			return
		}
		for _, format := range []declarative.Format{declarative.JSON, declarative.YAML} {
			out, err := cfg.Marshal(format)
			if err != nil {
				t.Fatalf("Marshal(%v): %v", format, err)
			}
			again, err := declarative.Parse(out, cat, opts)
			if err != nil {
				t.Fatalf("Parse of the %v export: %v\n%s", format, err, out)
			}
			if a, b := canonical(t, cfg.AsMap()), canonical(t, again.AsMap()); a != b {
				t.Fatalf("%v round trip changed the entities:\n%s\n%s", format, a, b)
			}
		}
	})
}
