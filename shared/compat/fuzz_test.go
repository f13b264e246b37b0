package compat_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzStrip checks, for any entity, that Strip never modifies its input,
// removes exactly what it reports (nothing else changes), leaves no listed
// field with a value behind, and is idempotent.
func FuzzStrip(f *testing.F) {
	f.Add(`{"id":"p1","name":"rate-limiting","config":{"error_code":1,"redis":{"ssl":true,"host":"h"}}}`, "1.0.0", "plugins")
	f.Add(`{"id":"u1","use_srv_name":false}`, "1.0.9", "upstreams")
	f.Add(`{"id":"r1","tls":{"client_hello":null}}`, "1.2.0", "routes")
	f.Add(`{"id":"p2","name":"cors","config":{"private_network":[1,2]}}`, "banana", "plugins")
	f.Fuzz(func(t *testing.T, raw, dpVersion, typ string) {
		var entity map[string]any
		if json.Unmarshal([]byte(raw), &entity) != nil || entity == nil {
			return
		}
		before := deepCopyAny(entity)
		got, changed := table.Strip(dpVersion, typ, entity)
		if !reflect.DeepEqual(entity, before) {
			t.Fatalf("Strip modified its input")
		}
		// Put the removed values back: the result must equal the input.
		restored := deepCopyAny(got)
		for _, path := range changed {
			setAt(restored, strings.Split(path, "."), lookup(before, strings.Split(path, ".")))
		}
		if !reflect.DeepEqual(restored, before) {
			t.Fatalf("Strip changed more than it reported (%v): %v -> %v", changed, before, got)
		}
		again, changedAgain := table.Strip(dpVersion, typ, got)
		if len(changedAgain) != 0 || !reflect.DeepEqual(again, got) {
			t.Fatalf("Strip is not idempotent: %v", changedAgain)
		}
	})
}

func deepCopyAny(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func lookup(m map[string]any, path []string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func setAt(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
