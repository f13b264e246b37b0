package settings

import (
	"strings"
	"testing"
)

// TestReferenceProblemsDetectsDrift checks the check: a reference that
// lacks a setting, shows another default, or lists a setting that no
// longer exists is reported, naming the setting.
func TestReferenceProblemsDetectsDrift(t *testing.T) {
	t.Parallel()
	var a, b string
	r := New("svc")
	r.String(&a, "GATEHOUSE_A", "x", "The A.")
	r.String(&b, "GATEHOUSE_B", "", "The B | with a pipe.")
	list := r.Settings()
	doc := "# Configuration\n\n" + ReferenceSection("svc", list) + "\nmore text\n"
	if p := ReferenceProblems(doc, "svc", list); len(p) > 0 {
		t.Fatalf("a freshly generated section has problems: %q", p)
	}
	changed := append([]Setting(nil), list...)
	changed[1].Default += "0"
	tests := []struct {
		name, doc, want string
	}{
		{"missing", "# Configuration\n\n" + ReferenceSection("svc", list[1:]) + "\n", "GATEHOUSE_A"},
		{"other default", "# Configuration\n\n" + ReferenceSection("svc", changed) + "\n", "GATEHOUSE_B"},
		{"removed from the code", "# Configuration\n\n" + ReferenceSection("svc", append(list, Setting{
			Env: "GATEHOUSE_NO_SUCH_SETTING", Flag: "no-such-setting", Kind: "string", Usage: "Gone.",
		})) + "\n", "GATEHOUSE_NO_SUCH_SETTING"},
		{"no section", "# Configuration\n", "no generated section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(ReferenceProblems(tt.doc, "svc", list), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q do not mention %q", got, tt.want)
			}
		})
	}
	updated, err := ReplaceReference("# Configuration\n\n"+ReferenceSection("svc", list[1:])+"\nmore text\n", "svc", ReferenceSection("svc", list))
	if err != nil || updated != doc {
		t.Errorf("ReplaceReference = %q, %v; want %q", updated, err, doc)
	}
	if !strings.Contains(doc, `The B \| with a pipe.`) {
		t.Errorf("pipes must be escaped in table cells: %s", doc)
	}
}
