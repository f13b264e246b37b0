package admin

import (
	"encoding/json"
	"testing"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
)

func TestInfer(t *testing.T) {
	t.Parallel()
	plugins, err := plugin.Load("bundled")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ  string
		in   map[string]any
		want string // JSON
	}{
		{
			"services",
			map[string]any{"port": "8080", "retries": "0x10", "enabled": "false", "tags": "a", "path": ""},
			`{"enabled":false,"path":null,"port":8080,"retries":16,"tags":["a"]}`,
		},
		{
			"services",
			map[string]any{"port": "eighty", "enabled": "yes", "tls_verify": "true"},
			`{"enabled":"yes","port":"eighty","tls_verify":true}`,
		},
		{"services", map[string]any{"url": "http://a.example", "unknown": "x"}, `{"unknown":"x","url":"http://a.example"}`},
		{
			"routes",
			map[string]any{"paths": []any{"/a", ""}, "headers": map[string]any{"x": "1"}, "regex_priority": "-2", "https_redirect_status_code": "301"},
			`{"headers":{"x":["1"]},"https_redirect_status_code":301,"paths":["/a",null],"regex_priority":-2}`,
		},
		{"routes", map[string]any{"paths": map[string]any{"2": "/b", "1": "/a"}}, `{"paths":["/a","/b"]}`},
		{
			"plugins",
			map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": "5", "fault_tolerant": "true", "redis": map[string]any{"port": "6380"}}},
			`{"config":{"fault_tolerant":true,"minute":5,"redis":{"port":6380}},"name":"rate-limiting"}`,
		},
		{"plugins", map[string]any{"name": "unknown", "config": map[string]any{"minute": "5"}}, `{"config":{"minute":"5"},"name":"unknown"}`},
		{"targets", map[string]any{"weight": "1.5"}, `{"weight":1.5}`},
		{
			"upstreams",
			map[string]any{"healthchecks": map[string]any{"active": map[string]any{"timeout": "2.5", "healthy": map[string]any{"http_statuses": []any{"200", "302"}}}}},
			`{"healthchecks":{"active":{"healthy":{"http_statuses":[200,302]},"timeout":2.5}}}`,
		},
	}
	for _, tt := range tests {
		got, _ := json.Marshal(Infer(cat.Type(tt.typ).Schema, tt.in))
		if string(got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.typ, got, tt.want)
		}
	}
}

func TestLuaNumber(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want any
	}{
		{"1", int64(1)},
		{"-1", int64(-1)},
		{"+2", int64(2)},
		{"1.0", int64(1)},
		{"1e3", int64(1000)},
		{"0x1F", int64(31)},
		{"-0x10", int64(-16)},
		{" 7 ", int64(7)},
		{".5", 0.5},
		{"9223372036854775807", int64(9223372036854775807)},
	} {
		got, ok := luaNumber(tt.in, true)
		if !ok || got != tt.want {
			t.Errorf("%q: %v %v, want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, in := range []string{"", "x", "1x", "inf", "NaN", "0x", "1e999", "--1", "1..2"} {
		if got, ok := luaNumber(in, false); ok {
			t.Errorf("%q accepted as %v", in, got)
		}
	}
}
