// Package plugins lists the plugins the data plane runs. Each plugin is
// one package under plugins/; adding one means adding its package and one
// line to Bundled.
package plugins

import (
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/acl"
	"gatehouse.dev/dataplane/internal/plugins/basicauth"
	"gatehouse.dev/dataplane/internal/plugins/correlationid"
	"gatehouse.dev/dataplane/internal/plugins/cors"
	"gatehouse.dev/dataplane/internal/plugins/iprestriction"
	"gatehouse.dev/dataplane/internal/plugins/keyauth"
	"gatehouse.dev/dataplane/internal/plugins/opentelemetry"
	"gatehouse.dev/dataplane/internal/plugins/prometheus"
	"gatehouse.dev/dataplane/internal/plugins/ratelimiting"
	"gatehouse.dev/dataplane/internal/plugins/requesttermination"
	"gatehouse.dev/dataplane/internal/plugins/requesttransformer"
	"gatehouse.dev/dataplane/internal/plugins/responsetransformer"
	sharedplugin "gatehouse.dev/shared/plugin"
)

// Bundled returns the factories of every plugin Gatehouse ships.
func Bundled() []pdk.Factory {
	return []pdk.Factory{
		// One line per plugin, e.g. keyauth.Factory{},
		acl.Factory{},
		basicauth.Factory{},
		correlationid.Factory{},
		cors.Factory{},
		iprestriction.Factory{},
		keyauth.Factory{},
		opentelemetry.Factory{},
		prometheus.Factory{},
		ratelimiting.Factory{},
		requesttermination.Factory{},
		requesttransformer.Factory{},
		responsetransformer.Factory{},
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
