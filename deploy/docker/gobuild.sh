#!/bin/sh
# gobuild.sh MODULE OUTPUT: build the binary of one module the way the
# container images do. Every Dockerfile under deploy/docker runs this script,
# and .ci/run runs it too, so CI compiles exactly what an image build would.
#
#   MODULE  a module directory relative to the repository root: admin-api,
#           sync-hub, dataplane, deploy/demo-upstream
#   OUTPUT  the binary to write
#
# The build is static (CGO_ENABLED=0), reproducible (-trimpath, no VCS
# stamping) and stripped (-s -w). It ignores go.work (GOWORK=off): each
# service's go.mod reaches shared/ through `replace => ../shared`, so only
# the module and shared/ need to be there. VERSION and COMMIT, when set,
# are stamped into gatehouse.dev/shared/version, as `make build` does.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 MODULE OUTPUT" >&2
	exit 2
fi
module=$1
out=$2
case $out in
/*) ;;
*) out="$(pwd)/$out" ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
pkg=gatehouse.dev/shared/version
ldflags="-s -w -X $pkg.Commit=${COMMIT:-}"
if [ -n "${VERSION:-}" ]; then
	ldflags="$ldflags -X $pkg.Version=${VERSION#v}"
fi

cd "$root/$module"
GOWORK=off CGO_ENABLED=0 exec go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" .
