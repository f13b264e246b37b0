package config_test

import (
	"flag"
	"os"
	"testing"

	"gatehouse.dev/admin-api/internal/config"
	"gatehouse.dev/shared/settings"
)

// updateDocs makes TestConfigurationReference rewrite this service's
// section of docs/configuration.md (make docs).
var updateDocs = flag.Bool("update-docs", false, "rewrite the admin-api section of docs/configuration.md from the declared settings")

// refDocsPath is the configuration reference, seen from this package.
const refDocsPath = "../../../docs/configuration.md"

// TestConfigurationReference keeps the admin-api section of
// docs/configuration.md equal to the settings declared in this package:
// every setting with its flag, type, default and meaning. A setting added,
// removed or changed in the code without `make docs` fails it.
func TestConfigurationReference(t *testing.T) {
	doc, err := os.ReadFile(refDocsPath)
	if err != nil {
		t.Fatal(err)
	}
	list := config.Settings()
	if *updateDocs {
		updated, err := settings.ReplaceReference(string(doc), "admin-api", settings.ReferenceSection("admin-api", list))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(refDocsPath, []byte(updated), 0o644); err != nil { //nolint:gosec // G306: a documentation file, world-readable as in the repository
			t.Fatal(err)
		}
		return
	}
	for _, p := range settings.ReferenceProblems(string(doc), "admin-api", list) {
		t.Errorf("docs/configuration.md: %s; run `make docs`", p)
	}
}
