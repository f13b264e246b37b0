package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestErrorCodes reaches every code of Kong's error model that an Admin
// API with a database can answer, with Kong's status, name, message and
// fields. Code 12 (operation unsupported) exists only on DB-less nodes;
// codes 8, 15-18 and 20-21 are internal (500, generic body: see
// TestUnexpectedErrors).
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	svc := must(t, s.post("/services", map[string]any{"name": "svc", "host": "a.example"}), http.StatusCreated)
	must(t, s.post("/services/svc/routes", map[string]any{"name": "r", "paths": []any{"/"}}), http.StatusCreated)
	ca := must(t, s.post("/ca_certificates", map[string]any{"cert": caPEM(t)}), http.StatusCreated)
	must(t, s.post("/services", map[string]any{"name": "tls", "url": "https://b.example", "ca_certificates": []any{ca.id()}}), http.StatusCreated)
	missing := "6f1f2f3f-0000-4000-8000-000000000000"

	tests := []struct {
		name   string
		do     func() response
		status int
		want   map[string]any
	}{
		{
			name: "1 invalid primary key", status: http.StatusBadRequest,
			do: func() response { return s.get("/ca_certificates/not-a-uuid") },
			want: map[string]any{
				"code": 1, "name": "invalid primary key", "message": `invalid primary key: '{id="expected a valid UUID"}'`,
				"fields": map[string]any{"id": "expected a valid UUID"},
			},
		},
		{
			name: "2 schema violation", status: http.StatusBadRequest,
			do: func() response {
				return s.post("/services", map[string]any{"name": "bad", "host": "a.example", "port": "x", "protocol": "ftp"})
			},
			want: map[string]any{
				"code": 2, "name": "schema violation",
				"message": "2 schema violations (port: expected an integer; protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)",
				"fields": map[string]any{
					"port":     "expected an integer",
					"protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
				},
			},
		},
		{
			name: "3 primary key violation", status: http.StatusBadRequest,
			do: func() response { return s.post("/services", map[string]any{"id": svc.id(), "host": "c.example"}) },
			want: map[string]any{
				"code": 3, "name": "primary key violation", "message": `primary key violation on key '{id="` + svc.id() + `"}'`,
				"fields": map[string]any{"id": svc.id()},
			},
		},
		{
			name: "4 foreign key violation", status: http.StatusBadRequest,
			do: func() response {
				return s.post("/routes", map[string]any{"paths": []any{"/x"}, "service": map[string]any{"id": missing}})
			},
			want: map[string]any{
				"code": 4, "name": "foreign key violation",
				"message": `the foreign key '{id="` + missing + `"}' does not reference an existing 'services' entity.`,
				"fields":  map[string]any{"service": map[string]any{"id": missing}},
			},
		},
		{
			name: "5 unique violation", status: http.StatusConflict,
			do: func() response { return s.post("/services", map[string]any{"name": "svc", "host": "c.example"}) },
			want: map[string]any{
				"code": 5, "name": "unique constraint violation", "message": `UNIQUE violation detected on '{name="svc"}'`,
				"fields": map[string]any{"name": "svc"},
			},
		},
		{
			name: "6 not found", status: http.StatusNotFound,
			do: func() response { return s.patch("/consumers/"+missing, map[string]any{"custom_id": "x"}) },
			want: map[string]any{
				"code": 6, "name": "not found", "message": `could not find the entity with primary key '{id="` + missing + `"}'`,
				"fields": map[string]any{"id": missing},
			},
		},
		{
			name: "7 invalid offset", status: http.StatusBadRequest,
			do:   func() response { return s.get("/services?offset=!!!") },
			want: map[string]any{"code": 7, "name": "invalid offset", "message": "'!!!' is not a valid offset: bad base64 encoding"},
		},
		{
			name: "9 invalid size", status: http.StatusBadRequest,
			do:   func() response { return s.get("/services?size=abc") },
			want: map[string]any{"code": 9, "name": "invalid size", "message": "size must be a number"},
		},
		{
			name: "9 size out of range", status: http.StatusBadRequest,
			do:   func() response { return s.get("/services?size=1001") },
			want: map[string]any{"code": 9, "name": "invalid size", "message": "size must be an integer between 1 and 1000"},
		},
		{
			name: "10 invalid unique", status: http.StatusBadRequest,
			do: func() response { return s.get("/services/bad%20name") },
			want: map[string]any{
				"code": 10, "name": "invalid unique name",
				"message": "invalid value 'bad name': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
			},
		},
		{
			name: "11 invalid options", status: http.StatusBadRequest,
			do: func() response { return s.get("/services?tags=a,b/c") },
			want: map[string]any{
				"code": 11, "name": "invalid options", "message": "invalid option (tags: invalid filter syntax)",
				"options": map[string]any{"tags": "invalid filter syntax"},
			},
		},
		{
			name: "13 foreign keys unresolved", status: http.StatusBadRequest,
			do: func() response {
				return s.post("/routes", map[string]any{"paths": []any{"/x"}, "service": map[string]any{"name": "nope"}})
			},
			want: map[string]any{
				"code": 13, "name": "foreign keys unresolved",
				"message": `foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity)`,
				"fields": map[string]any{"service": map[string]any{
					"name": `the foreign key cannot be resolved with '{name="nope"}' for an existing 'services' entity`,
				}},
			},
		},
		{
			name: "14 invalid declarative configuration", status: http.StatusBadRequest,
			do: func() response {
				return s.post("/config", map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "x"}}})
			},
			want: map[string]any{
				"code": 14, "name": "invalid declarative configuration",
				"message": `declarative config is invalid: {services={{host="required field missing"}}}`,
				"fields":  map[string]any{"services": []any{map[string]any{"host": "required field missing"}}},
			},
		},
		{
			name: "19 referenced by others", status: http.StatusBadRequest,
			do: func() response { return s.delete("/ca_certificates/" + ca.id()) },
			want: map[string]any{
				"code": 19, "name": "referenced by others",
				"message": "ca certificate " + ca.id() + " is still referenced by services (id = " + serviceID(t, s, "tls") + ")",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := s.latest()
			r := tt.do()
			if r.status != tt.status || !jsonEqual(r.body, tt.want) {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.raw, tt.status, jsonString(tt.want))
			}
			if after := s.latest(); after != before {
				t.Errorf("a failed request moved the revision from %d to %d", before, after)
			}
		})
	}
}

func serviceID(t *testing.T, s *testServer, name string) string {
	t.Helper()
	return must(t, s.get("/services/"+name), http.StatusOK).id()
}

// TestSchemaViolationShapes pins the nested and array shapes of field
// errors.
func TestSchemaViolationShapes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := must(t, s.post("/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": "x"}}), http.StatusBadRequest)
	if f := r.obj()["fields"]; !jsonEqual(f, map[string]any{"config": map[string]any{"minute": "expected a number"}}) {
		t.Errorf("nested fields: %s", r.raw)
	}
	r = must(t, s.post("/routes", map[string]any{"paths": []any{"/ok", "bad"}}), http.StatusBadRequest)
	if f := r.obj()["fields"].(map[string]any)["paths"]; !jsonEqual(f, []any{nil, "should start with: / (fixed path) or ~/ (regex path)"}) {
		t.Errorf("array fields: %s", r.raw)
	}
	if m := r.obj()["message"]; m != "schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))" {
		t.Errorf("array message: %v", m)
	}
	r = must(t, s.post("/consumers", map[string]any{}), http.StatusBadRequest)
	if !jsonEqual(r.obj()["fields"], map[string]any{"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}) {
		t.Errorf("entity check: %s", r.raw)
	}
	if r.obj()["code"] != json.Number("2") {
		t.Errorf("code: %s", r.raw)
	}
}
