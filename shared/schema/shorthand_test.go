package schema

import (
	"reflect"
	"testing"
)

func shorthandSchema() *Schema {
	return &Schema{Name: "p", Fields: []*Field{
		{Name: "config", Type: Record, Required: true, Fields: []*Field{
			{Name: "redis", Type: Record, Required: true, Fields: []*Field{
				Host("host"), Port("port").With(func(f *Field) { f.Default = int64(6379) }),
			}},
		}, Shorthands: []Shorthand{{
			Field:      &Field{Name: "redis_host", Type: String},
			Translate:  func(v any) map[string]any { return map[string]any{"redis": map[string]any{"host": v}} },
			Deprecated: true,
			Backwards: func(e map[string]any) any {
				r, _ := e["redis"].(map[string]any)
				return r["host"]
			},
		}}},
	}, Shorthands: []Shorthand{{
		Field: &Field{Name: "url", Type: String},
		Translate: func(v any) map[string]any {
			return map[string]any{"config": map[string]any{"redis": map[string]any{"host": v, "port": int64(1)}}}
		},
	}}}
}

func TestShorthands(t *testing.T) {
	t.Parallel()
	s := shorthandSchema()
	out := s.Process(map[string]any{"config": map[string]any{"redis_host": "r1"}}, Insert, now)
	want := map[string]any{"config": map[string]any{"redis": map[string]any{"host": "r1", "port": int64(6379)}}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("deprecated shorthand: %#v", out)
	}
	if errs := s.Validate(out, Full); errs != nil {
		t.Errorf("translated entity invalid: %v", errs)
	}

	// Same value given both ways is fine; the real field wins.
	out = s.Process(map[string]any{"config": map[string]any{"redis_host": "r1", "redis": map[string]any{"host": "r1"}}}, Insert, now)
	if errs := s.Validate(out, Full); errs != nil {
		t.Errorf("same value both ways refused: %v", errs.Messages())
	}

	// Different values are refused.
	out = s.Process(map[string]any{"config": map[string]any{"redis_host": "r1", "redis": map[string]any{"host": "r2"}}}, Insert, now)
	got := s.Validate(out, Full).Messages()
	wantMsg := []string{"config.redis_host: both deprecated and new field are used but their values mismatch: redis_host = r1 vs redis.host = r2"}
	if !reflect.DeepEqual(got, wantMsg) {
		t.Errorf("mismatch: %q", got)
	}

	// A shorthand of the wrong type is reported under its own name.
	out = s.Process(map[string]any{"config": map[string]any{"redis_host": 5}}, Insert, now)
	if got := s.Validate(out, Full).Messages(); !reflect.DeepEqual(got, []string{"config.redis_host: expected a string"}) {
		t.Errorf("bad shorthand: %q", got)
	}

	// A non-deprecated shorthand wins over the real fields.
	out = s.Process(map[string]any{"url": "u", "config": map[string]any{"redis": map[string]any{"host": "x"}}}, Insert, now)
	cfg := out["config"].(map[string]any)
	if cfg["redis"].(map[string]any)["host"] != "u" {
		t.Errorf("url shorthand should win: %#v", out)
	}
	if _, ok := out["url"]; ok {
		t.Error("shorthands are never stored")
	}

	// Responses echo deprecated fields; stripping them gives the stored form.
	stored := s.Process(map[string]any{"config": map[string]any{"redis": map[string]any{"host": "h"}}}, Insert, now)
	shown := s.Present(stored)
	if shown["config"].(map[string]any)["redis_host"] != "h" {
		t.Errorf("Present should echo redis_host: %#v", shown)
	}
	if _, ok := stored["config"].(map[string]any)["redis_host"]; ok {
		t.Error("Present modified its input")
	}
	s.StripShorthands(shown)
	if !reflect.DeepEqual(shown, stored) {
		t.Errorf("StripShorthands: %#v", shown)
	}
}
