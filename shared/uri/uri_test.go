package uri

import "testing"

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		merge bool
		want  string
	}{
		{"", false, ""},
		{"/", false, "/"},
		{"/foo/bar", false, "/foo/bar"},
		{"/foo/./bar", false, "/foo/bar"},
		{"/foo/../bar", false, "/bar"},
		{"/foo/bar/..", false, "/foo/"},
		{"/../foo", false, "/foo"},
		{"/foo/%2e%2E/bar", false, "/bar"},
		{"/%41%62c", false, "/Abc"},
		{"/a%2fb", false, "/a%2Fb"},
		{"/a%3fb%25", false, "/a%3Fb%25"},
		{"/foo//bar", false, "/foo//bar"},
		{"/foo//bar", true, "/foo/bar"},
		{"//foo///bar//", true, "/foo/bar/"},
		{"/foo/.", false, "/foo/"},
		{"/a/b/c/./../../g", false, "/a/g"},
		{"/%zz", false, "/%zz"},
		{"/caf%C3%A9", false, "/caf\xc3\xa9"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in, tt.merge); got != tt.want {
			t.Errorf("Normalize(%q, %v) = %q; want %q", tt.in, tt.merge, got, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"/foo":          "/foo",
		"/foo bar":      "/foo%20bar",
		"/caf\xc3\xa9":  "/caf%C3%A9",
		"/a%2Fb?x=1&y":  "/a%2Fb?x=1&y",
		"/\"quoted\"":   "/%22quoted%22",
		"/{a}|<b>^`\\x": "/%7Ba%7D%7C%3Cb%3E%5E%60%5Cx",
	}
	for in, want := range tests {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e/x", "//a//b", "/a/./b/../../c"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, p string, merge bool) {
		n := Normalize(p, merge)
		// Normalizing is idempotent for paths without percent signs
		// (a decoded %25 may form a new escape on a second pass).
		if len(p) > 0 && p[0] == '/' && !containsByte(n, '%') {
			if again := Normalize(n, merge); again != n {
				t.Fatalf("Normalize(%q) = %q, but normalizing again gives %q", p, n, again)
			}
		}
	})
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
