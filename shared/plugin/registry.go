package plugin

import (
	"cmp"
	"slices"
)

// bundled lists the constructors of the plugins Gatehouse ships: one line
// per plugin, each declared in its own file.
var bundled = []func() *Plugin{
	acl,
	basicAuth,
	correlationID,
	cors,
	ipRestriction,
	keyAuth,
	openTelemetry,
	prometheus,
	rateLimiting,
	requestTermination,
	requestTransformer,
	responseTransformer,
}

// Bundled returns every plugin Gatehouse ships, sorted by name. Each call
// builds new values, stamped with the current version.Version.
func Bundled() []*Plugin {
	out := make([]*Plugin, len(bundled))
	for i, build := range bundled {
		out[i] = build()
	}
	slices.SortFunc(out, func(a, b *Plugin) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
