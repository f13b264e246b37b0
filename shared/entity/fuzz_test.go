package entity_test

import (
	"encoding/json"
	"strings"
	"testing"

	"gatehouse.dev/shared/schema"
)

// FuzzWrite feeds arbitrary JSON objects to Write (insert and upsert) and
// Update of every entity type: they must never panic, and an entity that
// Write accepts must stay valid through a JSON round trip and an empty
// PATCH.
func FuzzWrite(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"host":"h","url":"http://a:1/b","protocol":"tcp","path":"/x"}`,
		`{"protocols":["grpc","http"],"paths":["~/(",1],"headers":{"host":["x"]},"sources":[{}]}`,
		`{"name":"key-auth","config":{"key_names":null},"consumer":{"id":"x"}}`,
		`{"name":"rate-limiting","config":{"minute":1,"redis":{"port":"x"}}}`,
		`{"name":"u","hash_on":"cookie","algorithm":"latency","healthchecks":{"active":null,"passive":{"healthy":5}}}`,
		`{"target":"[::1]:80","upstream":{"id":"0d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a"},"weight":1e400}`,
		`{"cert":"-----BEGIN CERTIFICATE-----","key":{},"snis":["a","a",null]}`,
		`{"consumer":{"id":"8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"},"password":"p","username":"u"}`,
		`{"consumer_group":{"id":"9c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f"},"consumer":{"id":"8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"},"id":null}`,
	} {
		f.Add(seed)
	}
	c := newCatalog(f)
	stored := map[string]map[string]any{}
	for name, in := range goldenInputs(f) {
		f.Add(marshal(f, in)) // valid inputs lead the fuzzer to deeper checks
		out, err := c.Type(name).Write(in, schema.Insert, now)
		if err != nil {
			f.Fatalf("%s: %s", name, err.Message)
		}
		stored[name] = out
	}
	f.Fuzz(func(t *testing.T, data string) {
		var in map[string]any
		d := json.NewDecoder(strings.NewReader(data))
		d.UseNumber()
		if d.Decode(&in) != nil || in == nil {
			return
		}
		for _, typ := range c.Types() {
			_, _ = typ.Write(in, schema.Upsert, now)
			_, _ = typ.Update(in, stored[typ.Name], now)
			out, err := typ.Write(in, schema.Insert, now)
			if err != nil {
				continue
			}
			b, merr := json.Marshal(out)
			if merr != nil {
				t.Fatalf("%s: valid entity does not encode: %v", typ.Name, merr)
			}
			var back map[string]any
			d := json.NewDecoder(strings.NewReader(string(b)))
			d.UseNumber()
			if err := d.Decode(&back); err != nil {
				t.Fatal(err)
			}
			if _, err := typ.Update(map[string]any{}, back, now); err != nil {
				t.Fatalf("%s: valid entity %s refused by an empty PATCH: %s", typ.Name, b, err.Message)
			}
		}
	})
}
