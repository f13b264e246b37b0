package plugin_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/schema"
)

// FuzzPluginConfig feeds arbitrary configurations to a bundled plugin
// (picked by index) through the plugins entity. Processing and validation
// must never panic; a valid entity must stay valid when read back from
// storage, and the entity as the Admin API shows it (deprecated fields
// echoed) must be accepted back unchanged, as decK sends it.
func FuzzPluginConfig(f *testing.F) {
	names := bundledSet(f).Names()
	index := func(name string) int { return slices.Index(names, name) }
	for name, config := range minimalConfigs {
		f.Add(index(name), config)
	}
	for _, seed := range [][2]string{
		{"rate-limiting", `{"minute":5,"policy":"redis","redis_host":"r","redis_port":1,"sync_rate":0.5}`},
		{"rate-limiting", `{"hour":1,"minute":2,"redis":{"host":"a"},"redis_host":"b"}`},
		{"rate-limiting", `{"second":1e308,"redis":null,"redis_ssl":null}`},
		{"opentelemetry", `{"endpoint":"http://x","queue":{},"propagation":null}`},
		{"request-transformer", `{"rename":{"headers":[":","a:"]},"add":{"body":[1]}}`},
		{"request-termination", `{"echo":true,"content_type":"","message":""}`},
		{"cors", `{"origins":["*","(?i)a",""],"max_age":-1}`},
		{"acl", `{"allow":[],"deny":[null]}`},
	} {
		f.Add(index(seed[0]), seed[1])
	}
	entity := pluginsSchema(bundledSet(f))
	f.Fuzz(func(t *testing.T, pick int, data string) {
		n := len(names)
		name := names[(pick%n+n)%n]
		d := json.NewDecoder(strings.NewReader(data))
		d.UseNumber()
		var config any
		if d.Decode(&config) != nil {
			return
		}
		in := map[string]any{"name": name, "config": config}
		_ = entity.Validate(in, schema.Mode{Partial: true})
		out := entity.Process(in, schema.Insert, now)
		errs := entity.Validate(out, schema.Full)
		shown := entity.Present(out)
		if errs != nil {
			_ = schema.SchemaViolation(errs)
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("valid entity does not encode: %v", err)
		}
		back := entity.Process(decode(t, string(b)), schema.Select, now)
		if errs := entity.Validate(back, schema.Full); errs != nil {
			t.Fatalf("stored entity %s became invalid: %s", b, schema.SchemaViolation(errs).Message)
		}
		resent := entity.Process(decode(t, mustJSON(t, shown)), schema.Upsert, now)
		if errs := entity.Validate(resent, schema.Full); errs != nil {
			t.Fatalf("shown entity %s refused: %s", mustJSON(t, shown), schema.SchemaViolation(errs).Message)
		}
		if !reflect.DeepEqual(decode(t, mustJSON(t, resent["config"])), decode(t, mustJSON(t, out["config"]))) {
			t.Fatalf("resending the shown entity changed its config:\n%s\nwant\n%s", mustJSON(t, resent["config"]), mustJSON(t, out["config"]))
		}
	})
}
