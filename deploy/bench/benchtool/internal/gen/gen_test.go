package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteProxy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := ProxyOptions{Routes: 20, Consumers: 7, RedisHost: "127.0.0.1", RedisPort: 6379, Rotation: 50}
	if err := WriteProxy(dir, o); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // G304: a file WriteProxy wrote in the test's temporary directory
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	none, local, redis := read("none.yaml"), read("local.yaml"), read("redis.yaml")
	for name, text := range map[string]string{"none": none, "local": local, "redis": redis} {
		if got := strings.Count(text, "paths: ["); got != 20 {
			t.Errorf("%s: %d routes, want 20", name, got)
		}
		if got := strings.Count(text, "- key: bench-key-"); got != 7 {
			t.Errorf("%s: %d keys, want 7", name, got)
		}
		if !strings.Contains(text, "url: http://"+Upstream) {
			t.Errorf("%s: the upstream is not the placeholder", name)
		}
	}
	if !strings.HasSuffix(none, "plugins: []\n") || strings.Contains(none, "key-auth") {
		t.Errorf("none.yaml has plugins:\n%s", none)
	}
	if !strings.Contains(local, "policy: local") || !strings.Contains(local, "name: key-auth") {
		t.Errorf("local.yaml:\n%s", local)
	}
	// A Redis failure must fail requests, not pass them uncounted.
	if !strings.Contains(redis, "policy: redis") || !strings.Contains(redis, "fault_tolerant: false") ||
		!strings.Contains(redis, `redis: {host: "127.0.0.1", port: 6379}`) {
		t.Errorf("redis.yaml:\n%s", redis)
	}
	txt := read("requests.txt")
	lines := strings.Split(strings.TrimSpace(txt), "\n")
	if len(lines) != 51 { // a comment, then the rotation
		t.Fatalf("requests.txt has %d lines", len(lines))
	}
	if lines[1] != "/r0\tapikey: bench-key-0" || lines[2] != "/r1\tapikey: bench-key-1" || lines[28] != "/r7\tapikey: bench-key-0" {
		t.Errorf("rotation: %q", lines[:30])
	}
	if lua := read("rotate.lua"); strings.Count(lua, "wrk.format(") != 50 {
		t.Errorf("rotate.lua does not hold the rotation:\n%s", lua)
	}
	if err := WriteProxy(dir, ProxyOptions{Routes: 0, Consumers: 1, Rotation: 1}); err == nil {
		t.Error("no routes is not an error")
	}
}

func TestSized(t *testing.T) {
	t.Parallel()
	data, n, err := Sized(1000, "127.0.0.1:1", "/probe")
	if err != nil {
		t.Fatal(err)
	}
	if n != 998 {
		t.Errorf("%d entities, want 998", n)
	}
	_, m, err := Sized(1000, "127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	if m != n-1 || !strings.Contains(string(data), `"/probe"`) {
		t.Errorf("the probe route: %d and %d entities", n, m)
	}
}
