package entity_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/golden and testdata/schemas from the current code")

// goldenInputs returns a minimal valid input for every entity type.
func goldenInputs(tb testing.TB) map[string]map[string]any {
	tb.Helper()
	caCert, caKey := fixedCA(tb)
	js := func(s string) map[string]any { return mustJSON(tb, s) }
	return map[string]map[string]any{
		entity.Services:  js(`{"id":"` + id1 + `","host":"example.com"}`),
		entity.Routes:    js(`{"id":"` + id1 + `","paths":["/"]}`),
		entity.Consumers: js(`{"id":"` + id1 + `","username":"alice"}`),
		entity.Plugins:   js(`{"id":"` + id1 + `","name":"key-auth"}`),
		entity.Upstreams: js(`{"id":"` + id1 + `","name":"backend.internal"}`),
		entity.Targets:   js(`{"id":"` + id1 + `","upstream":{"id":"` + upstreamID + `"},"target":"10.0.0.1"}`),
		entity.Certificates: {
			"id": id1, "cert": caCert, "key": caKey,
		},
		entity.SNIs:           js(`{"id":"` + id1 + `","name":"*.example.com","certificate":{"id":"` + certID + `"}}`),
		entity.CACertificates: {"id": id1, "cert": caCert},
		entity.KeyAuthCredentials: js(`{"id":"` + id1 + `","consumer":{"id":"` + consumerID + `"},` +
			`"key":"my-secret-key"}`),
		entity.BasicAuthCredentials: js(`{"id":"` + id1 + `","consumer":{"id":"` + consumerID + `"},` +
			`"username":"alice","password":"s3cret"}`),
		entity.ACLs:           js(`{"id":"` + id1 + `","consumer":{"id":"` + consumerID + `"},"group":"admins"}`),
		entity.ConsumerGroups: js(`{"id":"` + id1 + `","name":"gold"}`),
		// No id: memberships get MembershipID, which the golden file pins.
		entity.ConsumerGroupConsumers: js(`{"consumer_group":{"id":"` + groupID + `"},"consumer":{"id":"` + consumerID + `"}}`),
	}
}

// TestGoldenEntities pins what Write(Insert) stores for a minimal input of
// every type: every field present, unset ones null, foreign keys as
// {"id": ...}, Kong's defaults, integer seconds (float seconds for
// targets).
func TestGoldenEntities(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	inputs := goldenInputs(t)
	for _, typ := range c.Types() {
		t.Run(typ.Name, func(t *testing.T) {
			t.Parallel()
			in, ok := inputs[typ.Name]
			if !ok {
				t.Fatalf("no golden input for %s", typ.Name)
			}
			out, err := typ.Write(in, schema.Insert, now)
			if err != nil {
				t.Fatalf("Write: %s %v", err.Message, err.Fields)
			}
			got, merr := json.MarshalIndent(out, "", "  ")
			if merr != nil {
				t.Fatal(merr)
			}
			compareGolden(t, filepath.Join("testdata", "golden", typ.Name+".json"), got)
			// Every field of the schema is present in what is stored,
			// except the transient ones.
			for _, f := range typ.Schema.Fields {
				_, present := out[f.Name]
				transient := false
				for _, name := range typ.Transient {
					transient = transient || name == f.Name
				}
				if present == transient {
					t.Errorf("field %s present=%v, transient=%v", f.Name, present, transient)
				}
			}
		})
	}
}

// TestGoldenSchemas pins the /schemas/{entity} JSON of every type.
func TestGoldenSchemas(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	for _, typ := range c.Types() {
		t.Run(typ.Name, func(t *testing.T) {
			t.Parallel()
			got, err := json.MarshalIndent(typ.Schema.KongJSON(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "schemas", typ.Name+".json"), got)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path) //nolint:gosec // path is built from the type names of the catalog
	if err != nil {
		t.Fatalf("%v (run the tests with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after checking the change):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
