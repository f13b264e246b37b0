package declarative_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gatehouse.dev/shared/declarative"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path) //nolint:gosec // path is testdata/ and a name the tests spell out
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestFlattenedErrors follows Kong's own flatten_errors test
// (spec/01-unit/01-db/... "flatten_errors"): errors of nested entities are
// hoisted to the top with their parent's primary key, entities come types
// and indices from the last down with nested ones first, and what belongs
// to no entity (an element that is not a record) stays in fields.
func TestFlattenedErrors(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("testdata", "flatten.json"))
	if err != nil {
		t.Fatal(err)
	}
	flat := parseError(t, string(src), declarative.Options{FlattenErrors: true})
	golden(t, "flatten.flat.golden.json", indentJSON(t, flat))
	if flat.Message != `declarative config is invalid: {routes={"expected a record"}}` {
		t.Errorf("message = %s, want only the leftover routes error", flat.Message)
	}
	plain := parseError(t, string(src), declarative.Options{})
	golden(t, "flatten.plain.golden.json", indentJSON(t, plain))
	if len(flat.FlattenedErrors) != 17 {
		t.Errorf("%d flattened errors, want 17", len(flat.FlattenedErrors))
	}
}

func TestFlattenedErrorsAllAttributed(t *testing.T) {
	t.Parallel()
	err := parseError(t, `
_format_version: "3.0"
services:
- name: svc
  host: example.com
  protocol: grpc
  path: /test
  tags: [k8s-name:test-service]
`, declarative.Options{FlattenErrors: true})
	if err.Message != "declarative config is invalid: {}" || len(err.Fields) != 0 {
		t.Errorf("message %q fields %v, want Kong's empty leftovers", err.Message, err.Fields)
	}
	want := `[{"entity":{"host":"example.com","name":"svc","path":"/test","protocol":"grpc","tags":["k8s-name:test-service"]},` +
		`"entity_name":"svc","entity_tags":["k8s-name:test-service"],"entity_type":"service",` +
		`"errors":[{"field":"path","message":"value must be null","type":"field"},` +
		`{"message":"failed conditional validation given value of field 'protocol'","type":"entity"}]}]`
	if got := canonical(t, err.FlattenedErrors); got != canonical(t, want) {
		t.Errorf("flattened:\n got %s\nwant %s", got, want)
	}
}

func TestFlattenedErrorsOfLaterPhases(t *testing.T) {
	t.Parallel()
	err := parseError(t, `
_format_version: "3.0"
services:
- name: svc
  host: example.com
  routes:
  - {name: r, paths: [/], tags: [a]}
routes:
- {name: r, paths: [/x]}
- {name: q, paths: [/y], service: nope}
`, declarative.Options{FlattenErrors: true})
	rID := declarative.GenerateID("routes", "r")
	qID := declarative.GenerateID("routes", "q")
	want := `[` +
		`{"entity":{"id":"` + qID + `","name":"q","paths":["/y"],"service":"nope"},"entity_id":"` + qID + `","entity_name":"q","entity_type":"route",` +
		`"errors":[{"message":"invalid reference 'service: nope' (no such entry in 'services')","type":"entity"}]},` +
		`{"entity":{"id":"` + rID + `","name":"r","paths":["/x"]},"entity_id":"` + rID + `","entity_name":"r","entity_type":"route",` +
		`"errors":[{"message":"uniqueness violation: 'routes' entity with name set to 'r' already declared","type":"entity"}]}]`
	if got := canonical(t, err.FlattenedErrors); got != canonical(t, want) {
		t.Errorf("flattened:\n got %s\nwant %s", got, want)
	}
	if err.Message != "declarative config is invalid: {}" {
		t.Errorf("message = %s", err.Message)
	}
}

func TestFlattenedErrorsKeepDocumentErrors(t *testing.T) {
	t.Parallel()
	err := parseError(t, `{"_format_version": "9", "consumers": [{"username": "a", "x": 1}]}`,
		declarative.Options{FlattenErrors: true})
	if got, want := canonical(t, err.Fields), `{"_format_version":"expected one of: 1.1, 2.1, 3.0"}`; got != want {
		t.Errorf("fields = %s, want %s", got, want)
	}
	if err.Message != `declarative config is invalid: {_format_version="expected one of: 1.1, 2.1, 3.0"}` {
		t.Errorf("message = %s", err.Message)
	}
	want := `[{"entity":{"username":"a","x":1},"entity_type":"consumer","errors":[{"field":"x","message":"unknown field","type":"field"}]}]`
	if got := canonical(t, err.FlattenedErrors); got != canonical(t, want) {
		t.Errorf("flattened:\n got %s\nwant %s", got, want)
	}
}
