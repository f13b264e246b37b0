package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testSchema resembles Kong's services and plugins schemas: every kind of
// field and check the engine supports.
func testSchema() *Schema {
	return &Schema{
		Name:       "things",
		PrimaryKey: []string{"id"},
		Fields: []*Field{
			ID(),
			CreatedAt(),
			UpdatedAt(),
			UTF8Name(),
			{Name: "protocol", Type: String, Required: true, Default: "http", OneOf: []any{"http", "https", "tcp"}},
			Host("host").With(func(f *Field) { f.Required = true }),
			Port("port").With(func(f *Field) { f.Required = true; f.Default = int64(80) }),
			Path("path"),
			{Name: "retries", Type: Integer, Default: int64(5), Between: Range(0, 32767)},
			{Name: "ratio", Type: Number, Gt: new(0.0)},
			{Name: "enabled", Type: Boolean, Required: true, Default: true},
			Tags(),
			{Name: "hosts", Type: Array, Elements: &Field{Type: String, LenMin: new(3)}},
			{Name: "headers", Type: Map, Keys: HeaderName(), Values: &Field{Type: Array, Elements: &Field{Type: String}}},
			ForeignKey("parent", "things"),
			{Name: "config", Type: Record, Required: true, Fields: []*Field{
				{Name: "minute", Type: Number},
				{Name: "hour", Type: Number},
				{Name: "policy", Type: String, Default: "local", OneOf: []any{"local", "redis"}},
				{Name: "redis", Type: Record, Required: true, Fields: []*Field{
					Host("host"),
					Port("port").With(func(f *Field) { f.Default = int64(6379) }),
				}},
			}, EntityChecks: []Check{
				{AtLeastOneOf: []string{"minute", "hour"}},
				{Conditional: &Conditional{
					IfField: "policy", IfMatch: &Field{Eq: "redis"},
					ThenField: "redis.host", ThenMatch: &Field{Required: true},
				}},
			}},
			{Name: "never", Type: String, EqNull: true},
		},
		EntityChecks: []Check{
			{Conditional: &Conditional{
				IfField: "protocol", IfMatch: &Field{OneOf: []any{"tcp"}},
				ThenField: "path", ThenMatch: &Field{EqNull: true},
			}},
			{MutuallyExclusive: []string{"ratio", "retries"}},
		},
	}
}

var now = time.Unix(1700000000, 123000000)

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestSchemaDefinitionIsValid(t *testing.T) {
	t.Parallel()
	if err := testSchema().Check(); err != nil {
		t.Fatal(err)
	}
	bad := &Schema{Name: "bad", Fields: []*Field{{Name: "x", Type: Array}}}
	if err := bad.Check(); err == nil {
		t.Error("Check accepted an array without elements")
	}
	bad = &Schema{Name: "bad", Fields: []*Field{{Name: "x", Type: String}}, EntityChecks: []Check{{AtLeastOneOf: []string{"y"}}}}
	if err := bad.Check(); err == nil {
		t.Error("Check accepted an entity check on an unknown field")
	}
	bad = &Schema{Name: "bad", Fields: []*Field{{Name: "x", Type: String, Default: int64(3)}}}
	if err := bad.Check(); err == nil {
		t.Error("Check accepted a default of the wrong type")
	}
}

func TestProcessInsertFillsDefaults(t *testing.T) {
	t.Parallel()
	s := testSchema()
	in := mustJSON(t, `{"host":"example.com","config":{"minute":5},"tags":["a","b","a"],"retries":3.0}`)
	out := s.Process(in, Insert, now)
	if !IsUUID(out["id"].(string)) {
		t.Errorf("id = %v; want a UUID", out["id"])
	}
	want := map[string]any{
		"created_at": int64(1700000000), "updated_at": int64(1700000000),
		"name": nil, "protocol": "http", "host": "example.com", "port": int64(80), "path": nil,
		"retries": int64(3), "ratio": nil, "enabled": true, "tags": []any{"a", "b"},
		"hosts": nil, "headers": nil, "parent": nil, "never": nil,
		"config": map[string]any{
			"minute": float64(5), "hour": nil, "policy": "local",
			"redis": map[string]any{"host": nil, "port": int64(6379)},
		},
	}
	delete(out, "id")
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Process(insert) =\n%#v\nwant\n%#v", out, want)
	}
	if _, ok := in["id"]; ok {
		t.Error("Process modified its input")
	}
}

func TestProcessContexts(t *testing.T) {
	t.Parallel()
	s := testSchema()
	given := mustJSON(t, `{"id":"4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d","created_at":10,"host":"h"}`)
	out := s.Process(given, Upsert, now)
	if out["id"] != "4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d" || out["created_at"] != int64(10) || out["updated_at"] != int64(1700000000) {
		t.Errorf("upsert kept id/created_at and stamps updated_at; got id=%v created_at=%v updated_at=%v",
			out["id"], out["created_at"], out["updated_at"])
	}
	upd := s.Process(mustJSON(t, `{"retries":2}`), Update, now)
	want := map[string]any{"retries": int64(2), "updated_at": int64(1700000000)}
	if !reflect.DeepEqual(upd, want) {
		t.Errorf("Process(update) = %#v; want %#v", upd, want)
	}
	sel := s.Process(mustJSON(t, `{"id":"4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d","host":"h","enabled":null,"config":{"minute":1}}`), Select, now)
	if sel["enabled"] != true || sel["protocol"] != "http" || sel["name"] != nil {
		t.Errorf("Process(select) should fill defaults for nulls in required fields and missing fields; got %#v", sel)
	}
	if _, ok := sel["created_at"]; !ok {
		t.Error("Process(select) should add missing fields as null")
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	s := testSchema()
	tests := []struct {
		name string
		in   string
		mode Mode
		want map[string]any // expected JSON of the errors tree
		msg  string         // expected Kong message
	}{
		{
			name: "required",
			in:   `{"config":{"minute":1}}`,
			want: map[string]any{"host": "required field missing"},
			msg:  "schema violation (host: required field missing)",
		},
		{
			name: "types and unknown",
			in:   `{"host":"h","port":"80","enabled":"yes","retries":1.5,"bogus":1,"config":{"minute":1}}`,
			want: map[string]any{
				"port": "expected an integer", "enabled": "expected a boolean",
				"retries": "expected an integer", "bogus": "unknown field",
			},
			msg: "4 schema violations (bogus: unknown field; enabled: expected a boolean; port: expected an integer; retries: expected an integer)",
		},
		{
			name: "validators",
			in:   `{"host":"h:80","port":70000,"protocol":"ftp","ratio":0,"path":"foo","name":"a b","config":{"minute":1}}`,
			want: map[string]any{
				"host": "must not have a port", "port": "value should be between 0 and 65535",
				"protocol": "expected one of: http, https, tcp", "ratio": "value must be greater than 0",
				"path": "should start with: /",
				"name": "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
			},
		},
		{
			name: "empty string refused by default",
			in:   `{"host":"","config":{"minute":1}}`,
			want: map[string]any{"host": "length must be at least 1"},
		},
		{
			name: "array elements with holes, 1-based in message",
			in:   `{"host":"h","hosts":["abcd","ab","abc","x"],"config":{"minute":1}}`,
			want: map[string]any{"hosts": []any{nil, "length must be at least 3", nil, "length must be at least 3"}},
			msg:  "2 schema violations (hosts.2: length must be at least 3; hosts.4: length must be at least 3)",
		},
		{
			name: "nested record and its entity check",
			in:   `{"host":"h","config":{"policy":"redis","redis":{"port":"x"}}}`,
			want: map[string]any{"config": map[string]any{
				"@entity": []any{
					"at least one of these fields must be non-empty: 'minute', 'hour'",
					"failed conditional validation given value of field 'policy'",
				},
				"redis": map[string]any{"port": "expected an integer", "host": "required field missing"},
			}},
			msg: "4 schema violations (config: at least one of these fields must be non-empty: 'minute', 'hour'; " +
				"config: failed conditional validation given value of field 'policy'; " +
				"config.redis.host: required field missing; config.redis.port: expected an integer)",
		},
		{
			name: "entity checks come first",
			in:   `{"host":"h","protocol":"tcp","path":"/x","ratio":1,"retries":2,"config":{"minute":1}}`,
			want: map[string]any{
				"@entity": []any{
					"failed conditional validation given value of field 'protocol'",
					"only one or none of these fields must be set: 'ratio', 'retries'",
				},
				"path": "value must be null",
			},
			msg: "3 schema violations (failed conditional validation given value of field 'protocol'; " +
				"only one or none of these fields must be set: 'ratio', 'retries'; path: value must be null)",
		},
		{
			name: "foreign keys",
			in:   `{"host":"h","parent":{"id":"nope"},"config":{"minute":1}}`,
			want: map[string]any{"parent": map[string]any{"id": "expected a valid UUID"}},
			msg:  "schema violation (parent.id: expected a valid UUID)",
		},
		{
			name: "foreign key without id",
			in:   `{"host":"h","parent":{"name":"x"},"config":{"minute":1}}`,
			want: map[string]any{"parent": map[string]any{"id": "missing primary key"}},
		},
		{
			name: "eq null and map keys",
			in:   `{"host":"h","never":"x","headers":{"bad header":["v"]},"config":{"minute":1}}`,
			want: map[string]any{
				"never":   "value must be null",
				"headers": "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
			},
		},
		{
			name: "null in a required field",
			in:   `{"host":null,"config":{"minute":1}}`,
			mode: Mode{Partial: true},
			want: map[string]any{"host": "required field missing"},
		},
		{
			name: "partial accepts missing required fields",
			in:   `{"retries":1}`,
			mode: Mode{Partial: true},
			want: nil,
		},
		{
			name: "unknown nulls ignored only when asked",
			in:   `{"host":"h","config":{"minute":1,"future":null},"future":null}`,
			mode: Mode{IgnoreUnknownNulls: true},
			want: nil,
		},
		{
			name: "unknown nulls refused by default",
			in:   `{"host":"h","config":{"minute":1},"future":null}`,
			want: map[string]any{"future": "unknown field"},
		},
		{
			name: "tags",
			in:   `{"host":"h","tags":["ok","a,b"],"config":{"minute":1}}`,
			want: map[string]any{"tags": []any{nil, "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := mustJSON(t, tt.in)
			if !tt.mode.Partial {
				in = s.Process(in, Insert, now)
			}
			errs := s.Validate(in, tt.mode)
			if tt.want == nil {
				if errs != nil {
					t.Fatalf("Validate = %v; want no errors", errs)
				}
				return
			}
			got := roundTrip(t, errs.toMap())
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(tt.want)
				t.Errorf("errors =\n%s\nwant\n%s", gj, wj)
			}
			if tt.msg != "" {
				if got := SchemaViolation(errs).Message; got != tt.msg {
					t.Errorf("message =\n%s\nwant\n%s", got, tt.msg)
				}
			}
		})
	}
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPartialModeMessages(t *testing.T) {
	t.Parallel()
	s := &Schema{Name: "consumers", Fields: []*Field{
		{Name: "username", Type: String},
		{Name: "custom_id", Type: String},
		{Name: "a", Type: String},
		{Name: "b", Type: String},
	}, EntityChecks: []Check{
		{AtLeastOneOf: []string{"custom_id", "username"}},
		{OnlyOneOf: []string{"a", "b"}},
	}}
	errs := s.Validate(map[string]any{"username": nil, "custom_id": nil, "a": "x"}, Mode{Partial: true})
	msgs := errs.Messages()
	want := []string{
		"when updating, at least one of these fields must be non-empty: 'custom_id', 'username'",
		"b: field required for entity check when updating",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages = %q; want %q", msgs, want)
	}
	full := s.Validate(map[string]any{"username": nil, "custom_id": nil, "a": "x", "b": "y"}, Full)
	want = []string{
		"at least one of these fields must be non-empty: 'custom_id', 'username'",
		"exactly one of these fields must be non-empty: 'a', 'b'",
	}
	if got := full.Messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("messages = %q; want %q", got, want)
	}
}

func TestOtherChecks(t *testing.T) {
	t.Parallel()
	fields := []*Field{
		{Name: "a", Type: String},
		{Name: "b", Type: String},
		{Name: "c", Type: String},
		{Name: "kind", Type: String},
	}
	tests := []struct {
		check Check
		in    map[string]any
		want  string
	}{
		{Check{MutuallyRequired: []string{"a", "b"}}, map[string]any{"a": "x", "b": nil}, "all or none of these fields must be set: 'a', 'b'"},
		{Check{MutuallyRequired: []string{"a", "b"}}, map[string]any{"a": "x", "b": "y"}, ""},
		{Check{Distinct: []string{"a", "b"}}, map[string]any{"a": "x", "b": "x"}, "values of these fields must be distinct: 'a', 'b'"},
		{
			Check{MutuallyExclusiveSets: &SetsCheck{Set1: []string{"a"}, Set2: []string{"b", "c"}}},
			map[string]any{"a": "x", "c": "y"},
			"these sets are mutually exclusive: ('a'), ('c')",
		},
		{Check{ConditionalAtLeastOneOf: &ConditionalAtLeastOneOf{
			IfField: "kind", IfMatch: &Field{OneOf: []any{"x"}}, ThenAtLeastOneOf: []string{"a", "b"},
			ElseMatch: &Field{OneOf: []any{"y"}}, ElseThenAtLeastOneOf: []string{"c"}, ElseThenErr: "need %s",
		}}, map[string]any{"kind": "y"}, "need 'c'"},
		{Check{ConditionalAtLeastOneOf: &ConditionalAtLeastOneOf{
			IfField: "kind", IfMatch: &Field{OneOf: []any{"x"}}, ThenAtLeastOneOf: []string{"a", "b"},
		}}, map[string]any{"kind": "x"}, "at least one of these fields must be non-empty: 'a', 'b'"},
		{Check{Custom: &CustomCheck{FieldSources: []string{"a"}, Fn: func(e map[string]any) error {
			if e["a"] == "bad" {
				return errors.New("a is bad")
			}
			return nil
		}}}, map[string]any{"a": "bad"}, "a is bad"},
		{Check{Custom: &CustomCheck{FieldSources: []string{"a"}, Fn: func(map[string]any) error {
			panic("boom")
		}}}, map[string]any{"a": "x"}, "entity check failed"},
	}
	for i, tt := range tests {
		s := &Schema{Name: "t", Fields: fields, EntityChecks: []Check{tt.check}}
		errs := s.Validate(tt.in, Full)
		got := ""
		if errs != nil {
			got = strings.Join(errs.Messages(), "; ")
		}
		if got != tt.want {
			t.Errorf("case %d: messages = %q; want %q", i, got, tt.want)
		}
	}
}

func TestSubschemas(t *testing.T) {
	t.Parallel()
	keyAuth := &Schema{Name: "key-auth", Fields: []*Field{
		ForeignKey("consumer", "consumers").With(func(f *Field) { f.EqNull = true }),
		{Name: "config", Type: Record, Required: true, Fields: []*Field{
			{Name: "key_names", Type: Array, Required: true, Default: []any{"apikey"}, Elements: HeaderName()},
		}},
	}}
	plugins := &Schema{
		Name: "plugins",
		Fields: []*Field{
			ID(),
			{Name: "name", Type: String, Required: true},
			ForeignKey("consumer", "consumers"),
			{Name: "config", Type: Record, Abstract: true},
		},
		SubschemaKey:   "name",
		SubschemaError: "plugin '%s' not enabled; add it to the 'plugins' configuration property",
		Subschemas: func(name string) *Schema {
			if name == "key-auth" {
				return keyAuth
			}
			return nil
		},
	}
	out := plugins.Process(map[string]any{"name": "key-auth"}, Insert, now)
	cfg, _ := out["config"].(map[string]any)
	if !reflect.DeepEqual(cfg["key_names"], []any{"apikey"}) {
		t.Errorf("subschema defaults not filled: %#v", out)
	}
	if errs := plugins.Validate(out, Full); errs != nil {
		t.Errorf("valid plugin refused: %v", errs)
	}
	out["consumer"] = map[string]any{"id": "4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d"}
	if got := plugins.Validate(out, Full).Messages(); !reflect.DeepEqual(got, []string{"consumer: value must be null"}) {
		t.Errorf("scope restriction: %q", got)
	}
	errs := plugins.Validate(map[string]any{"name": "nope"}, Full)
	if got := SchemaViolation(errs).Message; got != "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)" {
		t.Errorf("unknown plugin: %s", got)
	}
	merged := plugins.Merge(map[string]any{"config": map[string]any{"key_names": []any{"x"}}}, out)
	if !reflect.DeepEqual(merged["config"], map[string]any{"key_names": []any{"x"}}) {
		t.Errorf("merge: %#v", merged["config"])
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	s := testSchema()
	stored := s.Process(mustJSON(t, `{"host":"h","tags":["a"],"config":{"minute":5,"policy":"redis","redis":{"host":"r"}}}`), Insert, now)
	patch := mustJSON(t, `{"tags":["b"],"path":null,"config":{"hour":10,"redis":{"port":6380}}}`)
	m := s.Merge(patch, stored)
	cfg := m["config"].(map[string]any)
	redis := cfg["redis"].(map[string]any)
	if cfg["minute"] != float64(5) || cfg["hour"] != json.Number("10") || cfg["policy"] != "redis" {
		t.Errorf("records must merge recursively: %#v", cfg)
	}
	if redis["host"] != "r" || redis["port"] != json.Number("6380") {
		t.Errorf("nested records must merge: %#v", redis)
	}
	if !reflect.DeepEqual(m["tags"], []any{"b"}) {
		t.Errorf("sets are replaced whole: %#v", m["tags"])
	}
	if v, ok := m["path"]; !ok || v != nil {
		t.Errorf("null clears a field: %#v", m["path"])
	}
	if stored["config"].(map[string]any)["hour"] != nil {
		t.Error("Merge modified its input")
	}
}

func TestErrorModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    *Error
		status int
		msg    string
	}{
		{InvalidPrimaryKey(map[string]any{"id": "expected a valid UUID"}), 400, `invalid primary key: '{id="expected a valid UUID"}'`},
		{
			UniqueViolation(map[string]any{"name": "basic-auth", "route": nil, "service": map[string]any{"id": "x"}, "consumer": nil}), 409,
			`UNIQUE violation detected on '{consumer=null,name="basic-auth",route=null,service={id="x"}}'`,
		},
		{NotFound(map[string]any{"id": "x"}), 404, `could not find the entity with primary key '{id="x"}'`},
		{NotFoundByField(map[string]any{"name": "x"}), 404, `could not find the entity with '{name="x"}'`},
		{
			ForeignKeyViolation("service", map[string]any{"id": "x"}, "services"), 400,
			`the foreign key '{id="x"}' does not reference an existing 'services' entity.`,
		},
		{ForeignKeyRestricted("services", "routes"), 400, `an existing 'routes' entity references this 'services' entity`},
		{
			ForeignKeysUnresolved("service", "name", "x", "services"), 400,
			`foreign key unresolved (service.name: the foreign key cannot be resolved with '{name="x"}' for an existing 'services' entity)`,
		},
		{InvalidOptions(map[string]any{"tags": "invalid filter syntax"}), 400, "invalid option (tags: invalid filter syntax)"},
		{InvalidOffset("abc", "bad base64"), 400, "'abc' is not a valid offset: bad base64"},
		{OperationUnsupported("cannot create 'services' entities when not using a database"), 405, "cannot create 'services' entities when not using a database"},
		{DatabaseError(""), 500, "database error"},
	}
	for _, tt := range tests {
		if tt.err.HTTPStatus() != tt.status || tt.err.Message != tt.msg {
			t.Errorf("%s: status %d message %q; want %d %q", tt.err.Name, tt.err.HTTPStatus(), tt.err.Message, tt.status, tt.msg)
		}
	}
	b, _ := json.Marshal(InvalidOptions(map[string]any{"tags": "cannot be null"}))
	if string(b) != `{"code":11,"name":"invalid options","message":"invalid option (tags: cannot be null)","options":{"tags":"cannot be null"}}` {
		t.Errorf("code 11 JSON: %s", b)
	}
}

func TestUUID(t *testing.T) {
	t.Parallel()
	// RFC 9562 appendix: v5 of "www.example.com" in the DNS namespace.
	if got := UUIDv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Errorf("UUIDv5 = %s", got)
	}
	u := NewUUID()
	if !IsUUID(u) || u[14] != '4' {
		t.Errorf("NewUUID = %s", u)
	}
	for _, bad := range []string{"", "x", "4fb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3", "4fb3d2b4x7fd1-4a3a-9d8e-8d7f4a1b2c3d", "zfb3d2b4-7fd1-4a3a-9d8e-8d7f4a1b2c3d"} {
		if IsUUID(bad) {
			t.Errorf("IsUUID(%q) = true", bad)
		}
	}
	if !IsUUID("4FB3D2B4-7FD1-4A3A-9D8E-8D7F4A1B2C3D") {
		t.Error("upper-case UUIDs are valid")
	}
	if r := RandomString(); len(r) != 32 {
		t.Errorf("RandomString length %d", len(r))
	}
}

func TestKongJSON(t *testing.T) {
	t.Parallel()
	j := testSchema().KongJSON()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"id":{"auto":true,"type":"string","uuid":true}}`,
		`{"port":{"between":[0,65535],"default":80,"required":true,"type":"integer"}}`,
		`{"parent":{"reference":"things","type":"foreign"}}`,
		`"entity_checks":[{"conditional":{"if_field":"protocol","if_match":{"one_of":["tcp"]},"then_field":"path","then_match":{"eq":null}}}`,
		`{"never":{"eq":null,"type":"string"}}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("KongJSON lacks %s:\n%s", want, b)
		}
	}
}

func TestRecordsAreRequiredUnlessOptional(t *testing.T) {
	t.Parallel()
	s := &Schema{Name: "r", Fields: []*Field{
		{Name: "hc", Type: Record, Fields: []*Field{{Name: "n", Type: Integer, Default: int64(1)}}},
		{Name: "opt", Type: Record, Optional: true, Fields: []*Field{{Name: "n", Type: Integer}}},
	}}
	out := s.Process(map[string]any{}, Insert, now)
	if !reflect.DeepEqual(out, map[string]any{"hc": map[string]any{"n": int64(1)}, "opt": nil}) {
		t.Errorf("Process = %#v", out)
	}
	errs := s.Validate(map[string]any{"hc": nil, "opt": nil}, Full)
	if got := errs.Messages(); !reflect.DeepEqual(got, []string{"hc: required field missing"}) {
		t.Errorf("messages = %q", got)
	}
	if j := s.Fields[0].KongJSON(); j["required"] != true {
		t.Errorf("records show required: %v", j)
	}
}
