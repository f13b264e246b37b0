package plugin_test

import (
	"reflect"
	"testing"

	"gatehouse.dev/shared/schema"
)

const consumerRef = `{"id":"4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d"}`

// TestValidation checks Kong's messages for each plugin's rules, through
// a plugins entity: Process(Insert), then Validate.
func TestValidation(t *testing.T) {
	t.Parallel()
	entity := pluginsSchema(bundledSet(t))
	tests := []struct {
		name   string
		plugin string
		entity string // extra top-level fields, as JSON members
		config string
		want   string // the schema-violation message; "" when valid
	}{
		// Loading.
		{
			"unknown plugin", "nope", ``, `{}`,
			"schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)",
		},

		// rate-limiting.
		{"rate-limiting valid", "rate-limiting", ``, `{"second":1,"minute":5.5,"hour":100}`, ""},
		{
			"rate-limiting cluster policy refused in hybrid mode", "rate-limiting", ``, `{"minute":5,"policy":"cluster"}`,
			"schema violation (config.policy: expected one of: local, redis)",
		},
		{
			"rate-limiting period order", "rate-limiting", ``, `{"minute":10,"hour":5}`,
			"schema violation (config: The limit for hour(5.0) cannot be lower than the limit for minute(10.0))",
		},
		{
			"rate-limiting period order with fractions", "rate-limiting", ``, `{"second":2.25,"year":1}`,
			"schema violation (config: The limit for year(1.0) cannot be lower than the limit for second(2.2))",
		},
		{
			"rate-limiting at least one period", "rate-limiting", ``, `{}`,
			"schema violation (at least one of these fields must be non-empty: 'config.second', 'config.minute', " +
				"'config.hour', 'config.day', 'config.month', 'config.year')",
		},
		{
			"rate-limiting period must be positive", "rate-limiting", ``, `{"minute":0}`,
			"schema violation (config.minute: value must be greater than 0)",
		},
		{
			"rate-limiting sync_rate needs redis", "rate-limiting", ``, `{"minute":5,"sync_rate":1}`,
			"schema violation (config: sync_rate can only be used with the redis policy)",
		},
		{
			"rate-limiting sync_rate minimum", "rate-limiting", ``, `{"minute":5,"policy":"redis","redis":{"host":"r"},"sync_rate":0.01}`,
			"schema violation (config: sync_rate must be greater than 0.02, or -1 to disable)",
		},
		{"rate-limiting sync_rate with redis", "rate-limiting", ``, `{"minute":5,"policy":"redis","redis":{"host":"r"},"sync_rate":0.02}`, ""},
		{
			"rate-limiting redis host required", "rate-limiting", ``, `{"minute":5,"policy":"redis"}`,
			"2 schema violations (failed conditional validation given value of field 'config.policy'; " +
				"config.redis.host: required field missing)",
		},
		{
			"rate-limiting redis port required", "rate-limiting", ``, `{"minute":5,"policy":"redis","redis":{"host":"r","port":null}}`,
			"2 schema violations (failed conditional validation given value of field 'config.policy'; " +
				"config.redis.port: required field missing)",
		},
		// As in Kong, the conditional check also fails on the invalid host.
		{
			"rate-limiting redis host must be a host", "rate-limiting", ``, `{"minute":5,"policy":"redis","redis":{"host":"r:6379"}}`,
			"2 schema violations (failed conditional validation given value of field 'config.policy'; " +
				"config.redis.host: must not have a port)",
		},
		{
			"rate-limiting redis host checked without the redis policy", "rate-limiting", ``, `{"minute":5,"redis":{"host":"r:6379"}}`,
			"schema violation (config.redis.host: must not have a port)",
		},
		{
			"rate-limiting header limit needs a header", "rate-limiting", ``, `{"minute":5,"limit_by":"header"}`,
			"2 schema violations (failed conditional validation given value of field 'config.limit_by'; " +
				"config.header_name: required field missing)",
		},
		{
			"rate-limiting path limit needs a path", "rate-limiting", ``, `{"minute":5,"limit_by":"path"}`,
			"2 schema violations (failed conditional validation given value of field 'config.limit_by'; " +
				"config.path: required field missing)",
		},
		{"rate-limiting path limit", "rate-limiting", ``, `{"minute":5,"limit_by":"path","path":"/api"}`, ""},
		{
			"rate-limiting limit_by", "rate-limiting", ``, `{"minute":5,"limit_by":"user"}`,
			"schema violation (config.limit_by: expected one of: consumer, credential, ip, service, header, path)",
		},
		{
			"rate-limiting error_code", "rate-limiting", ``, `{"minute":5,"error_code":0}`,
			"schema violation (config.error_code: value must be greater than 0)",
		},
		{"rate-limiting deprecated redis_host", "rate-limiting", ``, `{"minute":5,"policy":"redis","redis_host":"r1"}`, ""},
		{
			"rate-limiting deprecated and new fields disagree", "rate-limiting", ``,
			`{"minute":5,"policy":"redis","redis_host":"r1","redis":{"host":"r2"}}`,
			"schema violation (config.redis_host: both deprecated and new field are used but their values mismatch: " +
				"redis_host = r1 vs redis.host = r2)",
		},
		{
			"rate-limiting deprecated field of the wrong type", "rate-limiting", ``, `{"minute":5,"redis_port":"6379"}`,
			"schema violation (config.redis_port: expected an integer)",
		},
		{"rate-limiting consumer-scoped", "rate-limiting", `"consumer":` + consumerRef + `,`, `{"minute":5}`, ""},

		// key-auth.
		{"key-auth valid", "key-auth", ``, `{"key_names":["apikey","X-API-Key"],"anonymous":"guest","realm":"api"}`, ""},
		{
			"key-auth cannot be consumer-scoped", "key-auth", `"consumer":` + consumerRef + `,`, `{}`,
			"schema violation (consumer: value must be null)",
		},
		{
			"key-auth cannot be consumer-group-scoped", "key-auth", `"consumer_group":` + consumerRef + `,`, `{}`,
			"schema violation (consumer_group: value must be null)",
		},
		{
			"key-auth key names are header names", "key-auth", ``, `{"key_names":["ok","a b"]}`,
			"schema violation (config.key_names.2: bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-')",
		},
		{
			"key-auth key names required", "key-auth", ``, `{"key_names":null}`,
			"schema violation (config.key_names: required field missing)",
		},
		{
			"key-auth http protocols only", "key-auth", `"protocols":["http","tcp"],`, `{}`,
			"schema violation (protocols.2: expected one of: grpc, grpcs, http, https)",
		},
		{
			"key-auth unknown field", "key-auth", ``, `{"key_name":"apikey"}`,
			"schema violation (config.key_name: unknown field)",
		},

		// basic-auth.
		{"basic-auth valid", "basic-auth", ``, `{"realm":"users","hide_credentials":true}`, ""},
		{
			"basic-auth cannot be consumer-scoped", "basic-auth", `"consumer":` + consumerRef + `,`, `{}`,
			"schema violation (consumer: value must be null)",
		},
		{
			"basic-auth realm required", "basic-auth", ``, `{"realm":null}`,
			"schema violation (config.realm: required field missing)",
		},

		// acl.
		{"acl allow", "acl", ``, `{"allow":["admins"],"include_consumer_groups":true}`, ""},
		{"acl deny", "acl", ``, `{"deny":["banned"]}`, ""},
		{
			"acl allow and deny refused", "acl", ``, `{"allow":["a"],"deny":["b"]}`,
			"schema violation (exactly one of these fields must be non-empty: 'config.allow', 'config.deny')",
		},
		{
			"acl needs allow or deny", "acl", ``, `{}`,
			"2 schema violations (exactly one of these fields must be non-empty: 'config.allow', 'config.deny'; " +
				"at least one of these fields must be non-empty: 'config.allow', 'config.deny')",
		},
		{
			"acl cannot be consumer-scoped", "acl", `"consumer":` + consumerRef + `,`, `{"allow":["a"]}`,
			"schema violation (consumer: value must be null)",
		},

		// cors.
		{"cors valid", "cors", ``, `{"origins":["*","https://.*\\.example\\.com"],"methods":["GET"],"max_age":3600}`, ""},
		{
			"cors origin must be a regex", "cors", ``, `{"origins":["("]}`,
			"schema violation (config.origins.1: '(' is not a valid regex)",
		},
		{
			"cors methods", "cors", ``, `{"methods":["GET","FETCH"]}`,
			"schema violation (config.methods.2: expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT)",
		},
		{
			"cors cannot be consumer-scoped", "cors", `"consumer":` + consumerRef + `,`, `{}`,
			"schema violation (consumer: value must be null)",
		},

		// correlation-id.
		{"correlation-id valid", "correlation-id", ``, `{"header_name":"X-Request-ID","generator":"uuid","echo_downstream":true}`, ""},
		{
			"correlation-id generator", "correlation-id", ``, `{"generator":"ulid"}`,
			"schema violation (config.generator: expected one of: uuid, uuid#counter, tracker)",
		},

		// ip-restriction.
		{
			"ip-restriction valid", "ip-restriction", `"protocols":["tcp"],`,
			`{"allow":["10.0.0.1","2001:db8::/32"],"deny":["10.0.0.0/8"],"status":401,"message":"go away"}`, "",
		},
		{
			"ip-restriction bad CIDR", "ip-restriction", ``, `{"allow":["10.0.0.0/33"]}`,
			"schema violation (config.allow.1: invalid ip or cidr range: '10.0.0.0/33')",
		},
		{
			"ip-restriction bad address", "ip-restriction", ``, `{"deny":["10.0.0.1","localhost"]}`,
			"schema violation (config.deny.2: invalid ip or cidr range: 'localhost')",
		},
		{
			"ip-restriction needs allow or deny", "ip-restriction", ``, `{"status":403}`,
			"schema violation (at least one of these fields must be non-empty: 'config.allow', 'config.deny')",
		},

		// request-termination.
		{"request-termination message", "request-termination", ``, `{"status_code":403,"message":"no"}`, ""},
		{"request-termination body", "request-termination", ``, `{"content_type":"text/plain","body":"no"}`, ""},
		{"request-termination echo", "request-termination", ``, `{"echo":true,"trigger":"X-Echo"}`, ""},
		{
			"request-termination status range", "request-termination", ``, `{"status_code":99}`,
			"schema violation (config.status_code: value should be between 100 and 599)",
		},
		{
			"request-termination message with body", "request-termination", ``, `{"message":"a","body":"b"}`,
			"schema violation (config: message cannot be used with content_type or body)",
		},
		{
			"request-termination content type without body", "request-termination", ``, `{"content_type":"text/plain"}`,
			"schema violation (config: content_type requires a body)",
		},
		{
			"request-termination echo with body", "request-termination", ``, `{"echo":true,"body":"b"}`,
			"schema violation (config: echo cannot be used with content_type and body)",
		},
		{
			"request-termination trigger is a header name", "request-termination", ``, `{"trigger":"a b"}`,
			"schema violation (config.trigger: bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-')",
		},

		// request-transformer.
		{
			"request-transformer valid", "request-transformer", ``,
			`{"http_method":"POST","remove":{"headers":["X-Secret"]},"rename":{"headers":["X-Old:X-New"]},` +
				`"replace":{"uri":"/v2","body":["a:b"]},"add":{"headers":["X-Via:gatehouse v1"]},"append":{"querystring":["q:1"]}}`, "",
		},
		{
			"request-transformer method", "request-transformer", ``, `{"http_method":"post"}`,
			"schema violation (config.http_method: invalid value: post)",
		},
		{
			"request-transformer pairs need a colon", "request-transformer", ``, `{"add":{"headers":["X-Foo"]}}`,
			"schema violation (config.add.headers.1: invalid value: X-Foo)",
		},
		{
			"request-transformer header name", "request-transformer", ``, `{"append":{"headers":["X Foo:1"]}}`,
			"schema violation (config.append.headers.1: 'X Foo' is not a valid header)",
		},
		{
			"request-transformer rename target", "request-transformer", ``, `{"rename":{"headers":["X-Old:New Name"]}}`,
			"schema violation (config.rename.headers.1: 'New Name' is not a valid header)",
		},
		{
			"request-transformer rename without target", "request-transformer", ``, `{"rename":{"headers":["X-Old:"]}}`,
			"schema violation (config.rename.headers.1: '' is not a valid header)",
		},
		{
			"request-transformer removed header name", "request-transformer", ``, `{"remove":{"headers":["ok",":x"]}}`,
			"schema violation (config.remove.headers.2: 'nil' is not a valid header)",
		},
		{
			"request-transformer record required", "request-transformer", ``, `{"add":null}`,
			"schema violation (config.add: required field missing)",
		},

		// response-transformer.
		{
			"response-transformer valid", "response-transformer", ``,
			`{"remove":{"json":["secret"]},"rename":{"json":["a:b"],"headers":["X-A:X-B"]},` +
				`"add":{"json":["n:1"],"json_types":["number"]},"append":{"headers":["X-A:1"]}}`, "",
		},
		{
			"response-transformer json types", "response-transformer", ``, `{"add":{"json_types":["object"]}}`,
			"schema violation (config.add.json_types.1: expected one of: boolean, number, string)",
		},
		{
			"response-transformer pairs need a colon", "response-transformer", ``, `{"replace":{"json":["x"]}}`,
			"schema violation (config.replace.json.1: invalid value: x)",
		},
		{
			"response-transformer rename header", "response-transformer", ``, `{"rename":{"headers":["X-A:B C"]}}`,
			"schema violation (config.rename.headers.1: 'B C' is not a valid header)",
		},

		// prometheus.
		{"prometheus valid on stream routes", "prometheus", `"protocols":["tcp","tls"],`, `{"per_consumer":true}`, ""},
		{
			"prometheus flags are booleans", "prometheus", ``, `{"latency_metrics":"yes"}`,
			"schema violation (config.latency_metrics: expected a boolean)",
		},

		// opentelemetry.
		{
			"opentelemetry valid", "opentelemetry", ``,
			`{"logs_endpoint":"http://c:4318/v1/logs","headers":{"Authorization":"{vault://env/otel-token}"},` +
				`"resource_attributes":{"service.name":"edge"},"queue":{"max_batch_size":10},"sampling_rate":0.5,` +
				`"propagation":{"extract":["w3c","b3"],"inject":["preserve"],"default_format":"b3"}}`, "",
		},
		{
			"opentelemetry needs an endpoint", "opentelemetry", ``, `{}`,
			"schema violation (config: at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint')",
		},
		{
			"opentelemetry endpoint is a URL", "opentelemetry", ``, `{"traces_endpoint":"collector:4318"}`,
			"schema violation (config.traces_endpoint: missing host in url)",
		},
		{
			"opentelemetry endpoint needs a scheme", "opentelemetry", ``, `{"logs_endpoint":"//collector:4318/v1/logs"}`,
			"schema violation (config.logs_endpoint: missing scheme in url)",
		},
		{"opentelemetry deprecated endpoint", "opentelemetry", ``, `{"endpoint":"http://c:4318/v1/traces"}`, ""},
		{
			"opentelemetry sampling rate", "opentelemetry", ``, `{"traces_endpoint":"http://c","sampling_rate":2}`,
			"schema violation (config.sampling_rate: value should be between 0 and 1)",
		},
		{
			"opentelemetry queue concurrency", "opentelemetry", ``, `{"traces_endpoint":"http://c","queue":{"concurrency_limit":2}}`,
			"schema violation (config.queue.concurrency_limit: expected one of: -1, 1)",
		},
		{
			"opentelemetry propagation format", "opentelemetry", ``,
			`{"traces_endpoint":"http://c","propagation":{"extract":["b3-single"],"default_format":"w3c"}}`,
			"schema violation (config.propagation.extract.1: expected one of: b3, jaeger, ot, datadog, aws, gcp, instana, w3c)",
		},
		{
			"opentelemetry propagation needs a default format", "opentelemetry", ``,
			`{"traces_endpoint":"http://c","propagation":{"inject":["w3c"]}}`,
			"schema violation (config.propagation.default_format: required field missing)",
		},
		{
			"opentelemetry header type", "opentelemetry", ``, `{"traces_endpoint":"http://c","header_type":"zipkin"}`,
			"schema violation (config.header_type: expected one of: preserve, ignore, b3, b3-single, w3c, jaeger, ot, aws, gcp, datadog)",
		},
		{
			"opentelemetry header names", "opentelemetry", ``, `{"traces_endpoint":"http://c","headers":{"a b":"x"}}`,
			"schema violation (config.headers: bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-')",
		},
		{
			"opentelemetry cannot be consumer-group-scoped", "opentelemetry", `"consumer_group":` + consumerRef + `,`,
			`{"traces_endpoint":"http://c"}`, "schema violation (consumer_group: value must be null)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := decode(t, `{`+tt.entity+`"name":"`+tt.plugin+`","config":`+tt.config+`}`)
			out := entity.Process(in, schema.Insert, now)
			errs := entity.Validate(out, schema.Full)
			got := ""
			if errs != nil {
				got = schema.SchemaViolation(errs).Message
			}
			if got != tt.want {
				t.Errorf("message =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestRedisShorthands covers rate-limiting's deprecated redis_* fields:
// they are translated into the redis record, never stored, and echoed.
func TestRedisShorthands(t *testing.T) {
	t.Parallel()
	entity := pluginsSchema(bundledSet(t))
	in := decode(t, `{"name":"rate-limiting","config":{"minute":5,"policy":"redis",`+
		`"redis_host":"redis.internal","redis_port":6380,"redis_ssl":true,"redis_password":""}}`)
	out := entity.Process(in, schema.Insert, now)
	if errs := entity.Validate(out, schema.Full); errs != nil {
		t.Fatalf("deprecated fields refused: %s", schema.SchemaViolation(errs).Message)
	}
	cfg := out["config"].(map[string]any)
	wantRedis := map[string]any{
		"host": "redis.internal", "port": int64(6380), "timeout": int64(2000), "username": nil,
		"password": "", "database": int64(0), "ssl": true, "ssl_verify": false, "server_name": nil,
	}
	if !reflect.DeepEqual(cfg["redis"], wantRedis) {
		t.Errorf("redis = %#v; want %#v", cfg["redis"], wantRedis)
	}
	for k := range cfg {
		if len(k) > 6 && k[:6] == "redis_" {
			t.Errorf("deprecated field %s stored", k)
		}
	}

	shown := entity.Present(out)["config"].(map[string]any)
	wantEcho := map[string]any{
		"redis_host": "redis.internal", "redis_port": int64(6380), "redis_timeout": int64(2000), "redis_username": nil,
		"redis_password": "", "redis_database": int64(0), "redis_ssl": true, "redis_ssl_verify": false, "redis_server_name": nil,
	}
	for k, want := range wantEcho {
		if got, ok := shown[k]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("shown %s = %#v (present %v); want %#v", k, got, ok, want)
		}
	}

	// The same value given both ways is accepted; the new field is kept.
	both := entity.Process(decode(t, `{"name":"rate-limiting","config":{"minute":5,"redis_host":"a","redis":{"host":"a"}}}`), schema.Insert, now)
	if errs := entity.Validate(both, schema.Full); errs != nil {
		t.Errorf("same value both ways refused: %s", schema.SchemaViolation(errs).Message)
	}
}

// TestOpenTelemetryEndpointShorthand checks that the deprecated endpoint
// becomes traces_endpoint and is not echoed.
func TestOpenTelemetryEndpointShorthand(t *testing.T) {
	t.Parallel()
	entity := pluginsSchema(bundledSet(t))
	out := entity.Process(decode(t, `{"name":"opentelemetry","config":{"endpoint":"http://c:4318/v1/traces"}}`), schema.Insert, now)
	if errs := entity.Validate(out, schema.Full); errs != nil {
		t.Fatal(schema.SchemaViolation(errs).Message)
	}
	cfg := entity.Present(out)["config"].(map[string]any)
	if cfg["traces_endpoint"] != "http://c:4318/v1/traces" {
		t.Errorf("traces_endpoint = %v", cfg["traces_endpoint"])
	}
	if _, ok := cfg["endpoint"]; ok {
		t.Error("endpoint is input-only and must not be echoed")
	}
}
