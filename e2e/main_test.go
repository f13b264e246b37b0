package e2e_test

import (
	"testing"

	"gatehouse.dev/e2e/e2etest"
)

// TestMain builds nothing up front: the first scenario that needs the
// binaries builds them (once), and the suite's figures are printed after
// the last one.
func TestMain(m *testing.M) { e2etest.Main(m) }
