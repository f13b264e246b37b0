package gen

import (
	"encoding/json"
	"fmt"
)

// ProbeService is the service of the propagation benchmark's probe routes:
// it has no plugins, so a probe answers 200 from the upstream as soon as
// a data plane serves its route.
const ProbeService = "probe"

// Sized returns a declarative configuration (JSON) of about n entities in
// the shape of dataplane/internal/fixture: per group of six, a service with
// two routes and one plugin (rate-limiting with the local policy, or
// key-auth, alternately), and a consumer with a key-auth credential; plus
// the probe service. Every service points at upstream (host:port). probe,
// when not empty, adds a probe route with that path, so that two files can
// differ by one entity. It also returns how many entities the file holds.
func Sized(n int, upstream, probe string) ([]byte, int, error) {
	groups := max(n/6, 1)
	services := make([]any, 0, groups+1)
	consumers := make([]any, 0, groups)
	for i := range groups {
		var plugin map[string]any
		if i%2 == 0 {
			plugin = map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 100 + i%50, "policy": "local"}}
		} else {
			plugin = map[string]any{"name": "key-auth", "config": map[string]any{"key_names": []any{"apikey"}}}
		}
		routes := make([]any, 2)
		for j := range routes {
			routes[j] = map[string]any{
				"name": fmt.Sprintf("route-%d-%d", i, j), "paths": []any{fmt.Sprintf("/svc-%d/r-%d", i, j)},
				"methods": []any{"GET", "POST"}, "tags": []any{fmt.Sprintf("team-%d", i%7)},
			}
		}
		services = append(services, map[string]any{
			"name": fmt.Sprintf("service-%d", i), "url": fmt.Sprintf("http://%s/svc-%d", upstream, i),
			"tags": []any{"bench"}, "routes": routes, "plugins": []any{plugin},
		})
		consumers = append(consumers, map[string]any{
			"username": fmt.Sprintf("user-%d", i), "custom_id": fmt.Sprintf("c-%d", i),
			"keyauth_credentials": []any{map[string]any{"key": fmt.Sprintf("key-%d-%08x", i, uint32(i)*2654435761)}},
		})
	}
	probeRoutes := []any{}
	count := groups*6 + 1
	if probe != "" {
		probeRoutes = append(probeRoutes, map[string]any{"name": "probe-snapshot", "paths": []any{probe}})
		count++
	}
	services = append(services, map[string]any{
		"name": ProbeService, "url": "http://" + upstream, "routes": probeRoutes,
	})
	data, err := json.Marshal(map[string]any{"_format_version": "3.0", "services": services, "consumers": consumers})
	if err != nil {
		return nil, 0, fmt.Errorf("encode configuration: %w", err)
	}
	return data, count, nil
}
