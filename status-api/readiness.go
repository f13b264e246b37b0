package statusapi

import (
	"fmt"

	"gatehouse.dev/shared/confighash"
)

// Kong's reasons for answering 503 on GET /status/ready
// (kong/status/ready.lua), for a Source's Ready to return.
const (
	// ReasonNoConfiguration is the reason while no configuration is
	// loaded.
	ReasonNoConfiguration = "no configuration available (configuration hash is not initialized)"

	// ReasonEmptyConfiguration is the reason while the loaded
	// configuration is the empty one (its hash is 32 zeros).
	ReasonEmptyConfiguration = "no configuration available (empty configuration present)"

	// ReasonDraining is answered once POST /status/ready has set
	// draining. The handler owns it; a Source never returns it.
	ReasonDraining = "draining"
)

// RouterNotReady is Kong's reason while the router is not built in every
// worker: "router builds not yet complete, router ready in 0 of 1 workers".
func RouterNotReady(built, workers int) string {
	return fmt.Sprintf("router builds not yet complete, router ready in %d of %d workers", built, workers)
}

// PluginsNotReady is Kong's reason while the plugins iterator is not
// built in every worker.
func PluginsNotReady(built, workers int) string {
	return fmt.Sprintf("plugins iterator builds not yet complete, plugins iterator ready in %d of %d workers", built, workers)
}

// Readiness applies Kong's rule for a DB-less node to a data plane that
// builds one runtime (router and plugins together, one "worker"): not
// ready until the runtime is built, then not ready without a
// configuration hash or with the empty one. A Source's Ready can return
// Readiness(currentHash, runtimeBuilt).
func Readiness(hash string, runtimeBuilt bool) (ready bool, reason string) {
	switch {
	case !runtimeBuilt:
		return false, RouterNotReady(0, 1)
	case hash == "":
		return false, ReasonNoConfiguration
	case hash == confighash.Empty:
		return false, ReasonEmptyConfiguration
	default:
		return true, ""
	}
}
