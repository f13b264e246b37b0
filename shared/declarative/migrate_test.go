package declarative

import "testing"

func TestMigratePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		// Plain paths (only [a-zA-Z0-9.\-_~/%]) stay prefixes, normalized.
		{"/", "/"},
		{"/foo/bar", "/foo/bar"},
		{"/foo/../bar/./baz", "/bar/baz"},
		{"/a%7Eb%2Fc", "/a~b%2Fc"},
		{"/a%2fb", "/a%2Fb"},
		{"/a//b", "/a/b"},
		{"/v1.0/x-y_z~", "/v1.0/x-y_z~"},
		// Anything else was a regex: marked with "~", percent-encoded
		// triplets decoded once (reserved ones kept, upper-cased; regex
		// metacharacters escaped).
		{`/users/(\d+)`, `~/users/(\d+)`},
		{`/status/\d{3}$`, `~/status/\d{3}$`},
		{`/a%2e(b)`, `~/a\.(b)`},
		{`/a%3f(b)`, `~/a%3F(b)`},
		{`/a%41(b)`, `~/aA(b)`},
		{`/a%7c%5e(b)`, `~/a\|\^(b)`},
		{`/a%zz(b)`, `~/a%zz(b)`},
		{"/x y", "~/x y"},
	} {
		if got := migratePath(tc.in); got != tc.want {
			t.Errorf("migratePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMigrateOnlyOldVersions(t *testing.T) {
	t.Parallel()
	routes := []any{map[string]any{"paths": []any{"/x(y)"}}}
	for _, version := range []any{"3.0", "4.0", nil, 2.1} {
		doc := map[string]any{"_format_version": version, "routes": routes}
		if out := migrate(doc); out["routes"].([]any)[0].(map[string]any)["paths"].([]any)[0] != "/x(y)" {
			t.Errorf("version %v migrated: %v", version, out["routes"])
		}
	}
	out := migrate(map[string]any{"_format_version": "1.1", "routes": routes, "services": []any{"x", map[string]any{"routes": "y"}}})
	if out["_format_version"] != "3.0" {
		t.Errorf("_format_version = %v, want 3.0", out["_format_version"])
	}
	if got := out["routes"].([]any)[0].(map[string]any)["paths"].([]any)[0]; got != "~/x(y)" {
		t.Errorf("path = %v, want ~/x(y)", got)
	}
	if routes[0].(map[string]any)["paths"].([]any)[0] != "/x(y)" {
		t.Error("migrate modified its input")
	}
}
