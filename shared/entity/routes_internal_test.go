package entity

import "testing"

// TestRouteSubschemasAreValid checks the specialized route schemas, which
// the catalog does not list.
func TestRouteSubschemasAreValid(t *testing.T) {
	t.Parallel()
	typ := routesType()
	for _, p := range []string{"http", "https", "tcp", "tls", "udp", "tls_passthrough", "grpc", "grpcs"} {
		s := typ.SchemaFor(map[string]any{"protocols": []any{p}})
		if s == typ.Schema {
			t.Errorf("%s routes are not specialized", p)
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if len(s.Fields) != len(typ.Schema.Fields) {
			t.Errorf("%s: %d fields; want %d", p, len(s.Fields), len(typ.Schema.Fields))
		}
	}
	if typ.SchemaFor(map[string]any{"protocols": []any{"ftp", 1}}) != typ.Schema {
		t.Error("unknown protocols must use the base schema")
	}
}
