package declarative_test

import (
	"strings"
	"testing"

	"gatehouse.dev/shared/declarative"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	svcID := declarative.GenerateID("services", "a")
	for _, tc := range []struct {
		name string
		src  string
		opts declarative.Options
		// fields is the expected fields tree as JSON; message, when set,
		// the exact message.
		fields  string
		message string
	}{
		{
			name: "schema violation in a nested route",
			src: `
_format_version: "3.0"
services:
- name: a
  host: example.com
  routes:
  - {name: ok, paths: [/]}
  - {name: bad}
`,
			fields:  `{"services":[{"routes":[null,{"@entity":["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"]}]}]}`,
			message: `declarative config is invalid: {services={{routes={[2]={["@entity"]={"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"}}}}}}`,
		},
		{
			name: "field errors of several entities",
			src: `
_format_version: "3.0"
services:
- {name: a, host: example.com, retries: many, protocol: tcp, path: /x}
upstreams:
- {name: up, slots: 1}
`,
			fields: `{"services":[{"@entity":["failed conditional validation given value of field 'protocol'"],"path":"value must be null","retries":"expected an integer"}],` +
				`"upstreams":[{"slots":"value should be between 10 and 65536"}]}`,
			message: `declarative config is invalid: {services={{["@entity"]={"failed conditional validation given value of field 'protocol'"},path="value must be null",retries="expected an integer"}},upstreams={{slots="value should be between 10 and 65536"}}}`,
		},
		{
			name: "duplicate name",
			src: `
_format_version: "3.0"
services:
- {name: a, host: one.test}
- {name: a, host: two.test}
`,
			fields:  `{"services":[null,"uniqueness violation: 'services' entity with name set to 'a' already declared"]}`,
			message: `declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with name set to 'a' already declared"}}`,
		},
		{
			name: "duplicate name across nesting",
			src: `
_format_version: "3.0"
services:
- name: a
  host: one.test
  routes: [{name: r, paths: [/a]}]
routes:
- {name: r, paths: [/b]}
`,
			fields: `{"routes":[ "uniqueness violation: 'routes' entity with name set to 'r' already declared"]}`,
		},
		{
			name: "duplicate id",
			src: `
_format_version: "3.0"
services:
- {id: ` + svcID + `, name: a, host: one.test}
- {id: ` + svcID + `, name: b, host: two.test}
`,
			fields: `{"services":[null,"uniqueness violation: 'services' entity with primary key set to '` + svcID + `' already declared"]}`,
		},
		{
			name: "derived ids collide",
			src: `
_format_version: "3.0"
plugins:
- name: key-auth
- name: key-auth
  config: {hide_credentials: true}
`,
			fields: `{"plugins":[null,"uniqueness violation: 'plugins' entity with primary key set to '` +
				declarative.GenerateID("plugins", "plugins:*:key-auth::::") + `' already declared"]}`,
		},
		{
			name: "dangling reference by name",
			src: `
_format_version: "3.0"
routes:
- {name: r, paths: [/], service: nope}
`,
			fields:  `{"routes":[["invalid reference 'service: nope' (no such entry in 'services')"]]}`,
			message: `declarative config is invalid: {routes={{"invalid reference 'service: nope' (no such entry in 'services')"}}}`,
		},
		{
			name: "dangling reference by id",
			src: `
_format_version: "3.0"
services:
- name: a
  host: example.com
  plugins:
  - name: key-auth
    route: {id: 7d5e8c3a-0f6b-4f0e-9c7a-1d2e3f4a5b6c}
`,
			fields: `{"services":[{"plugins":[["invalid reference 'route: {\"id\":\"7d5e8c3a-0f6b-4f0e-9c7a-1d2e3f4a5b6c\"}' (no such entry in 'routes')"]]}]}`,
		},
		{
			name: "dangling membership reference",
			src: `
_format_version: "3.0"
consumer_groups:
- name: gold
  consumers: [{username: alice}, bob]
consumers:
- username: alice
`,
			fields: `{"consumer_groups":[{"consumers":[null,["invalid reference 'consumer: bob' (no such entry in 'consumers')"]]}]}`,
		},
		{
			name: "membership alias naming nothing",
			src: `
_format_version: "3.0"
consumer_groups:
- name: gold
  consumers: [{tags: [x]}]
`,
			fields: `{"consumer_groups":[{"consumers":[{"@entity":["at least one of these fields must be non-empty: 'id', 'username', 'custom_id'"]}]}]}`,
		},
		{
			name: "schema errors come before reference errors",
			src: `
_format_version: "3.0"
routes:
- {name: r, paths: [/], service: nope}
- {name: q, paths: [/], protocols: [ftp]}
`,
			fields: `{"routes":[null,{"protocols":["expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"]}]}`,
		},
		{
			name: "duplicate unique field",
			src: `
_format_version: "3.0"
consumers:
- {username: a, custom_id: x}
- {username: b, custom_id: x}
`,
			fields: `{"consumers":[null,"uniqueness violation: 'consumers' entity with custom_id set to 'x' already declared"]}`,
		},
		{
			name: "plugin scope declared twice",
			src: `
_format_version: "3.0"
services:
- name: a
  host: example.com
  plugins:
  - {id: 11111111-1111-4111-8111-111111111111, name: key-auth}
plugins:
- {id: 22222222-2222-4222-8222-222222222222, name: key-auth, service: a}
`,
			fields: `{"plugins":["uniqueness violation: 'plugins' entity with cache key set to ` +
				`'{consumer=null,consumer_group=null,name=\"key-auth\",route=null,service={id=\"` + svcID + `\"}}' already declared"]}`,
		},
		{
			name: "target declared twice",
			src: `
_format_version: "3.0"
upstreams:
- name: up
  targets:
  - target: 10.0.0.1
  - target: 10.0.0.1:8000
`,
			fields: `{"upstreams":[{"targets":[null,"uniqueness violation: 'targets' entity with cache key set to ` +
				`'{target=\"10.0.0.1:8000\",upstream={id=\"` + declarative.GenerateID("upstreams", "up") + `\"}}' already declared"]}]}`,
		},
		{
			name:   "unknown top-level key",
			src:    `{"_format_version": "3.0", "servces": []}`,
			fields: `{"servces":"unknown field"}`,
		},
		{
			name:   "unknown nested key",
			src:    `{"_format_version": "3.0", "services": [{"name": "a", "host": "h", "targets": []}]}`,
			fields: `{"services":[{"targets":"unknown field"}]}`,
		},
		{
			name:    "missing _format_version",
			src:     `{"services": []}`,
			fields:  `{"_format_version":"required field missing"}`,
			message: `declarative config is invalid: {_format_version="required field missing"}`,
		},
		{
			name:   "unsupported _format_version",
			src:    `{"_format_version": "4.0"}`,
			fields: `{"_format_version":"expected one of: 1.1, 2.1, 3.0"}`,
		},
		{
			name:   "numeric _format_version",
			src:    "_format_version: 3.0\n",
			fields: `{"_format_version":"expected a string"}`,
		},
		{
			name:   "bad _transform and comments",
			src:    `{"_format_version": "3.0", "_transform": "yes", "_comment": 1, "_ignore": "x"}`,
			fields: `{"_transform":"expected a boolean","_comment":"expected a string","_ignore":"expected an array"}`,
		},
		{
			name:   "entity comments",
			src:    `{"_format_version": "3.0", "services": [{"name": "a", "host": "h", "_comment": ["x"]}]}`,
			fields: `{"services":[{"_comment":"expected a string"}]}`,
		},
		{
			name:   "section not an array",
			src:    `{"_format_version": "3.0", "services": {"name": "a"}}`,
			fields: `{"services":"expected an array"}`,
		},
		{
			name:   "nested section not an array",
			src:    `{"_format_version": "3.0", "services": [{"name": "a", "host": "h", "routes": "r"}]}`,
			fields: `{"services":[{"routes":"expected an array"}]}`,
		},
		{
			name:   "element not a record",
			src:    `{"_format_version": "3.0", "services": [{"name": "a", "host": "h"}, "b"]}`,
			fields: `{"services":[null,"expected a record"]}`,
		},
		{
			name:   "foreign key of the wrong type",
			src:    `{"_format_version": "3.0", "routes": [{"name": "r", "paths": ["/"], "service": 5}]}`,
			fields: `{"routes":[{"service":"expected a string"}]}`,
		},
		{
			name:   "foreign key object without a valid id",
			src:    `{"_format_version": "3.0", "routes": [{"name": "r", "paths": ["/"], "service": {"id": "x"}}]}`,
			fields: `{"routes":[{"service":{"id":"expected a valid UUID"}}]}`,
		},
		{
			name:   "bad ttl",
			src:    `{"_format_version": "3.0", "consumers": [{"username": "a", "keyauth_credentials": [{"ttl": -1}]}]}`,
			fields: `{"consumers":[{"keyauth_credentials":[{"ttl":"value should be between 0 and 100000000"}]}]}`,
		},
		{
			name:    "bad YAML",
			src:     "_format_version: \"3.0\"\nservices:\n  - name: a\n   host: b\n",
			fields:  `{"error":"failed parsing declarative configuration: yaml: line 2: did not find expected '-' indicator"}`,
			message: `declarative config is invalid: {error="failed parsing declarative configuration: yaml: line 2: did not find expected '-' indicator"}`,
		},
		{
			name:   "duplicate YAML key",
			src:    "_format_version: \"3.0\"\nservices: []\nservices: []\n",
			fields: `{"error":"failed parsing declarative configuration: line 3: mapping key \"services\" already defined at line 2"}`,
		},
		{
			name:   "non-object",
			src:    `[{"_format_version": "3.0"}]`,
			fields: `{"error":"failed parsing declarative configuration: expected an object"}`,
		},
		{
			name:   "scalar",
			src:    `just text`,
			fields: `{"error":"failed parsing declarative configuration: expected an object"}`,
		},
		{
			name:   "empty",
			src:    ``,
			fields: `{"error":"failed parsing declarative configuration: expected an object"}`,
		},
		{
			name:   "too large",
			src:    `{"_format_version": "3.0"}`,
			opts:   declarative.Options{MaxSize: 10},
			fields: `{"error":"declarative configuration is too large: 26 bytes (the limit is 10 bytes)"}`,
		},
		{
			name: "too many entities",
			src: `
_format_version: "3.0"
services:
- {name: a, host: h, routes: [{name: r, paths: [/]}]}
- {name: b, host: h}
`,
			opts:   declarative.Options{MaxEntities: 2},
			fields: `{"error":"declarative configuration declares more than 2 entities"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := parseError(t, tc.src, tc.opts)
			if got, want := canonical(t, err.Fields), canonical(t, tc.fields); got != want {
				t.Errorf("fields:\n got %s\nwant %s", got, want)
			}
			if tc.message != "" && err.Message != tc.message {
				t.Errorf("message:\n got %s\nwant %s", err.Message, tc.message)
			}
			if !strings.HasPrefix(err.Message, "declarative config is invalid: {") {
				t.Errorf("message %q lacks Kong's prefix", err.Message)
			}
			if err.FlattenedErrors != nil {
				t.Errorf("flattened errors without FlattenErrors: %v", err.FlattenedErrors)
			}
			if err.HTTPStatus() != 400 {
				t.Errorf("HTTPStatus = %d, want 400", err.HTTPStatus())
			}
		})
	}
}
