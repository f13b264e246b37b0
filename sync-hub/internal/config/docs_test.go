package config_test

import (
	"flag"
	"os"
	"testing"

	"gatehouse.dev/shared/settings"
	"gatehouse.dev/sync-hub/internal/config"
)

// updateDocs makes TestConfigurationReference rewrite this service's
// section of docs/configuration.md (make docs).
var updateDocs = flag.Bool("update-docs", false, "rewrite the sync-hub section of docs/configuration.md from the declared settings")

// refDocsPath is the configuration reference, seen from this package.
const refDocsPath = "../../../docs/configuration.md"

// TestConfigurationReference keeps the sync-hub section of
// docs/configuration.md equal to the settings declared in this package:
// every setting with its flag, type, default and meaning. A setting added,
// removed or changed in the code without `make docs` fails it.
func TestConfigurationReference(t *testing.T) {
	doc, err := os.ReadFile(refDocsPath)
	if err != nil {
		t.Fatal(err)
	}
	list := config.New().Settings()
	if *updateDocs {
		updated, err := settings.ReplaceReference(string(doc), "sync-hub", settings.ReferenceSection("sync-hub", list))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(refDocsPath, []byte(updated), 0o644); err != nil { //nolint:gosec // G306: a documentation file, world-readable as in the repository
			t.Fatal(err)
		}
		return
	}
	for _, p := range settings.ReferenceProblems(string(doc), "sync-hub", list) {
		t.Errorf("docs/configuration.md: %s; run `make docs`", p)
	}
}
