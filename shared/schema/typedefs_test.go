package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTypedefMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field *Field
		value any
		want  any // nil = valid
	}{
		{"host ok", Host("h"), "example.com", nil},
		{"host ipv4", Host("h"), "10.0.0.1", nil},
		{"host ipv6", Host("h"), "::1", nil},
		{"host port", Host("h"), "example.com:80", "must not have a port"},
		{"host bad port", Host("h"), "example.com:99999", "must not have a port"},
		{"host ipv4 port", Host("h"), "10.0.0.1:80", "must not have a port"},
		{"host bad", Host("h"), "exa mple.com", "invalid value: exa mple.com"},
		{"host trailing dash", Host("h"), "foo-.com", "invalid value: foo-.com"},
		{"host bad ipv4", Host("h"), "300.1.1.1", "invalid value: 300.1.1.1"},
		{"host with optional port", HostWithOptionalPort("h"), "example.com:8080", nil},
		{"sni ip", SNI("s"), "10.0.0.1", "must not be an IP"},
		{"sni port", SNI("s"), "a.com:443", "must not have a port"},
		{"wildcard ok left", WildcardHost(), "*.example.com", nil},
		{"wildcard ok right", WildcardHost(), "example.*", nil},
		{"wildcard middle", WildcardHost(), "a.*.com", "wildcard must be leftmost or rightmost character"},
		{"wildcard two", WildcardHost(), "*.a.*", "only one wildcard must be specified"},
		{"path ok", Path("p"), "/foo/bar%20x", nil},
		{"path empty segment", Path("p"), "/foo//bar", "must not have empty segments"},
		{"path bad chars", Path("p"), "/foo bar", "invalid path: '/foo bar' (characters outside of the reserved list of RFC 3986 found)"},
		{"path bad escape", Path("p"), "/foo%zz", "invalid url-encoded value: '%zz'"},
		{"path no slash", Path("p"), "foo", "should start with: /"},
		{"router prefix", RouterPath(), "/foo", nil},
		{"router regex", RouterPath(), `~/foo/(?<id>\d+)$`, nil},
		{"router not normalized", RouterPath(), "/foo/../bar", "non-normalized path, consider use '/bar' instead"},
		{"router bad start", RouterPath(), "foo", "should start with: / (fixed path) or ~/ (regex path)"},
		{"router bad regex", RouterPath(), `~/foo(`, "invalid regex: '/foo(' (PCRE returned: missing closing ): `/foo(`)"},
		{"header name", HeaderName(), "X-Foo_1", nil},
		{"header name bad", HeaderName(), "X Foo", "bad header name 'X Foo', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
		{"name ascii", Name(), "a.b-c_d~e", nil},
		{"name bad", Name(), "a/b", "invalid value 'a/b': it must only contain alphanumeric and '., -, _, ~' characters"},
		{"utf8 name", UTF8Name(), "café", nil},
		{"utf8 name invalid", UTF8Name(), "a\xffb", "invalid utf-8 character sequence detected at position 2"},
		{"ip or cidr", IPOrCIDR(), "10.0.0.0/8", nil},
		{"ip or cidr v6", IPOrCIDR(), "2001:db8::/32", nil},
		{"ip or cidr bad", IPOrCIDR(), "10.0.0.0/33", "invalid ip or cidr range: '10.0.0.0/33'"},
		{"ip bad", IP(), "x", "not an ip address: x"},
		{"cidr v4 refuses v6", CIDRv4(), "::1", "invalid ipv4 cidr range: '::1'"},
		{"url ok", URL("u"), "https://example.com/x", nil},
		{"url no scheme", URL("u"), "example.com/x", "missing scheme in url"},
		{"url no host", URL("u"), "http:///x", "missing host in url"},
		{"semver ok", SemanticVersion("v"), "1.2.3-beta", nil},
		{"semver bad", SemanticVersion("v"), "1..2", "must not have empty version segments"},
		{"timeout range", Timeout("t"), json.Number("2147483647"), "value should be between 0 and 2147483646"},
		{"method", HTTPMethod(), "get", "invalid value: get"},
		{"protocols element", Protocols(), []any{"http", "ftp"}, []any{nil, "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"}},
		{"certificate", Certificate("c"), "not a pem", "invalid certificate: PEM_read_bio_X509_AUX() failed"},
		{"key", Key("k"), "not a pem", "invalid key: PEM_read_bio_PrivateKey() failed"},
		{"vault reference skips validators", HeaderName().With(func(f *Field) { f.Referenceable = true }), "{vault://env/x}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ValidateField(tt.field, tt.value)
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Errorf("ValidateField(%v) = %s; want %s", tt.value, gj, wj)
			}
		})
	}
}

func TestNormalizeIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want HostInfo
		err  bool
	}{
		{"1.2.3.4", HostInfo{Type: "ipv4", Host: "1.2.3.4"}, false},
		{"1.2.3.4:80", HostInfo{Type: "ipv4", Host: "1.2.3.4", Port: 80, HasPort: true}, false},
		{"[::1]:8000", HostInfo{Type: "ipv6", Host: "0000:0000:0000:0000:0000:0000:0000:0001", Port: 8000, HasPort: true}, false},
		{"2001:DB8::1", HostInfo{Type: "ipv6", Host: "2001:0db8:0000:0000:0000:0000:0000:0001"}, false},
		{"example.com:443", HostInfo{Type: "name", Host: "example.com", Port: 443, HasPort: true}, false},
		{"example.com.", HostInfo{Type: "name", Host: "example.com."}, false},
		{"a..b", HostInfo{}, true},
		{"1.2.3.4:70000", HostInfo{}, true},
		{"[::1]x", HostInfo{}, true},
		{"::g", HostInfo{}, true},
	}
	for _, tt := range tests {
		got, err := NormalizeIP(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("NormalizeIP(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzValidate feeds arbitrary JSON to Process, Validate and Merge: they
// must never panic, and a processed valid entity must stay valid after a
// JSON round trip.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"host":"h","config":{"minute":1}}`, `{"hosts":[1,null,{}],"headers":{"a":[1]}}`,
		`{"config":{"policy":"redis","redis":{"host":[]}}}`, `{"parent":"x","tags":[null]}`,
		`{"port":1e400}`, `{"config":null,"name":{}}`,
	} {
		f.Add(seed)
	}
	s := testSchema()
	f.Fuzz(func(t *testing.T, data string) {
		var in map[string]any
		d := json.NewDecoder(strings.NewReader(data))
		d.UseNumber()
		if d.Decode(&in) != nil || in == nil {
			return
		}
		_ = s.Validate(in, Mode{Partial: true})
		out := s.Process(in, Insert, now)
		errs := s.Validate(out, Full)
		_ = s.Merge(in, out)
		if errs != nil {
			_ = SchemaViolation(errs)
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("valid entity does not encode: %v", err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if errs := s.Validate(s.Process(back, Select, now), Full); errs != nil {
			t.Fatalf("valid entity %s became invalid after a round trip: %v", b, errs.Messages())
		}
	})
}

// TestRouteTypedefs covers the typedefs added for the entity package
// (Sources, Methods, Hosts, RouterPaths, Headers).
func TestRouteTypedefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field *Field
		value any
		want  any // nil = valid
	}{
		{"sources ok", Sources("s"), []any{map[string]any{"ip": "10.0.0.0/8"}, map[string]any{"port": int64(80)}}, nil},
		{
			"sources empty record", Sources("s"),
			[]any{map[string]any{}},
			[]any{map[string]any{"@entity": []any{"at least one of these fields must be non-empty: 'ip', 'port'"}}},
		},
		{"sources bad ip", Sources("s"), []any{map[string]any{"ip": "x"}}, []any{map[string]any{"ip": "invalid ip or cidr range: 'x'"}}},
		{"methods ok", Methods("m"), []any{"GET", "POST"}, nil},
		{"methods lower", Methods("m"), []any{"get"}, []any{"invalid value: get"}},
		{"hosts ok", Hosts("h"), []any{"example.com", "*.example.com", "example.*", "example.com:8080", "10.0.0.1"}, nil},
		{"hosts two wildcards", Hosts("h"), []any{"*.example.*"}, []any{"invalid wildcard: must have at most one wildcard"}},
		{"hosts inner wildcard", Hosts("h"), []any{"a.*.com"}, []any{"invalid wildcard: must be placed at leftmost or rightmost label"}},
		{"hosts bad name", Hosts("h"), []any{"ok.com", "bad host"}, []any{nil, "invalid hostname: bad host"}},
		{"hosts bad port", Hosts("h"), []any{"ok.com:99999", "[::1]:70000"}, []any{"invalid port number", "invalid port number"}},
		{"router paths", RouterPaths("p"), []any{"/a", `~/b/\d+`}, nil},
		{"router paths bad", RouterPaths("p"), []any{"/a", "b"}, []any{nil, "should start with: / (fixed path) or ~/ (regex path)"}},
		{"headers ok", Headers("h"), map[string]any{"x-a": []any{"1", "2"}}, nil},
		{
			"headers bad name", Headers("h"),
			map[string]any{"x a": []any{"1"}},
			"bad header name 'x a', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
		},
		{"headers bad value", Headers("h"), map[string]any{"x-a": "1"}, "expected an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ValidateField(tt.field, tt.value)
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Errorf("ValidateField(%v) = %s; want %s", tt.value, gj, wj)
			}
		})
	}
}
