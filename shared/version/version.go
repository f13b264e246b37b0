// Package version holds the Gatehouse version and the level of Kong's Admin
// API that Gatehouse implements.
//
// The Gatehouse version is set at build time:
//
//	go build -ldflags "-X gatehouse.dev/shared/version.Version=1.2.3" ./admin-api
//
// Tests build data planes that claim another version this way, to exercise
// the control-plane/data-plane compatibility rules, which compare Gatehouse
// versions (see shared/protocol).
package version

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// Version is the Gatehouse version (semver). Set with -ldflags at build time.
var Version = "1.0.0"

// Commit is the source revision the binary was built from, when known.
// Set with -ldflags at build time.
var Commit = ""

// KongLevel is the Kong Gateway version whose Admin API and hybrid-mode
// behaviour Gatehouse implements. GET / reports it as "version" so Kong's
// tools (decK, go-kong, the Terraform provider) accept the server.
const KongLevel = "3.10.0"

// String describes the build for --version output.
func String(program string) string {
	s := fmt.Sprintf("%s %s (kong %s, %s)", program, Version, KongLevel, runtime.Version())
	if Commit != "" {
		s += " commit " + Commit
	}
	return s
}

// Semver is a parsed major.minor.patch version. Anything after the patch
// number (a fourth part, a pre-release or build suffix) is ignored, as Kong
// ignores it when comparing cluster versions.
type Semver struct {
	Major, Minor, Patch int
}

// Parse reads the leading "major.minor.patch" of v. It accepts suffixes
// ("1.2.3-rc1", "1.2.3.4", "1.2.3-enterprise-edition") and refuses anything
// that does not start with three dot-separated numbers.
func Parse(v string) (Semver, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return Semver{}, fmt.Errorf("version %q: want major.minor.patch", v)
	}
	patch := parts[2]
	end := 0
	for end < len(patch) && patch[end] >= '0' && patch[end] <= '9' {
		end++
	}
	patch = patch[:end]
	var s Semver
	var err error
	if s.Major, err = parseNumber(parts[0]); err != nil {
		return Semver{}, fmt.Errorf("version %q: %w", v, err)
	}
	if s.Minor, err = parseNumber(parts[1]); err != nil {
		return Semver{}, fmt.Errorf("version %q: %w", v, err)
	}
	if s.Patch, err = parseNumber(patch); err != nil {
		return Semver{}, fmt.Errorf("version %q: %w", v, err)
	}
	return s, nil
}

func parseNumber(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	return n, nil
}

// String formats s as "major.minor.patch".
func (s Semver) String() string {
	return fmt.Sprintf("%d.%d.%d", s.Major, s.Minor, s.Patch)
}
