package settings

import (
	"fmt"
	"strings"
)

// The configuration reference (docs/configuration.md) holds one generated
// section per service, between marker lines, with a table row per setting.
// Each service has a test that compares its section with its declared
// settings (ReferenceProblems) and rewrites it on request
// (ReplaceReference), so a setting added in the code but not documented
// fails the build.

// referenceBegin and referenceEnd are the marker lines around a service's section.
func referenceBegin(service string) string {
	return "<!-- BEGIN " + service + " settings: generated from " + service + "/internal/config by `make docs`; do not edit -->"
}

func referenceEnd(service string) string { return "<!-- END " + service + " settings -->" }

// ReferenceSection renders a service's section: the markers around a table with
// one row per setting, in declaration order.
func ReferenceSection(service string, list []Setting) string {
	var b strings.Builder
	b.WriteString(referenceBegin(service) + "\n")
	b.WriteString("| Environment variable | Flag | Type | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range list {
		b.WriteString(referenceRow(s) + "\n")
	}
	b.WriteString(referenceEnd(service))
	return b.String()
}

// referenceRow is the table row of one setting.
func referenceRow(s Setting) string {
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

// referenceFind returns the start and end offsets of a service's section in doc.
func referenceFind(doc, service string) (start, end int, err error) {
	start = strings.Index(doc, referenceBegin(service))
	if start < 0 {
		return 0, 0, fmt.Errorf("no generated section for %s (the line %q)", service, referenceBegin(service))
	}
	n := strings.Index(doc[start:], referenceEnd(service))
	if n < 0 {
		return 0, 0, fmt.Errorf("the generated section for %s has no end line %q", service, referenceEnd(service))
	}
	return start, start + n + len(referenceEnd(service)), nil
}

// ReplaceReference returns doc with the service's section replaced by section.
func ReplaceReference(doc, service, section string) (string, error) {
	start, end, err := referenceFind(doc, service)
	if err != nil {
		return "", err
	}
	return doc[:start] + section + doc[end:], nil
}

// ReferenceProblems lists how doc's section for the service differs from the
// declared settings: settings missing or shown differently (with their
// default), settings shown that are not declared, or any other difference.
func ReferenceProblems(doc, service string, list []Setting) []string {
	start, end, err := referenceFind(doc, service)
	if err != nil {
		return []string{err.Error()}
	}
	got := doc[start:end]
	if got == ReferenceSection(service, list) {
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
		if row := referenceRow(s); !rows[row] {
			problems = append(problems, fmt.Sprintf("%s (default %q) is missing or shown differently; want the row %s", s.Env, s.Default, row))
		}
	}
	for line := range rows {
		env, ok := referenceRowEnv(line)
		if ok && !declared[env] {
			problems = append(problems, fmt.Sprintf("%s is documented for %s but not declared", env, service))
		}
	}
	if len(problems) == 0 {
		problems = append(problems, "the section differs from the generated one (order or layout)")
	}
	return problems
}

// referenceRowEnv returns the variable a table row documents.
func referenceRowEnv(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "| `")
	if !ok {
		return "", false
	}
	env, _, ok := strings.Cut(rest, "`")
	return env, ok && strings.HasPrefix(env, "GATEHOUSE_")
}
