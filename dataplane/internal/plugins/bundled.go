// Package plugins lists the plugins the data plane runs. Each plugin is
// one package under plugins/; adding one means adding its package and one
// line to Bundled.
package plugins

import (
	"gatehouse.dev/dataplane/internal/pdk"
	sharedplugin "gatehouse.dev/shared/plugin"
)

// Bundled returns the factories of every plugin Gatehouse ships.
func Bundled() []pdk.Factory {
	return []pdk.Factory{
		// One line per plugin, e.g. keyauth.Factory{},
	}
}

// Loaded returns the bundled factories of the plugins in set (what
// GATEHOUSE_PLUGINS loads).
func Loaded(set *sharedplugin.Set) []pdk.Factory {
	var out []pdk.Factory
	for _, f := range Bundled() {
		if set.Get(f.Name()) != nil {
			out = append(out, f)
		}
	}
	return out
}
