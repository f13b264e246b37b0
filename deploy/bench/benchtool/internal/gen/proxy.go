// Package gen writes the configurations the bench report runs on: the
// proxy benchmark's declarative files (routes, consumers with keys, and
// the plugin sets compared), its wrk Lua script and request rotation, and
// the sized configurations of the propagation benchmark.
package gen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Upstream is the placeholder for the upstream's host:port in the proxy
// templates; deploy/bench/dataplane.sh replaces it (CONFIG=...).
const Upstream = "{upstream}"

// ProxyOptions shapes the proxy benchmark's configuration.
type ProxyOptions struct {
	// Routes and Consumers: how many of each (routes spread over
	// Routes/10 services, at least one).
	Routes, Consumers int
	// RedisHost and RedisPort are where the redis policy counts.
	RedisHost string
	RedisPort int
	// Rotation is how many requests the rotation holds (route i mod
	// Routes, with a consumer's key chosen to vary independently).
	Rotation int
}

// PluginSets are the configurations compared, by file name (without
// .yaml): no plugins, key-auth with local rate limiting, key-auth with
// rate limiting counted in Redis.
var PluginSets = []string{"none", "local", "redis"}

// Key is the key-auth key of consumer i.
func Key(i int) string { return fmt.Sprintf("bench-key-%d", i) }

// WriteProxy writes into dir: none.yaml, local.yaml and redis.yaml (the
// same routes and consumers with each plugin set, the upstream written as
// {upstream}), rotate.lua (a wrk script sending the rotation) and
// requests.txt (the same rotation for benchtool latency).
func WriteProxy(dir string, o ProxyOptions) error {
	if o.Routes < 1 || o.Consumers < 1 || o.Rotation < 1 {
		return errors.New("routes, consumers and rotation must be positive")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // a benchmark's scratch directory, read by nginx-style workers
		return fmt.Errorf("create %s: %w", dir, err)
	}
	base := proxyBase(o)
	plugins := map[string]string{
		"none":  "plugins: []\n",
		"local": pluginsYAML("policy: local"),
		// Not fault tolerant: with Redis unreachable every request fails
		// (and wrk reports errors) instead of passing uncounted, which
		// would measure a rate limiter that does nothing.
		"redis": pluginsYAML(fmt.Sprintf("policy: redis\n      fault_tolerant: false\n      redis: {host: %q, port: %d}", o.RedisHost, o.RedisPort)),
	}
	for _, name := range PluginSets {
		if err := write(filepath.Join(dir, name+".yaml"), base+plugins[name]); err != nil {
			return err
		}
	}
	rot := rotation(o)
	var lua, txt strings.Builder
	lua.WriteString("-- rotate.lua: wrk sends these requests in turn (written by benchtool gen-proxy).\n")
	lua.WriteString("local reqs = {}\nlocal i = 0\n\ninit = function(args)\n")
	txt.WriteString("# path<TAB>header: the rotation of benchtool latency (written by benchtool gen-proxy)\n")
	for _, r := range rot {
		fmt.Fprintf(&lua, "  reqs[#reqs + 1] = wrk.format(\"GET\", %q, {[\"apikey\"] = %q})\n", r.path, r.key)
		fmt.Fprintf(&txt, "%s\tapikey: %s\n", r.path, r.key)
	}
	lua.WriteString("end\n\nrequest = function()\n  i = i % #reqs + 1\n  return reqs[i]\nend\n")
	if err := write(filepath.Join(dir, "rotate.lua"), lua.String()); err != nil {
		return err
	}
	return write(filepath.Join(dir, "requests.txt"), txt.String())
}

// RoutePath is the path of route i.
func RoutePath(i int) string { return fmt.Sprintf("/r%d", i) }

func proxyBase(o ProxyOptions) string {
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\nservices:\n")
	services := max(o.Routes/10, 1)
	for s := range services {
		fmt.Fprintf(&b, "- name: s%d\n  url: http://%s\n  routes:\n", s, Upstream)
		for r := s; r < o.Routes; r += services {
			fmt.Fprintf(&b, "  - name: r%d\n    paths: [%s]\n    strip_path: false\n", r, RoutePath(r))
		}
	}
	b.WriteString("consumers:\n")
	for c := range o.Consumers {
		fmt.Fprintf(&b, "- username: c%d\n  keyauth_credentials:\n  - key: %s\n", c, Key(c))
	}
	return b.String()
}

// pluginsYAML is key-auth and rate-limiting (by consumer, a limit no run
// reaches) with the given policy lines.
func pluginsYAML(policy string) string {
	return "plugins:\n- name: key-auth\n  config: {key_names: [apikey]}\n" +
		"- name: rate-limiting\n  config:\n      minute: 1000000000\n      limit_by: consumer\n      " + policy + "\n"
}

type rotated struct{ path, key string }

// rotation pairs routes and keys so that every route sees every consumer:
// request j goes to route j mod Routes with the key of consumer
// (j + j/Routes) mod Consumers.
func rotation(o ProxyOptions) []rotated {
	out := make([]rotated, o.Rotation)
	for j := range out {
		out[j] = rotated{path: RoutePath(j % o.Routes), key: Key((j + j/o.Routes) % o.Consumers)}
	}
	return out
}

func write(path, text string) error {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil { //nolint:gosec // benchmark inputs, not secrets
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
