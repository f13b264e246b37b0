package requesttransformer

import (
	"strings"
	"testing"
)

// fakeLookup serves table lookups from a map of "table.key".
type fakeLookup map[string]value

func (f fakeLookup) get(table, key string) value { return f[table+"."+key] }

func TestTemplates(t *testing.T) {
	t.Parallel()
	env := fakeLookup{
		"headers.x-id":     {kind: valString, s: "42"},
		"headers.x_under":  {kind: valString, s: "u"},
		"query_params.q":   {kind: valString, s: "search"},
		"query_params.b":   {kind: valBool, b: true},
		"uri_captures.1":   {kind: valString, s: "first"},
		"uri_captures.uid": {kind: valString, s: "alice"},
		"shared.tenant":    {kind: valString, s: "acme"},
		"headers.empty":    {kind: valString, s: ""},
	}
	tests := []struct {
		src, want string
	}{
		{"plain", "plain"},
		{"", ""},
		{"$(headers['x-id'])", "42"},
		{`$(headers["x-id"])`, "42"},
		{"$(headers.x_under)", "u"},
		{"id=$(headers['x-id'])&q=$(query_params.q)!", "id=42&q=search!"},
		{"$(query_params.b)", "true"},
		{"$(uri_captures[1])-$(uri_captures.uid)-$(uri_captures['uid'])", "first-alice-alice"},
		{"$(shared.tenant)", "acme"},
		{"$(headers.missing)", ""},
		{"$(headers.missing or 'default')", "default"},
		{`$(headers.missing or query_params.q or "x")`, "search"},
		{"$((headers.missing or headers['x-id']))", "42"},
		{"$(headers.empty or 'd')", ""},
		{"$(headers.missing or 7)", "7"},
		{"cost: $5 and $ (no expression) $(unclosed", "cost: $5 and $ (no expression) $(unclosed"},
		{"$(query_params.q)$(query_params.q)", "searchsearch"},
	}
	for _, tt := range tests {
		tpl := compile(tt.src)
		got, err := tpl.render(env)
		if err != nil || got != tt.want {
			t.Errorf("render(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
}

func TestUnsupportedTemplates(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"$(headers.x-id)", // Lua arithmetic
		"$(os.time())",
		"$(type(headers.x))",
		"$(headers)",
		"$(headers.a and 'b')",
		"$(headers[x])",
		"$('unterminated)",
		"$()",
	} {
		tpl := compile(src)
		if _, err := tpl.render(fakeLookup{}); err == nil {
			t.Errorf("render(%q) succeeded", src)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"$(headers.x or 'd')", "a$(b", "$((query_params[1]))$(", `$("\\")`, "$(shared.k or uri_captures['n'])"} {
		f.Add(s)
	}
	env := fakeLookup{"headers.x": {kind: valString, s: "v"}}
	f.Fuzz(func(t *testing.T, src string) {
		tpl := compile(src)
		out, err := tpl.render(env)
		if err == nil && !strings.Contains(src, "$(") && out != src {
			t.Errorf("render(%q) = %q, want the text itself", src, out)
		}
	})
}
