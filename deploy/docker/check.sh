#!/usr/bin/env bash
# check.sh [DOCKERFILE...]: run the build stage of each Dockerfile under
# deploy/docker without Docker, to catch a Dockerfile that would not build.
#
# For each Dockerfile it lays out a build context holding only what the
# build stage COPYs (so a module missing from the COPY lines fails here as
# it would in Docker), then runs the stage's RUN lines in it with sh, the
# image's /out/ replaced by a temporary directory, and checks that a static
# binary came out (CGO_ENABLED=0). Build arguments come from the environment (VERSION,
# COMMIT, GOPROXY), as `docker build --build-arg` would pass them.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

if [[ $# -eq 0 ]]; then
	set -- deploy/docker/*.Dockerfile
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# stage1 FILE: the lines of the first build stage (from the first FROM to the
# next), with backslash-continued lines joined.
stage1() {
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$1" |
		awk '/^FROM /{n++; next} n==1 && !/^[[:space:]]*#/'
}

status=0
for file in "$@"; do
	name=$(basename "$file" .Dockerfile)
	ctx="$work/$name/src"
	out="$work/$name/out"
	mkdir -p "$ctx" "$out"
	echo "== $file"
	runs=()
	while read -r instr rest; do
		case $instr in
		COPY)
			read -r -a words <<<"$rest"
			if [[ ${words[0]} == --* ]]; then
				echo "   unsupported: COPY ${words[0]}" >&2
				status=1
				continue
			fi
			dest=${words[${#words[@]} - 1]}
			mkdir -p "$ctx/$dest"
			for src in "${words[@]:0:${#words[@]}-1}"; do
				if [[ -d $src ]]; then
					cp -R "$src/." "$ctx/$dest/"
				else
					cp "$src" "$ctx/$dest/"
				fi
			done
			;;
		RUN)
			runs+=("${rest//\/out\//$out/}")
			;;
		esac
	done < <(stage1 "$file")
	if [[ ${#runs[@]} -eq 0 ]]; then
		echo "   no RUN line in the build stage" >&2
		status=1
		continue
	fi
	for cmd in "${runs[@]}"; do
		echo "   RUN $cmd"
		if ! (cd "$ctx" && sh -c "$cmd"); then
			echo "   FAILED: $file does not build" >&2
			status=1
			continue 2
		fi
	done
	for bin in "$out"/*; do
		if [[ ! -x $bin ]]; then
			echo "   FAILED: $file wrote no binary into /out" >&2
			status=1
		elif ! go version -m "$bin" | grep -q 'CGO_ENABLED=0'; then
			echo "   FAILED: $(basename "$bin") was not built with CGO_ENABLED=0 (not static)" >&2
			status=1
		else
			echo "   ok: $(basename "$bin") ($(du -h "$bin" | cut -f1), static)"
		fi
	done
done
exit $status
