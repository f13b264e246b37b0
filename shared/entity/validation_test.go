package entity_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// violation is one validation case: an input for a type and, when it is
// invalid, the expected `fields` tree (as JSON) and Kong message.
type violation struct {
	name   string
	typ    string
	in     map[string]any
	fields string // "" = the input is valid
	msg    string // "" = not checked
}

// runViolations writes every case with Write(Insert) and compares the
// schema-violation error with the expectation.
func runViolations(t *testing.T, cases []violation) {
	t.Helper()
	c := newCatalog(t)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ := c.Type(tt.typ)
			if typ == nil {
				t.Fatalf("no type %s", tt.typ)
			}
			out, err := typ.Write(tt.in, schema.Insert, now)
			if tt.fields == "" {
				if err != nil {
					t.Fatalf("Write refused a valid entity: %s", err.Message)
				}
				if out == nil {
					t.Fatal("Write returned no entity")
				}
				return
			}
			if err == nil {
				t.Fatalf("Write accepted an invalid entity: %s", marshal(t, out))
			}
			if err.Code != schema.CodeSchemaViolation || err.Name != "schema violation" {
				t.Errorf("error code %d %q; want 2 schema violation", err.Code, err.Name)
			}
			if got, want := canonJSON(t, marshal(t, err.Fields)), canonJSON(t, tt.fields); got != want {
				t.Errorf("fields =\n%s\nwant\n%s", got, want)
			}
			if tt.msg != "" && err.Message != tt.msg {
				t.Errorf("message =\n%s\nwant\n%s", err.Message, tt.msg)
			}
		})
	}
}

func TestServiceValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	runViolations(t, []violation{
		{
			name: "host required", typ: "services", in: js(`{}`),
			fields: `{"host":"required field missing"}`,
			msg:    "schema violation (host: required field missing)",
		},
		{
			name: "enums and ranges", typ: "services",
			in: js(`{"host":"h","protocol":"ftp","port":70000,"connect_timeout":0,"retries":-1}`),
			fields: `{"protocol":"expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
				"port":"value should be between 0 and 65535",
				"connect_timeout":"value should be between 1 and 2147483646",
				"retries":"value should be between 0 and 32767"}`,
			msg: "4 schema violations (connect_timeout: value should be between 1 and 2147483646; " +
				"port: value should be between 0 and 65535; " +
				"protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp; " +
				"retries: value should be between 0 and 32767)",
		},
		{
			name: "host with a port", typ: "services", in: js(`{"host":"example.com:80"}`),
			fields: `{"host":"must not have a port"}`,
		},
		{
			name: "bad name", typ: "services", in: js(`{"host":"h","name":"a b"}`),
			fields: `{"name":"invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}`,
		},
		{
			name: "unknown field", typ: "services", in: js(`{"host":"h","hots":"x"}`),
			fields: `{"hots":"unknown field"}`, msg: "schema violation (hots: unknown field)",
		},
		{
			name: "path refused for tcp", typ: "services", in: js(`{"host":"h","protocol":"tcp","path":"/x"}`),
			fields: `{"@entity":["failed conditional validation given value of field 'protocol'"],"path":"value must be null"}`,
			msg:    "2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)",
		},
		{
			name: "path refused for grpcs", typ: "services", in: js(`{"host":"h","protocol":"grpcs","path":"/x"}`),
			fields: `{"@entity":["failed conditional validation given value of field 'protocol'"],"path":"value must be null"}`,
		},
		{
			name: "tls settings only for https and tls", typ: "services",
			in: js(`{"host":"h","client_certificate":{"id":"` + certID + `"},"tls_verify":true,"tls_verify_depth":2,"ca_certificates":["` + certID + `"]}`),
			fields: `{"@entity":["failed conditional validation given value of field 'protocol'",
				"failed conditional validation given value of field 'protocol'",
				"failed conditional validation given value of field 'protocol'",
				"failed conditional validation given value of field 'protocol'"],
				"client_certificate":"value must be null","tls_verify":"value must be null",
				"tls_verify_depth":"value must be null","ca_certificates":"value must be null"}`,
		},
		{
			name: "tls settings with tls", typ: "services",
			in: js(`{"host":"h","protocol":"tls","client_certificate":{"id":"` + certID + `"},"tls_verify":true,"tls_verify_depth":2,"ca_certificates":["` + certID + `"]}`),
		},
		{
			name: "tls_verify_depth range", typ: "services", in: js(`{"host":"h","protocol":"https","tls_verify_depth":65}`),
			fields: `{"tls_verify_depth":"value should be between 0 and 64"}`,
		},
		{
			name: "ca_certificates must be uuids", typ: "services", in: js(`{"host":"h","protocol":"https","ca_certificates":["x"]}`),
			fields: `{"ca_certificates":["expected a valid UUID"]}`,
			msg:    "schema violation (ca_certificates.1: expected a valid UUID)",
		},
		{
			name: "client_certificate must be a foreign key", typ: "services",
			in:     js(`{"host":"h","protocol":"https","client_certificate":{"id":"x"}}`),
			fields: `{"client_certificate":{"id":"expected a valid UUID"}}`,
			msg:    "schema violation (client_certificate.id: expected a valid UUID)",
		},
		{
			name: "url of the wrong type", typ: "services", in: js(`{"url":5}`),
			fields: `{"url":"expected a string","host":"required field missing"}`,
		},
		{
			name: "url without host", typ: "services", in: js(`{"url":"http:///foo"}`),
			fields: `{"host":"required field missing"}`,
		},
		{
			name: "url with a bad port", typ: "services", in: js(`{"url":"http://example.com:http/"}`),
			fields: `{"port":"expected an integer"}`,
		},
	})
}

// TestServiceURL checks the url shorthand of services.lua.
func TestServiceURL(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	tests := []struct {
		url      string
		protocol string
		host     string
		port     int64
		path     any
	}{
		{"http://example.com", "http", "example.com", 80, nil},
		{"https://example.com", "https", "example.com", 443, nil},
		{"https://example.com:8443/api/v1?x=1#frag", "https", "example.com", 8443, "/api/v1"},
		{"grpc://example.com", "grpc", "example.com", 80, nil},
		{"//example.com:443/x", "https", "example.com", 443, "/x"},
		{"//example.com:80", "http", "example.com", 80, nil},
		{"//example.com:8080", "http", "example.com", 8080, nil},
		{"http://user:pw@example.com:81/", "http", "example.com", 81, "/"},
		{"http://[::1]:8080/a;params", "http", "::1", 8080, "/a"},
		{"tcp://10.0.0.1:5432", "tcp", "10.0.0.1", 5432, nil},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			out, err := c.Type("services").Write(map[string]any{"url": tt.url}, schema.Insert, now)
			if err != nil {
				t.Fatalf("Write: %s", err.Message)
			}
			if out["protocol"] != tt.protocol || out["host"] != tt.host || out["port"] != tt.port || out["path"] != tt.path {
				t.Errorf("protocol=%v host=%v port=%v path=%v; want %v %v %v %v",
					out["protocol"], out["host"], out["port"], out["path"], tt.protocol, tt.host, tt.port, tt.path)
			}
			if _, ok := out["url"]; ok {
				t.Error("url is input-only and must not be stored")
			}
		})
	}
}

func TestRouteValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	const (
		httpsNeeds = "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"
		httpNeeds  = "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"
		snisOnly   = "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"
		stream     = " when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"
		grpc       = " when 'protocols' is 'grpc' or 'grpcs'"
	)
	runViolations(t, []violation{
		{
			name: "valid http route", typ: "routes",
			in: js(`{"name":"r1","protocols":["http"],"methods":["GET","GET"],"hosts":["*.example.com","a.example.com:8080"],
				"paths":["/a",  "~/b/(?<id>\\d+)$"],"headers":{"x-version":["1","2"]},"service":{"id":"` + serviceID + `"},
				"regex_priority":3,"path_handling":"v1","https_redirect_status_code":301}`),
		},
		{name: "valid https route with snis only", typ: "routes", in: js(`{"protocols":["https"],"snis":["*.example.com"]}`)},
		{
			name: "default protocols need a matching attribute", typ: "routes", in: js(`{}`),
			fields: `{"@entity":["` + httpsNeeds + `"]}`,
			msg:    "schema violation (" + httpsNeeds + ")",
		},
		{
			name: "http needs a matching attribute", typ: "routes", in: js(`{"protocols":["http"],"paths":[]}`),
			fields: `{"@entity":["` + httpNeeds + `"]}`,
			msg:    "schema violation (" + httpNeeds + ")",
		},
		{
			name: "sources and destinations refused for http", typ: "routes",
			in: js(`{"paths":["/"],"sources":[{"ip":"10.0.0.1"}],"destinations":[{"port":80}]}`),
			fields: `{"sources":"cannot set 'sources' when 'protocols' is 'http' or 'https'",
				"destinations":"cannot set 'destinations' when 'protocols' is 'http' or 'https'"}`,
			msg: "2 schema violations (destinations: cannot set 'destinations' when 'protocols' is 'http' or 'https'; " +
				"sources: cannot set 'sources' when 'protocols' is 'http' or 'https')",
		},
		{
			name: "host header", typ: "routes", in: js(`{"headers":{"Host":["example.com"]}}`),
			fields: `{"headers":"cannot contain 'host' header, which must be specified in the 'hosts' attribute"}`,
			msg:    "schema violation (headers: cannot contain 'host' header, which must be specified in the 'hosts' attribute)",
		},
		{
			name: "bad header name", typ: "routes", in: js(`{"headers":{"x a":["1"]}}`),
			fields: `{"headers":"bad header name 'x a', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}`,
		},
		{
			name: "snis only with https", typ: "routes", in: js(`{"protocols":["http"],"paths":["/"],"snis":["example.com"]}`),
			fields: `{"@entity":["` + snisOnly + `"],"snis":"length must be 0"}`,
			msg:    "2 schema violations (" + snisOnly + "; snis: length must be 0)",
		},
		{
			name: "snis are wildcard hosts", typ: "routes", in: js(`{"protocols":["https"],"snis":["10.0.0.1","a.*.b","x.com:443"]}`),
			fields: `{"snis":["must not be an IP","wildcard must be leftmost or rightmost character","must not have a port"]}`,
		},
		{
			name: "protocols are mutually exclusive", typ: "routes", in: js(`{"protocols":["http","tcp"],"paths":["/"]}`),
			fields: `{"protocols":"these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')"}`,
			msg:    "schema violation (protocols: these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'))",
		},
		{
			name: "protocols not empty", typ: "routes", in: js(`{"protocols":[],"paths":["/"]}`),
			fields: `{"protocols":"length must be at least 1"}`,
		},
		{
			name: "unknown protocol", typ: "routes", in: js(`{"protocols":["ftp"],"paths":["/"]}`),
			fields: `{"protocols":["expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"]}`,
		},
		{
			name: "enums and types", typ: "routes",
			in: js(`{"paths":["/"],"https_redirect_status_code":400,"path_handling":"v2","regex_priority":"x","strip_path":"yes"}`),
			fields: `{"https_redirect_status_code":"expected one of: 426, 301, 302, 307, 308",
				"path_handling":"expected one of: v0, v1","regex_priority":"expected an integer","strip_path":"expected a boolean"}`,
		},
		{
			name: "methods are upper case", typ: "routes", in: js(`{"methods":["GET","get"]}`),
			fields: `{"methods":[null,"invalid value: get"]}`, msg: "schema violation (methods.2: invalid value: get)",
		},
		{
			name: "hosts wildcards", typ: "routes", in: js(`{"hosts":["*.a.*","a.*.com","bad host","ok.com:99999"]}`),
			fields: `{"hosts":["invalid wildcard: must have at most one wildcard",
				"invalid wildcard: must be placed at leftmost or rightmost label",
				"invalid hostname: bad host","invalid port number"]}`,
		},
		{
			name: "paths", typ: "routes", in: js(`{"paths":["/a/../b","~/(","foo","/a//b","/%zz"]}`),
			fields: `{"paths":["non-normalized path, consider use '/b' instead",
				"invalid regex: '/(' (PCRE returned: missing closing ): ` + "`/(`" + `)",
				"should start with: / (fixed path) or ~/ (regex path)",
				"must not have empty segments",
				"invalid url-encoded value: '%zz'"]}`,
		},
		{
			name: "grpc needs hosts, headers or paths", typ: "routes", in: js(`{"protocols":["grpc"]}`),
			fields: `{"@entity":["must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"],
				"protocols":"'grpc' routes are not supported yet (only http and https)"}`,
			msg: "2 schema violations (must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'; " +
				"protocols: 'grpc' routes are not supported yet (only http and https))",
		},
		{
			name: "grpcs needs hosts, headers, paths or snis", typ: "routes", in: js(`{"protocols":["grpcs"]}`),
			fields: `{"@entity":["must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"],
				"protocols":"'grpcs' routes are not supported yet (only http and https)"}`,
		},
		{
			name: "grpc forbids strip_path, methods, sources and destinations", typ: "routes",
			in: js(`{"protocols":["grpc","grpcs"],"paths":["/"],"strip_path":true,"methods":["GET"],
				"sources":[{"ip":"10.0.0.1"}],"destinations":[{"port":1}]}`),
			fields: `{"strip_path":"cannot set 'strip_path'` + grpc + `","methods":"cannot set 'methods'` + grpc + `",
				"sources":"cannot set 'sources'` + grpc + `","destinations":"cannot set 'destinations'` + grpc + `",
				"protocols":"'grpc' and 'grpcs' routes are not supported yet (only http and https)"}`,
		},
		{
			name: "tcp needs sources, destinations or snis", typ: "routes", in: js(`{"protocols":["tcp"]}`),
			fields: `{"@entity":["must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"],
				"protocols":"'tcp' routes are not supported yet (only http and https)"}`,
			msg: "2 schema violations (must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'; " +
				"protocols: 'tcp' routes are not supported yet (only http and https))",
		},
		{
			name: "stream routes forbid http attributes", typ: "routes",
			in: js(`{"protocols":["tls"],"snis":["a.com"],"methods":["GET"],"hosts":["a.com"],"paths":["/"],"headers":{"x":["y"]}}`),
			fields: `{"methods":"cannot set 'methods'` + stream + `","hosts":"cannot set 'hosts'` + stream + `",
				"paths":"cannot set 'paths'` + stream + `","headers":"cannot set 'headers'` + stream + `",
				"protocols":"'tls' routes are not supported yet (only http and https)"}`,
		},
		{
			name: "tls_passthrough needs snis", typ: "routes", in: js(`{"protocols":["tls_passthrough"]}`),
			fields: `{"@entity":["must set snis when 'protocols' is 'tls_passthrough'"],
				"protocols":"'tls_passthrough' routes are not supported yet (only http and https)"}`,
		},
		{
			name: "snis not with tcp", typ: "routes", in: js(`{"protocols":["tcp"],"snis":["a.com"]}`),
			fields: `{"@entity":["` + snisOnly + `"],"snis":"length must be 0",
				"protocols":"'tcp' routes are not supported yet (only http and https)"}`,
		},
		{
			name: "otherwise valid stream route", typ: "routes", in: js(`{"protocols":["tcp","udp"],"destinations":[{"port":53}]}`),
			fields: `{"protocols":"'tcp' and 'udp' routes are not supported yet (only http and https)"}`,
			msg:    "schema violation (protocols: 'tcp' and 'udp' routes are not supported yet (only http and https))",
		},
		{
			name: "source records need an ip or a port", typ: "routes",
			in: js(`{"protocols":["tcp","tls","udp"],"sources":[{"ip":"10.0.0.0/8"},{},{"ip":"x"}]}`),
			fields: `{"sources":[null,{"@entity":["at least one of these fields must be non-empty: 'ip', 'port'"]},
				{"ip":"invalid ip or cidr range: 'x'"}],
				"protocols":"'tcp', 'tls' and 'udp' routes are not supported yet (only http and https)"}`,
			msg: "3 schema violations (protocols: 'tcp', 'tls' and 'udp' routes are not supported yet (only http and https); " +
				"sources.2: at least one of these fields must be non-empty: 'ip', 'port'; " +
				"sources.3.ip: invalid ip or cidr range: 'x')",
		},
	})
}

// TestRouteSubschemaDefaults checks that a route is processed with the
// subschema of its protocols, as Kong does: grpc routes default
// strip_path to false.
func TestRouteSubschemaDefaults(t *testing.T) {
	t.Parallel()
	routes := newCatalog(t).Type("routes")
	for _, tt := range []struct {
		protocols []any
		strip     bool
	}{
		{[]any{"grpc"}, false},
		{[]any{"grpcs", "grpc"}, false},
		{[]any{"http"}, true},
		{[]any{"tcp"}, true},
		{nil, true},
	} {
		in := map[string]any{}
		if tt.protocols != nil {
			in["protocols"] = tt.protocols
		}
		out := routes.SchemaFor(in).Process(in, schema.Insert, now)
		if out["strip_path"] != tt.strip {
			t.Errorf("protocols %v: strip_path = %v; want %v", tt.protocols, out["strip_path"], tt.strip)
		}
	}
}

func TestConsumerValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	const atLeastOne = "at least one of these fields must be non-empty: 'custom_id', 'username'"
	runViolations(t, []violation{
		{name: "username", typ: "consumers", in: js(`{"username":"alice"}`)},
		{name: "custom_id", typ: "consumers", in: js(`{"custom_id":"c-1"}`)},
		{
			name: "neither", typ: "consumers", in: js(`{"tags":["a"]}`),
			fields: `{"@entity":["` + atLeastOne + `"]}`, msg: "schema violation (" + atLeastOne + ")",
		},
		{
			name: "empty username", typ: "consumers", in: js(`{"username":""}`),
			fields: `{"@entity":["` + atLeastOne + `"],"username":"length must be at least 1"}`,
			msg:    "2 schema violations (" + atLeastOne + "; username: length must be at least 1)",
		},
		{
			name: "bad tags", typ: "consumers", in: js(`{"username":"a","tags":["ok","a/b",5]}`),
			fields: `{"tags":[null,"invalid tag 'a/b': expected printable ascii (except ` + "`,` and `/`" + `) or valid utf-8 sequences",
				"expected a string"]}`,
		},
	})
}

func TestPluginValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	runViolations(t, []violation{
		{name: "key-auth on a service", typ: "plugins", in: js(`{"name":"key-auth","service":{"id":"` + serviceID + `"}}`)},
		{
			name: "rate-limiting on a consumer group", typ: "plugins",
			in: js(`{"name":"rate-limiting","consumer_group":{"id":"` + groupID + `"},"config":{"minute":5}}`),
		},
		{
			name: "name required", typ: "plugins", in: js(`{}`),
			fields: `{"name":"required field missing"}`, msg: "schema violation (name: required field missing)",
		},
		{
			name: "unknown plugin", typ: "plugins", in: js(`{"name":"nope","config":{}}`),
			fields: `{"name":"plugin 'nope' not enabled; add it to the 'plugins' configuration property"}`,
			msg:    "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)",
		},
		{
			name: "scope restriction", typ: "plugins", in: js(`{"name":"key-auth","consumer":{"id":"` + consumerID + `"}}`),
			fields: `{"consumer":"value must be null"}`, msg: "schema violation (consumer: value must be null)",
		},
		{
			name: "plugin protocols", typ: "plugins", in: js(`{"name":"key-auth","protocols":["tcp"]}`),
			fields: `{"protocols":["expected one of: grpc, grpcs, http, https"]}`,
		},
		{
			name: "config fields", typ: "plugins", in: js(`{"name":"key-auth","config":{"key_names":["bad name"],"extra":1}}`),
			fields: `{"config":{"key_names":["bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"],
				"extra":"unknown field"}}`,
			msg: "2 schema violations (config.extra: unknown field; " +
				"config.key_names.1: bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-')",
		},
		{
			name: "config entity check", typ: "plugins", in: js(`{"name":"rate-limiting"}`),
			fields: `{"config":{"@entity":["at least one of these fields must be non-empty: 'minute', 'hour'"]}}`,
			msg:    "schema violation (config: at least one of these fields must be non-empty: 'minute', 'hour')",
		},
		{
			name: "consumer or consumer group", typ: "plugins",
			in:     js(`{"name":"rate-limiting","config":{"hour":1},"consumer":{"id":"` + consumerID + `"},"consumer_group":{"id":"` + groupID + `"}}`),
			fields: `{"@entity":["only one or none of these fields must be set: 'consumer', 'consumer_group'"]}`,
		},
		{
			name: "foreign keys and types", typ: "plugins",
			in: js(`{"name":"key-auth","route":{"id":"x"},"enabled":"yes","instance_name":"a b"}`),
			fields: `{"route":{"id":"expected a valid UUID"},"enabled":"expected a boolean",
				"instance_name":"invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}`,
		},
	})
}

func TestUpstreamValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	const hashOn = "failed conditional validation given value of field 'hash_on'"
	const hashFallback = "failed conditional validation given value of field 'hash_fallback'"
	runViolations(t, []violation{
		{name: "hash on header", typ: "upstreams", in: js(`{"name":"u","hash_on":"header","hash_on_header":"x-user","hash_fallback":"ip"}`)},
		{
			name: "hash on query args", typ: "upstreams",
			in: js(`{"name":"u","hash_on":"query_arg","hash_on_query_arg":"a","hash_fallback":"query_arg","hash_fallback_query_arg":"b"}`),
		},
		{
			name: "name required", typ: "upstreams", in: js(`{}`),
			fields: `{"name":"required field missing"}`,
		},
		{
			name: "name is not an ip", typ: "upstreams", in: js(`{"name":"10.0.0.1"}`),
			fields: `{"name":"Invalid name ('10.0.0.1'); no ip addresses allowed"}`,
			msg:    "schema violation (name: Invalid name ('10.0.0.1'); no ip addresses allowed)",
		},
		{
			name: "name has no port", typ: "upstreams", in: js(`{"name":"up.internal:80"}`),
			fields: `{"name":"Invalid name ('up.internal:80'); no port allowed"}`,
		},
		{
			name: "name is a hostname", typ: "upstreams", in: js(`{"name":"a b"}`),
			fields: `{"name":"Invalid name ('a b'); must be a valid hostname"}`,
		},
		{
			name: "hash_on header needs the header", typ: "upstreams", in: js(`{"name":"u","hash_on":"header"}`),
			fields: `{"@entity":["` + hashOn + `"],"hash_on_header":"required field missing"}`,
			msg:    "2 schema violations (" + hashOn + "; hash_on_header: required field missing)",
		},
		{
			name: "hash_fallback header needs the header", typ: "upstreams", in: js(`{"name":"u","hash_on":"ip","hash_fallback":"header"}`),
			fields: `{"@entity":["` + hashFallback + `"],"hash_fallback_header":"required field missing"}`,
		},
		{
			name: "cookie needs a cookie and no fallback", typ: "upstreams",
			in:     js(`{"name":"u","hash_on":"cookie","hash_fallback":"header","hash_fallback_header":"x"}`),
			fields: `{"@entity":["` + hashOn + `","` + hashOn + `"],"hash_on_cookie":"required field missing","hash_fallback":"expected one of: none"}`,
		},
		{
			name: "no fallback without hash_on", typ: "upstreams", in: js(`{"name":"u","hash_on":"none","hash_fallback":"ip"}`),
			fields: `{"@entity":["` + hashOn + `"],"hash_fallback":"expected one of: none"}`,
		},
		{
			name: "fallback differs from hash_on ip", typ: "upstreams", in: js(`{"name":"u","hash_on":"ip","hash_fallback":"ip"}`),
			fields: `{"@entity":["` + hashOn + `"],"hash_fallback":"expected one of: none, consumer, header, cookie, path, query_arg, uri_capture"}`,
		},
		{
			name: "fallback differs from hash_on consumer", typ: "upstreams", in: js(`{"name":"u","hash_on":"consumer","hash_fallback":"consumer"}`),
			fields: `{"@entity":["` + hashOn + `"],"hash_fallback":"expected one of: none, ip, header, cookie, path, query_arg, uri_capture"}`,
		},
		{
			name: "fallback differs from hash_on path", typ: "upstreams", in: js(`{"name":"u","hash_on":"path","hash_fallback":"path"}`),
			fields: `{"@entity":["` + hashOn + `"],"hash_fallback":"expected one of: none, consumer, ip, header, cookie, query_arg, uri_capture"}`,
		},
		{
			name: "distinct headers", typ: "upstreams",
			in:     js(`{"name":"u","hash_on":"header","hash_on_header":"x","hash_fallback":"header","hash_fallback_header":"x"}`),
			fields: `{"@entity":["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"]}`,
		},
		{
			name: "query_arg and uri_capture need their names", typ: "upstreams",
			in: js(`{"name":"u","hash_on":"query_arg","hash_fallback":"uri_capture"}`),
			fields: `{"@entity":["` + hashOn + `","` + hashFallback + `"],
				"hash_on_query_arg":"required field missing","hash_fallback_uri_capture":"required field missing"}`,
		},
		{
			name: "distinct query args and captures", typ: "upstreams",
			in: js(`{"name":"u","hash_on":"uri_capture","hash_on_uri_capture":"id","hash_fallback":"uri_capture",
				"hash_fallback_uri_capture":"id","hash_on_query_arg":"q","hash_fallback_query_arg":"q"}`),
			fields: `{"@entity":["values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'",
				"values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'"]}`,
		},
		{
			name: "enums and ranges", typ: "upstreams",
			in: js(`{"name":"u","algorithm":"random","hash_fallback":"body","slots":5,"hash_on_cookie":"a b","hash_on_query_arg":""}`),
			// As in Kong, the conditional check runs on invalid fields too and
			// its message replaces the field's own.
			fields: `{"@entity":["` + hashOn + `"],
				"algorithm":"expected one of: consistent-hashing, least-connections, round-robin, latency",
				"hash_fallback":"expected one of: none",
				"slots":"value should be between 10 and 65536",
				"hash_on_cookie":"bad cookie name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
				"hash_on_query_arg":"length must be at least 1"}`,
		},
		{
			name: "host_header", typ: "upstreams", in: js(`{"name":"u","host_header":"bad host"}`),
			fields: `{"host_header":"invalid hostname: bad host"}`,
		},
		{
			name: "healthchecks", typ: "upstreams",
			in: js(`{"name":"u","healthchecks":{"threshold":101,"active":{"type":"udp","concurrency":0,
				"healthy":{"http_statuses":[200,99],"successes":256},"https_sni":"10.0.0.1","headers":{"x":"y"}},
				"passive":{"unhealthy":{"timeouts":-1}}}}`),
			fields: `{"healthchecks":{"threshold":"value should be between 0 and 100","active":{
				"type":"expected one of: tcp, http, https, grpc, grpcs","concurrency":"value should be between 1 and 2147483648",
				"healthy":{"http_statuses":[null,"value should be between 100 and 999"],"successes":"value should be between 0 and 255"},
				"https_sni":"must not be an IP","headers":"expected an array"},
				"passive":{"unhealthy":{"timeouts":"value should be between 0 and 255"}}}}`,
			msg: "8 schema violations (healthchecks.active.concurrency: value should be between 1 and 2147483648; " +
				"healthchecks.active.headers: expected an array; " +
				"healthchecks.active.healthy.http_statuses.2: value should be between 100 and 999; " +
				"healthchecks.active.healthy.successes: value should be between 0 and 255; " +
				"healthchecks.active.https_sni: must not be an IP; " +
				"healthchecks.active.type: expected one of: tcp, http, https, grpc, grpcs; " +
				"healthchecks.passive.unhealthy.timeouts: value should be between 0 and 255; " +
				"healthchecks.threshold: value should be between 0 and 100)",
		},
	})
}

// TestUpstreamHashCoupling checks the algorithm/hash_on coupling of
// Kong's upstream shorthands on insert.
func TestUpstreamHashCoupling(t *testing.T) {
	t.Parallel()
	upstreams := newCatalog(t).Type("upstreams")
	tests := []struct {
		in        string
		algorithm string
		hashOn    string
	}{
		{`{}`, "round-robin", "none"},
		{`{"algorithm":"least-connections"}`, "least-connections", "none"},
		{`{"algorithm":"least-connections","hash_on":"ip"}`, "least-connections", "none"},
		{`{"algorithm":"latency","hash_on":"consumer"}`, "latency", "none"},
		{`{"algorithm":"consistent-hashing","hash_on":"none"}`, "round-robin", "none"},
		{`{"algorithm":"consistent-hashing"}`, "consistent-hashing", "none"},
		{`{"hash_on":"ip"}`, "consistent-hashing", "ip"},
		{`{"algorithm":"round-robin","hash_on":"path"}`, "consistent-hashing", "path"},
	}
	for _, tt := range tests {
		in := mustJSON(t, tt.in)
		in["name"] = "u"
		out, err := upstreams.Write(in, schema.Insert, now)
		if err != nil {
			t.Errorf("%s: %s", tt.in, err.Message)
			continue
		}
		if out["algorithm"] != tt.algorithm || out["hash_on"] != tt.hashOn {
			t.Errorf("%s: algorithm=%v hash_on=%v; want %s %s", tt.in, out["algorithm"], out["hash_on"], tt.algorithm, tt.hashOn)
		}
	}
}

func TestTargetValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	up := `"upstream":{"id":"` + upstreamID + `"}`
	runViolations(t, []violation{
		{
			name: "upstream and target required", typ: "targets", in: js(`{}`),
			fields: `{"upstream":"required field missing","target":"required field missing"}`,
			msg:    "2 schema violations (target: required field missing; upstream: required field missing)",
		},
		{
			name: "not a host", typ: "targets", in: js(`{` + up + `,"target":"not a host!"}`),
			fields: `{"target":"Invalid target ('not a host!'); not a valid hostname or ip address"}`,
			msg:    "schema violation (target: Invalid target ('not a host!'); not a valid hostname or ip address)",
		},
		{
			name: "port out of range", typ: "targets", in: js(`{` + up + `,"target":"a.com:70000"}`),
			fields: `{"target":"Invalid target ('a.com:70000'); not a valid hostname or ip address"}`,
		},
		{
			name: "invalid utf-8", typ: "targets", in: map[string]any{"upstream": map[string]any{"id": upstreamID}, "target": "a\xff"},
			fields: `{"target":"Invalid target; not a valid hostname or ip address"}`,
		},
		{
			name: "weight range", typ: "targets", in: js(`{` + up + `,"target":"a.com","weight":65536}`),
			fields: `{"weight":"value should be between 0 and 65535"}`,
		},
		{name: "weight zero", typ: "targets", in: js(`{` + up + `,"target":"a.com","weight":0}`)},
	})
}

// TestTargetNormalisation checks the target strings Kong stores.
func TestTargetNormalisation(t *testing.T) {
	t.Parallel()
	targets := newCatalog(t).Type("targets")
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1:8000"},
		{"10.0.0.1:80", "10.0.0.1:80"},
		{"010.000.000.001:80", "10.0.0.1:80"},
		{"::1", "[0000:0000:0000:0000:0000:0000:0000:0001]:8000"},
		{"[2001:db8::1]:8443", "[2001:0db8:0000:0000:0000:0000:0000:0001]:8443"},
		{"example.com", "example.com:8000"},
		{"Example.COM:9000", "Example.COM:9000"},
	}
	for _, tt := range tests {
		in := map[string]any{"upstream": map[string]any{"id": upstreamID}, "target": tt.in}
		out, err := targets.Write(in, schema.Insert, now)
		if err != nil {
			t.Errorf("%s: %s", tt.in, err.Message)
			continue
		}
		if out["target"] != tt.want {
			t.Errorf("target %q stored as %v; want %q", tt.in, out["target"], tt.want)
		}
	}
}

func TestCertificateValidation(t *testing.T) {
	t.Parallel()
	rsaK, ecK, ecK2 := testKeys(t)
	rsaCert, rsaKeyPEM := selfSigned(t, rsaK, certOptions{})
	ecCert, ecKeyPEM := selfSigned(t, ecK, certOptions{})
	_, ec2KeyPEM := selfSigned(t, ecK2, certOptions{})
	cert := func(fields map[string]any) map[string]any { return fields }
	runViolations(t, []violation{
		{name: "rsa", typ: "certificates", in: cert(map[string]any{"cert": rsaCert, "key": rsaKeyPEM})},
		{name: "rsa with ecdsa alternative", typ: "certificates", in: cert(map[string]any{
			"cert": rsaCert, "key": rsaKeyPEM, "cert_alt": ecCert, "key_alt": ecKeyPEM,
		})},
		{name: "vault references", typ: "certificates", in: cert(map[string]any{
			"cert": "{vault://env/cert}", "key": "{vault://env/key}",
		})},
		{name: "snis", typ: "certificates", in: cert(map[string]any{"cert": ecCert, "key": ecKeyPEM, "snis": []any{"a.com", "*.b.com"}})},
		{
			name: "cert and key required", typ: "certificates", in: map[string]any{},
			fields: `{"cert":"required field missing","key":"required field missing"}`,
		},
		{
			name: "not pem", typ: "certificates", in: cert(map[string]any{"cert": "nope", "key": "nope"}),
			fields: `{"cert":"invalid certificate: PEM_read_bio_X509_AUX() failed",
				"key":"invalid key: PEM_read_bio_PrivateKey() failed"}`,
		},
		{
			name: "certificate does not match key", typ: "certificates", in: cert(map[string]any{"cert": ecCert, "key": ec2KeyPEM}),
			fields: `{"@entity":["certificate does not match key"]}`,
			msg:    "schema violation (certificate does not match key)",
		},
		{
			name: "rsa certificate with an ecdsa key", typ: "certificates", in: cert(map[string]any{"cert": rsaCert, "key": ecKeyPEM}),
			fields: `{"@entity":["certificate does not match key"]}`,
		},
		{
			name: "alternative pair incomplete", typ: "certificates",
			in:     cert(map[string]any{"cert": rsaCert, "key": rsaKeyPEM, "cert_alt": ecCert}),
			fields: `{"@entity":["all or none of these fields must be set: 'cert_alt', 'key_alt'"]}`,
			msg:    "schema violation (all or none of these fields must be set: 'cert_alt', 'key_alt')",
		},
		{
			name: "alternative certificate does not match key", typ: "certificates",
			in:     cert(map[string]any{"cert": rsaCert, "key": rsaKeyPEM, "cert_alt": ecCert, "key_alt": ec2KeyPEM}),
			fields: `{"@entity":["alternative certificate does not match key"]}`,
			msg:    "schema violation (alternative certificate does not match key)",
		},
		{
			name: "same key types", typ: "certificates",
			in: cert(map[string]any{"cert": rsaCert, "key": rsaKeyPEM, "cert_alt": rsaCert, "key_alt": rsaKeyPEM}),
			fields: `{"@entity":["certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), ` +
				`the provided certificates were both of the same type"]}`,
		},
		{
			name: "duplicate sni", typ: "certificates", in: cert(map[string]any{"cert": ecCert, "key": ecKeyPEM, "snis": []any{"a.com", "a.com"}}),
			fields: `{"snis":"a.com is duplicated"}`, msg: "schema violation (snis: a.com is duplicated)",
		},
		{
			name: "sni names", typ: "certificates",
			in:     cert(map[string]any{"cert": ecCert, "key": ecKeyPEM, "snis": []any{"ok.com", "10.0.0.1", "*.a.*"}}),
			fields: `{"snis":[null,"must not be an IP","only one wildcard must be specified"]}`,
		},
	})
}

// TestCertificateSNIsNotStored checks that the transient snis are
// validated but never stored with the certificate.
func TestCertificateSNIsNotStored(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	caCert, caKey := fixedCA(t)
	out, err := c.Type("certificates").Write(map[string]any{"cert": caCert, "key": caKey, "snis": []any{"a.com"}}, schema.Insert, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	if _, ok := out["snis"]; ok {
		t.Errorf("snis stored with the certificate: %v", out["snis"])
	}
	upd, err := c.Type("certificates").Update(map[string]any{"snis": []any{"b.com"}, "tags": []any{"x"}}, out, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	if _, ok := upd["snis"]; ok {
		t.Errorf("snis stored by an update: %v", upd["snis"])
	}
	if _, err := c.Type("certificates").Update(map[string]any{"snis": []any{"b.com", "b.com"}}, out, now); err == nil ||
		err.Message != "schema violation (snis: b.com is duplicated)" {
		t.Errorf("update with duplicate snis: %v", err)
	}
}

func TestSNIValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	cert := `"certificate":{"id":"` + certID + `"}`
	runViolations(t, []violation{
		{
			name: "name and certificate required", typ: "snis", in: js(`{}`),
			fields: `{"name":"required field missing","certificate":"required field missing"}`,
		},
		{name: "ip", typ: "snis", in: js(`{"name":"10.0.0.1",` + cert + `}`), fields: `{"name":"must not be an IP"}`},
		{name: "port", typ: "snis", in: js(`{"name":"a.com:443",` + cert + `}`), fields: `{"name":"must not have a port"}`},
		{
			name: "wildcard in the middle", typ: "snis", in: js(`{"name":"a.*.com",` + cert + `}`),
			fields: `{"name":"wildcard must be leftmost or rightmost character"}`,
		},
		{name: "wildcard right", typ: "snis", in: js(`{"name":"example.*",` + cert + `}`)},
	})
}

func TestCACertificateValidation(t *testing.T) {
	t.Parallel()
	_, ecK, ecK2 := testKeys(t)
	ca, _ := selfSigned(t, ecK, certOptions{isCA: true})
	expired, _ := selfSigned(t, ecK, certOptions{isCA: true, notAfter: time.Now().Add(-time.Hour)})
	leaf, _ := selfSigned(t, ecK2, certOptions{})
	other, _ := selfSigned(t, ecK2, certOptions{isCA: true})
	runViolations(t, []violation{
		{name: "ca", typ: "ca_certificates", in: map[string]any{"cert": ca}},
		{
			name: "cert required", typ: "ca_certificates", in: map[string]any{},
			fields: `{"cert":"required field missing"}`,
		},
		{
			name: "expired", typ: "ca_certificates", in: map[string]any{"cert": expired},
			fields: `{"@entity":["certificate expired, \"Not After\" time is in the past"]}`,
			msg:    `schema violation (certificate expired, "Not After" time is in the past)`,
		},
		{
			name: "not a ca", typ: "ca_certificates", in: map[string]any{"cert": leaf},
			fields: `{"@entity":["certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"]}`,
			msg:    `schema violation (certificate does not appear to be a CA because it is missing the "CA" basic constraint)`,
		},
		{
			name: "two certificates", typ: "ca_certificates", in: map[string]any{"cert": ca + other},
			fields: `{"@entity":["please submit only one certificate at a time"]}`,
			msg:    "schema violation (please submit only one certificate at a time)",
		},
		{
			name: "not a certificate", typ: "ca_certificates", in: map[string]any{"cert": "x"},
			fields: `{"cert":"invalid certificate: PEM_read_bio_X509_AUX() failed"}`,
		},
	})
}

// TestCACertificateDigest checks that cert_digest is the hex SHA-256 of
// the DER certificate, whatever the input says.
func TestCACertificateDigest(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	caCert, _ := fixedCA(t)
	const want = "cde4a492b6903440e77840af2991c613321e59350065568edf4d75fdb0610810" // openssl x509 -outform DER | sha256sum
	out, err := c.Type("ca_certificates").Write(map[string]any{"cert": caCert, "cert_digest": "forged"}, schema.Insert, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	if out["cert_digest"] != want {
		t.Errorf("cert_digest = %v; want %s", out["cert_digest"], want)
	}
}

func TestCredentialValidation(t *testing.T) {
	t.Parallel()
	js := func(s string) map[string]any { return mustJSON(t, s) }
	consumer := `"consumer":{"id":"` + consumerID + `"}`
	runViolations(t, []violation{
		{
			name: "key-auth consumer required", typ: "keyauth_credentials", in: js(`{"key":"k"}`),
			fields: `{"consumer":"required field missing"}`,
		},
		{
			name: "key-auth empty key", typ: "keyauth_credentials", in: js(`{` + consumer + `,"key":""}`),
			fields: `{"key":"length must be at least 1"}`,
		},
		{
			name: "basic-auth required fields", typ: "basicauth_credentials", in: js(`{}`),
			fields: `{"consumer":"required field missing","username":"required field missing","password":"required field missing"}`,
		},
		{
			name: "basic-auth empty password", typ: "basicauth_credentials", in: js(`{` + consumer + `,"username":"u","password":""}`),
			fields: `{"password":"length must be at least 1"}`,
		},
		{
			name: "acl required fields", typ: "acls", in: js(`{}`),
			fields: `{"consumer":"required field missing","group":"required field missing"}`,
		},
		{
			name: "acl consumer id", typ: "acls", in: js(`{"consumer":{"id":"x"},"group":"g"}`),
			fields: `{"consumer":{"id":"expected a valid UUID"}}`,
		},
		{
			name: "consumer group name required", typ: "consumer_groups", in: js(`{}`),
			fields: `{"name":"required field missing"}`,
		},
		{
			name: "membership keys required", typ: "consumer_group_consumers", in: js(`{}`),
			fields: `{"consumer_group":"required field missing","consumer":"required field missing"}`,
		},
	})
}

// TestKeyAuthGeneratesKey checks the auto-generated key: 32 alphanumerics.
func TestKeyAuthGeneratesKey(t *testing.T) {
	t.Parallel()
	out, err := newCatalog(t).Type("keyauth_credentials").Write(
		map[string]any{"consumer": map[string]any{"id": consumerID}}, schema.Insert, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	key, _ := out["key"].(string)
	if len(key) != 32 || strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		t.Errorf("generated key %q; want 32 alphanumerics", key)
	}
}

// TestBasicAuthHashing checks Kong's password hashing: sha1 hex of the
// password followed by the consumer id, on writes that carry a password
// only.
func TestBasicAuthHashing(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	typ := c.Type("basicauth_credentials")
	const otherConsumer = "3f7a8b9c-0d1e-4f2a-9b3c-5d6e7f8a9b0c"
	// printf 's3cret<consumer id>' | sha1sum
	const hashed = "7d2755f7b45706f6a0035d6c5b7a5f48354d16c2"
	in := map[string]any{"consumer": map[string]any{"id": consumerID}, "username": "alice", "password": "s3cret"}
	stored, err := typ.Write(in, schema.Insert, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	if stored["password"] != hashed || entity.HashBasicAuthPassword(consumerID, "s3cret") != hashed {
		t.Fatalf("password stored as %v; want %s", stored["password"], hashed)
	}
	if in["password"] != "s3cret" {
		t.Error("Write modified its input")
	}

	raw, err := typ.WriteWith(in, schema.Upsert, now, entity.WriteOptions{SkipTransform: true})
	if err != nil || raw["password"] != "s3cret" {
		t.Errorf("SkipTransform must store the password as given: %v %v", raw["password"], err)
	}

	tests := []struct {
		name  string
		patch map[string]any
		want  string
	}{
		{"no password keeps the hash", map[string]any{"username": "bob"}, hashed},
		{"null tags keep the hash", map[string]any{"tags": nil}, hashed},
		{
			"new password salted with the stored consumer",
			map[string]any{"password": "n3w"},
			entity.HashBasicAuthPassword(consumerID, "n3w"),
		},
		{
			"new password and consumer",
			map[string]any{"password": "n3w", "consumer": map[string]any{"id": otherConsumer}},
			entity.HashBasicAuthPassword(otherConsumer, "n3w"),
		},
	}
	for _, tt := range tests {
		got, err := typ.Update(tt.patch, stored, now)
		if err != nil {
			t.Errorf("%s: %s", tt.name, err.Message)
			continue
		}
		if got["password"] != tt.want {
			t.Errorf("%s: password %v; want %s", tt.name, got["password"], tt.want)
		}
	}
	if len(entity.HashBasicAuthPassword(otherConsumer, "n3w")) != 40 {
		t.Error("hash is not 40 hex characters")
	}
}

// TestMembershipID checks the default id of consumer group memberships.
func TestMembershipID(t *testing.T) {
	t.Parallel()
	typ := newCatalog(t).Type("consumer_group_consumers")
	in := map[string]any{"consumer_group": map[string]any{"id": groupID}, "consumer": map[string]any{"id": consumerID}}
	out, err := typ.Write(in, schema.Insert, now)
	if err != nil {
		t.Fatal(err.Message)
	}
	// python3: uuid5(uuid5(UUID('fd02801f-0957-4a15-a55a-c8d9606f30b5'), 'consumer_group_consumers'), '<group>:<consumer>')
	const want = "a654a691-42bf-5943-bcaf-10b4ca6c05c8"
	if out["id"] != want || entity.MembershipID(groupID, consumerID) != want {
		t.Errorf("membership id %v; want %s", out["id"], want)
	}
	in["id"] = id1
	if out, err := typ.Write(in, schema.Upsert, now); err != nil || out["id"] != id1 {
		t.Errorf("a given id must be kept: %v %v", out["id"], err)
	}
	swapped := map[string]any{"consumer_group": map[string]any{"id": consumerID}, "consumer": map[string]any{"id": groupID}}
	if out2, err := typ.Write(swapped, schema.Insert, now); err != nil || out2["id"] == want {
		t.Errorf("ids of different memberships must differ: %v %v", out2["id"], err)
	}
}
