package config_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"gatehouse.dev/shared/settings"
	"gatehouse.dev/sync-hub/internal/config"
)

// updateDocs makes TestConfigurationReference rewrite this service's section
// of docs/configuration.md (make docs).
var updateDocs = flag.Bool("update-docs", false, "rewrite the sync-hub section of docs/configuration.md from the declared settings")

// refDocsPath is the configuration reference, seen from this package.
const refDocsPath = "../../../docs/configuration.md"

// refService names this service's generated section.
const refService = "sync-hub"

// TestConfigurationReference keeps the sync-hub section of
// docs/configuration.md equal to the settings declared in this package:
// every setting with its flag, type, default and meaning. A setting added,
// removed or changed in the code without `make docs` fails it.
func TestConfigurationReference(t *testing.T) {
	doc, err := os.ReadFile(refDocsPath)
	if err != nil {
		t.Fatal(err)
	}
	want := refSection(refService, config.New().Settings())
	if *updateDocs {
		updated, err := refReplace(string(doc), refService, want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(refDocsPath, []byte(updated), 0o644); err != nil { //nolint:gosec // G306: a documentation file, world-readable as in the repository
			t.Fatal(err)
		}
		return
	}
	for _, p := range refProblems(string(doc), refService, config.New().Settings()) {
		t.Errorf("docs/configuration.md: %s; run `make docs`", p)
	}
}

// TestConfigurationReferenceDetectsDrift checks the check itself: a
// reference that lacks a setting, shows another default, or lists a setting
// that no longer exists is reported, naming the setting.
func TestConfigurationReferenceDetectsDrift(t *testing.T) {
	t.Parallel()
	list := config.New().Settings()
	if len(list) < 2 {
		t.Fatalf("%d settings declared; want at least 2", len(list))
	}
	doc := "# Configuration\n\n" + refSection(refService, list) + "\nmore text\n"
	if p := refProblems(doc, refService, list); len(p) > 0 {
		t.Fatalf("a freshly generated section has problems: %q", p)
	}
	first, second := list[0], list[1]
	changed := append([]settings.Setting(nil), list...)
	changed[1].Default += "0"
	tests := []struct {
		name, doc, want string
	}{
		{"missing", "# Configuration\n\n" + refSection(refService, list[1:]) + "\n", first.Env},
		{"other default", "# Configuration\n\n" + refSection(refService, changed) + "\n", second.Env},
		{"removed from the code", "# Configuration\n\n" + refSection(refService, append(list, settings.Setting{
			Env: "GATEHOUSE_NO_SUCH_SETTING", Flag: "no-such-setting", Kind: "string", Usage: "Gone.",
		})) + "\n", "GATEHOUSE_NO_SUCH_SETTING"},
		{"no section", "# Configuration\n", "no generated section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(refProblems(tt.doc, refService, list), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q do not mention %q", got, tt.want)
			}
		})
	}
	updated, err := refReplace("# Configuration\n\n"+refSection(refService, list[1:])+"\nmore text\n", refService, refSection(refService, list))
	if err != nil || updated != doc {
		t.Errorf("refReplace = %q, %v; want %q", updated, err, doc)
	}
}

// refBegin and refEnd are the marker lines around a service's section.
func refBegin(service string) string {
	return "<!-- BEGIN " + service + " settings: generated from " + service + "/internal/config by `make docs`; do not edit -->"
}

func refEnd(service string) string { return "<!-- END " + service + " settings -->" }

// refSection renders a service's section: the markers around a table with
// one row per setting, in declaration order.
func refSection(service string, list []settings.Setting) string {
	var b strings.Builder
	b.WriteString(refBegin(service) + "\n")
	b.WriteString("| Environment variable | Flag | Type | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range list {
		b.WriteString(refRow(s) + "\n")
	}
	b.WriteString(refEnd(service))
	return b.String()
}

// refRow is the table row of one setting.
func refRow(s settings.Setting) string {
	def := "(none)"
	if s.Default != "" {
		def = "`" + s.Default + "`"
	}
	kind := s.Kind
	if s.Secret {
		kind += ", secret"
	}
	cells := []string{"`" + s.Env + "`", "`--" + s.Flag + "`", kind, def, s.Usage}
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

// refFind returns the start and end offsets of a service's section in doc.
func refFind(doc, service string) (start, end int, err error) {
	start = strings.Index(doc, refBegin(service))
	if start < 0 {
		return 0, 0, fmt.Errorf("no generated section for %s (the line %q)", service, refBegin(service))
	}
	n := strings.Index(doc[start:], refEnd(service))
	if n < 0 {
		return 0, 0, fmt.Errorf("the generated section for %s has no end line %q", service, refEnd(service))
	}
	return start, start + n + len(refEnd(service)), nil
}

// refReplace returns doc with the service's section replaced by section.
func refReplace(doc, service, section string) (string, error) {
	start, end, err := refFind(doc, service)
	if err != nil {
		return "", err
	}
	return doc[:start] + section + doc[end:], nil
}

// refProblems lists how doc's section for the service differs from the
// declared settings: settings missing or shown differently (with their
// default), settings shown that are not declared, or any other difference.
func refProblems(doc, service string, list []settings.Setting) []string {
	start, end, err := refFind(doc, service)
	if err != nil {
		return []string{err.Error()}
	}
	got := doc[start:end]
	if got == refSection(service, list) {
		return nil
	}
	rows := map[string]bool{}
	for line := range strings.SplitSeq(got, "\n") {
		rows[line] = true
	}
	var problems []string
	declared := map[string]bool{}
	for _, s := range list {
		declared[s.Env] = true
		if row := refRow(s); !rows[row] {
			problems = append(problems, fmt.Sprintf("%s (default %q) is missing or shown differently; want the row %s", s.Env, s.Default, row))
		}
	}
	for line := range rows {
		env, ok := refRowEnv(line)
		if ok && !declared[env] {
			problems = append(problems, fmt.Sprintf("%s is documented for %s but not declared", env, service))
		}
	}
	if len(problems) == 0 {
		problems = append(problems, "the section differs from the generated one (order or layout)")
	}
	return problems
}

// refRowEnv returns the variable a table row documents.
func refRowEnv(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "| `")
	if !ok {
		return "", false
	}
	env, _, ok := strings.Cut(rest, "`")
	return env, ok && strings.HasPrefix(env, "GATEHOUSE_")
}
