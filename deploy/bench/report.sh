#!/usr/bin/env bash
# report.sh runs every benchmark of the bench report (issue 11) on this
# machine and writes docs/performance.md with its charts
# (docs/performance/*.png). It is what `make bench-report` runs.
#
# In order: it builds the services (make build), benchtool (its own module,
# GOWORK=off) and the Go benchmark binaries, records the machine (CPU,
# memory, kernel, tool versions, load, commit), then runs each section,
# waiting before each for idle CPUs (benchtool idle, capped) and writing
# raw results into one results directory:
#   proxy        deploy/bench/proxy.sh with wrk on one pinned core: nginx,
#                httputil, and the data plane with no plugins, with key-auth
#                + rate-limiting local, and with key-auth + rate-limiting
#                redis (the machine's Redis at 127.0.0.1:6379, only used),
#                over 100 routes and 100 consumers (benchtool gen-proxy);
#                after each round, unloaded and fixed-rate latency of each
#                proxy and of the upstream alone (benchtool latency)
#   propagation  benchtool propagation: real admin-api, sync-hub and data
#                planes (1 and 10) and 100 simulated data planes, for
#                configurations of 1k, 10k and 30k entities
#   dataplane    Go benchmarks: BenchmarkColdStart, BenchmarkDeltaApply,
#                BenchmarkSnapshotApply, BenchmarkRuntimeDeltaApply
#                (dataplane/internal/agent), BenchmarkCompile and
#                BenchmarkMatch (dataplane/internal/router)
#   synchub      Go benchmark BenchmarkFleet (sync-hub/internal/hub): 100 and
#                1000 simulated data planes
#   adminapi     Go benchmarks BenchmarkWrite, BenchmarkConcurrentWrites,
#                BenchmarkPostConfig10k, BenchmarkListRoutes10k
#                (admin-api/internal/httpapi)
# and finally `benchtool report`, which turns the results directory into
# the report. The whole run must stay under 15 minutes on the 2-CPU
# development machine: it took 6 min 42 s there (shared, busy) before
# BenchmarkRuntimeDeltaApply was added, which adds an estimated 30 to 60 s
# (one run of 100 changes per size and kind, a data plane synced per run),
# and prints its elapsed time at the end. A QUICK=1 run takes about a minute.
#
# Usage (from anywhere; paths are relative to the repository root):
#   make bench-report
#   deploy/bench/report.sh
#   QUICK=1 KEEP=/tmp/bench deploy/bench/report.sh      # a smoke run of about a minute
#   deploy/bench/benchtool/benchtool report -results /tmp/bench -out docs/performance.md
#
# Environment:
#   QUICK=1      a smoke run: one short proxy round, the 1k size only, few
#                repetitions; the report says it is one and its figures are
#                not to be quoted
#   KEEP=DIR     keep the raw results in DIR (created; a DIR holding an
#                earlier run's results is emptied first) instead of a
#                temporary directory removed at the end
#   OUT=FILE     the report to write (default docs/performance.md; its
#                charts go to the directory of the same name without .md)
#   SECTIONS     the sections to run, space-separated (default: all of
#                "proxy propagation dataplane synchub adminapi"); a section
#                not run is reported as not measured
#   ROUNDS, DURATION, WARMUP
#                proxy.sh rounds (default 3), wrk duration per run (5s) and
#                warm-up per proxy (2s)
#   LATENCY_N, LATENCY_RATE, LATENCY_DURATION
#                benchtool latency: sequential requests measured (2000), the
#                fixed rate (2000 requests/s) and its duration (2s)
#   SIZES        propagation sizes in entities (1000,10000,30000)
#   IDLE_MAX     longest wait for idle CPUs before each section (20s)
#   GATEHOUSE_TEST_PG_URL
#                the Postgres server (default
#                postgres://postgres@127.0.0.1:5432/postgres, trust
#                authentication), as for the tests; each benchmark creates
#                and drops its own databases
#   INSTALL      install missing nginx and wrk with apt-get: auto (default:
#                when root on Debian), yes, no
#
# Exit status: 0 when every section ran and the report has every figure;
# 1 otherwise (the report is still written, and says in place which figure
# is missing and why; the logs are in the results directory's logs/).
#
# Needs: go, nginx, wrk, taskset, curl, psql, Postgres and Redis running.
# The machine is shared: the report records the load seen before every
# section and every proxy round, and says when it was busy.

# shellcheck disable=SC2317 # functions that run through step and trap
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
started=$SECONDS

quick=${QUICK:-0}
[[ $quick == 0 || $quick == 1 ]] || { echo "report.sh: QUICK must be 0 or 1" >&2; exit 2; }
out=${OUT:-docs/performance.md}
sections=${SECTIONS:-proxy propagation dataplane synchub adminapi}
install=${INSTALL:-auto}
idle_max=${IDLE_MAX:-20s}
pg_url=${GATEHOUSE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_host=127.0.0.1 redis_port=6379

if [[ $quick == 1 ]]; then
	rounds=${ROUNDS:-1} duration=${DURATION:-1s} warmup=${WARMUP:-1s}
	lat_n=${LATENCY_N:-300} lat_rate=${LATENCY_RATE:-1000} lat_duration=${LATENCY_DURATION:-1s}
	sizes=${SIZES:-1000}
	prop_real=1,2 prop_sim=10 prop_deltas=3 prop_snapshots=1 prop_coldstarts=1
	size_re='entities=1000$' bench_sizes=1000 bench_fleets=100 # the sub-benchmarks a quick run runs
	agent_cold=(-test.benchtime 2x) agent_delta=(-test.benchtime 10x) agent_snap=(-test.benchtime 2x)
	agent_rdelta=(-test.benchtime 10x)
	router_compile=(-test.benchtime 2x) router_match=(-test.benchtime 100000x)
	fleet=(-test.benchtime 5x) fleet_re='BenchmarkFleet/entities=1000$/dps=100$'
	admin_writes=(-test.benchtime 100x) admin_post=(-test.benchtime 1x) admin_list=(-test.benchtime 1x)
else
	rounds=${ROUNDS:-3} duration=${DURATION:-5s} warmup=${WARMUP:-2s}
	lat_n=${LATENCY_N:-2000} lat_rate=${LATENCY_RATE:-2000} lat_duration=${LATENCY_DURATION:-2s}
	sizes=${SIZES:-1000,10000,30000}
	prop_real=1,10 prop_sim=100 prop_deltas=30 prop_snapshots=2 prop_coldstarts=3
	size_re='.' bench_sizes=1000,10000,30000 bench_fleets=100,1000
	agent_cold=(-test.benchtime 5x -test.count 3) agent_delta=(-test.benchtime 100x -test.count 3)
	agent_snap=(-test.benchtime 3x)
	# BenchmarkRuntimeDeltaApply: 12 sub-benchmarks (3 sizes x 4 kinds of
	# change), each syncing a data plane with the production runtime first;
	# one run each (not -count 3) keeps it within about a minute.
	agent_rdelta=(-test.benchtime 100x)
	router_compile=(-test.benchtime 10x -test.count 3) router_match=(-test.benchtime 1s -test.count 3)
	fleet=(-test.benchtime 20x) fleet_re='BenchmarkFleet'
	admin_writes=(-test.benchtime 2s -test.count 3) admin_post=(-test.benchtime 3x) admin_list=(-test.benchtime 3x)
fi

log() { printf 'bench-report: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
elapsed() { local s=$((SECONDS - started)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# The results directory: KEEP, or a temporary one removed at the end. A
# KEEP directory is emptied only if it holds an earlier run's results (a
# meta.txt written by this script), so that a mistyped KEEP never wipes
# anything else.
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX")
if [[ -n ${KEEP:-} ]]; then
	mkdir -p "$KEEP"
	results=$(cd "$KEEP" && pwd)
	if [[ -n $(ls -A "$results") ]]; then
		if [[ -f $results/meta.txt ]] && grep -q '^generator: deploy/bench/report.sh$' "$results/meta.txt"; then
			rm -rf "${results:?}"/*
		else
			echo "report.sh: KEEP=$KEEP is not empty and holds no earlier results; choose another directory" >&2
			rm -rf "$work"
			exit 2
		fi
	fi
else
	results=$work/results
	mkdir -p "$results"
fi
mkdir -p "$results/logs"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# step NAME COMMAND...: runs COMMAND with its output in logs/NAME.log (and
# on stderr), and records "NAME ok|failed SECONDS" in steps.txt, which is
# what the report and the exit status go by.
step() {
	local name=$1 t0=$SECONDS status=ok
	shift
	log "$name ($(elapsed) so far)"
	if ! "$@" 2>&1 | tee "$results/logs/$name.log" >&2; then
		status=failed
		log "$name FAILED; its log: $results/logs/$name.log"
	fi
	echo "$name $status $((SECONDS - t0))" >>"$results/steps.txt"
}
# skip NAME REASON: records a step that could not run.
skip() {
	log "$1 not run: $2"
	echo "$1 failed 0 $2" >>"$results/steps.txt"
}
wants() { [[ " $sections " == *" $1 "* ]]; }

# What the run was: the command line with the settings given.
command="deploy/bench/report.sh"
[[ -n ${MAKELEVEL:-} ]] && command="make bench-report"
for v in QUICK SECTIONS ROUNDS DURATION WARMUP LATENCY_N LATENCY_RATE LATENCY_DURATION SIZES IDLE_MAX OUT; do
	[[ -n ${!v:-} ]] && command="$v=${!v} $command"
done
{
	echo "generator: deploy/bench/report.sh"
	echo "command: $command"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git describe --always --dirty --exclude '*' 2>/dev/null || echo unknown)"
	echo "mode: $([[ $quick == 1 ]] && echo quick || echo full)"
	echo "sections: $sections"
	echo "proxy: rounds=$rounds duration=$duration warmup=$warmup connections=50 core=1 routes=100 consumers=100"
	echo "latency: sequential=$lat_n rate=$lat_rate duration=$lat_duration connections=16"
	echo "gobench: sizes=$bench_sizes fleets=$bench_fleets"
	echo "propagation: sizes=$sizes real=$prop_real sim=$prop_sim deltas=$prop_deltas snapshots=$prop_snapshots coldstarts=$prop_coldstarts"
} >"$results/meta.txt"

# Tools: nginx and wrk are installed with apt-get where that is possible.
can_install() {
	case $install in
	yes) return 0 ;;
	no) return 1 ;;
	esac
	[[ $(id -u) -eq 0 ]] && have apt-get
}
if wants proxy && { ! have nginx || ! have wrk; }; then
	if can_install; then
		log "installing nginx and wrk with apt-get"
		if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx wrk >/dev/null; }; then
			log "could not install nginx and wrk"
		fi
	fi
fi

# Build.
bt=$work/benchtool
log "building benchtool"
(cd deploy/bench/benchtool && GOWORK=off go build -o "$bt" .) || {
	echo "report.sh: benchtool does not build; no report written" >&2
	exit 1
}
step build make build
tests=$work/tests
build_tests() {
	mkdir -p "$tests"
	(cd dataplane && go test -c -o "$tests/agent.test" ./internal/agent && go test -c -o "$tests/router.test" ./internal/router)
	(cd sync-hub && go test -c -o "$tests/hub.test" ./internal/hub)
	(cd admin-api && go test -c -o "$tests/httpapi.test" ./internal/httpapi)
}
step build-benchmarks build_tests

# The machine, as the report shows it.
{
	echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
	echo "cpus: $(nproc)"
	echo "memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel: $(uname -sr)"
	# shellcheck disable=SC1091 # the machine's own file
	echo "os: $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")"
	echo "go: $(go version | sed 's/^go version //')"
	echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //' || echo missing)"
	echo "wrk: $( (wrk -v 2>&1 || true) | head -1 | awk '{ print $1, $2 }')"
	echo "redis: $(redis-server --version 2>/dev/null | awk '{ print $3 }' | sed 's/^v=//' || echo unknown)"
	echo "postgres: $(psql -X -A -t -d "$pg_url" -c 'show server_version' 2>/dev/null || echo unreachable)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$results/machine.txt"
[[ ! -s $results/machine.txt ]] || sed 's/^/  /' "$results/machine.txt" >&2

# wait_idle SECTION: waits for idle CPUs (capped) and records what it saw.
wait_idle() {
	local line
	line=$("$bt" idle -busy 0.25 -max "$idle_max") || line="busy=? load1=? waited=? idle=false"
	echo "$1 $line" >>"$results/idle.txt"
	log "$1: $line"
}

built() { [[ -x bin/dataplane && -x bin/admin-api && -x bin/sync-hub ]]; }

# proxy
proxy() {
	local gen=$work/proxy dp=$repo/deploy/bench/dataplane.sh
	"$bt" gen-proxy -dir "$gen" -routes 100 -consumers 100 -redis-host "$redis_host" -redis-port "$redis_port"
	local candidates=(
		"gatehouse-none=CONFIG=$gen/none.yaml $dp $repo/bin/dataplane"
		"gatehouse-keyauth-rl-local=CONFIG=$gen/local.yaml $dp $repo/bin/dataplane"
	)
	if [[ $(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null) == PONG ]]; then
		candidates+=("gatehouse-keyauth-rl-redis=CONFIG=$gen/redis.yaml $dp $repo/bin/dataplane")
	else
		echo "Redis at $redis_host:$redis_port does not answer: gatehouse-keyauth-rl-redis is not measured"
		echo "proxy-redis failed 0 Redis at $redis_host:$redis_port did not answer" >>"$results/steps.txt"
	fi
	# The readiness checks ask for route /r0 with consumer 0's key (gen-proxy's
	# naming); wrk and benchtool latency send the rotation.
	local lat="$bt latency -requests $gen/requests.txt -mode seq -n $lat_n -warmup 200"
	lat+=" && $bt latency -requests $gen/requests.txt -mode rate -rate $lat_rate -d $lat_duration -c 16"
	deploy/bench/proxy.sh -n "$rounds" -d "$duration" -w "$warmup" -p /r0 -s "$gen/rotate.lua" \
		-H "apikey: bench-key-0" \
		-o "$results/proxy.raw" -L "$lat" "${candidates[@]}" | tee "$results/proxy.txt"
}
if wants proxy; then
	if ! have nginx || ! have wrk; then
		skip proxy "nginx or wrk is not installed (apt-get install nginx wrk)"
	elif ! built; then
		skip proxy "the services did not build"
	else
		wait_idle proxy
		step proxy proxy
	fi
fi

# propagation
if wants propagation; then
	if ! built; then
		skip propagation "the services did not build"
	else
		wait_idle propagation
		step propagation "$bt" propagation -bin "$repo/bin" -pg "$pg_url" -sizes "$sizes" -real "$prop_real" -sim "$prop_sim" \
			-deltas "$prop_deltas" -snapshots "$prop_snapshots" -coldstarts "$prop_coldstarts" \
			-o "$results/propagation.jsonl"
	fi
fi

# gobench NAME PACKAGE_DIR BINARY ARGS...: runs a benchmark binary in its
# package directory, appending its output to RESULTS/bench-NAME.txt.
gobench() {
	local name=$1 dir=$2 binary=$3
	shift 3
	[[ -x $binary ]] || { echo "$binary was not built"; return 1; }
	(cd "$dir" && GATEHOUSE_TEST_PG_URL=$pg_url "$binary" -test.run '^$' -test.benchmem "$@") |
		tee -a "$results/bench-$name.txt"
}

if wants dataplane; then
	wait_idle dataplane
	step dataplane-coldstart gobench dataplane dataplane/internal/agent "$tests/agent.test" \
		-test.bench "BenchmarkColdStart/$size_re" "${agent_cold[@]}"
	step dataplane-deltaapply gobench dataplane dataplane/internal/agent "$tests/agent.test" \
		-test.bench "BenchmarkDeltaApply/$size_re" "${agent_delta[@]}"
	step dataplane-snapshotapply gobench dataplane dataplane/internal/agent "$tests/agent.test" \
		-test.bench "BenchmarkSnapshotApply/$size_re" "${agent_snap[@]}"
	step dataplane-runtimedelta gobench dataplane dataplane/internal/agent "$tests/agent.test" \
		-test.bench "BenchmarkRuntimeDeltaApply/$size_re" "${agent_rdelta[@]}"
	step dataplane-router gobench dataplane dataplane/internal/router "$tests/router.test" \
		-test.bench 'BenchmarkCompile$' "${router_compile[@]}"
	step dataplane-match gobench dataplane dataplane/internal/router "$tests/router.test" \
		-test.bench 'BenchmarkMatch$' "${router_match[@]}"
fi

if wants synchub; then
	wait_idle synchub
	step synchub gobench synchub sync-hub/internal/hub "$tests/hub.test" -test.bench "$fleet_re" "${fleet[@]}" -test.timeout 30m
fi

if wants adminapi; then
	wait_idle adminapi
	step adminapi-writes gobench adminapi admin-api/internal/httpapi "$tests/httpapi.test" \
		-test.bench 'BenchmarkWrite$|BenchmarkConcurrentWrites$' "${admin_writes[@]}"
	step adminapi-postconfig gobench adminapi admin-api/internal/httpapi "$tests/httpapi.test" \
		-test.bench 'BenchmarkPostConfig10k$' "${admin_post[@]}"
	step adminapi-list gobench adminapi admin-api/internal/httpapi "$tests/httpapi.test" \
		-test.bench 'BenchmarkListRoutes10k$' "${admin_list[@]}"
fi

echo "elapsed: $((SECONDS - started))" >>"$results/meta.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/machine.txt"

# The report. -strict makes benchtool fail when a figure is missing; a
# quick run, or one of some sections, measures only part of them on purpose.
strict=-strict
[[ $quick == 1 || -n ${SECTIONS:-} ]] && strict=
status=0
log "writing $out"
"$bt" report -results "$results" -out "$out" $strict || status=1
if grep -qv ' ok ' "$results/steps.txt"; then
	log "failed: $(grep -v ' ok ' "$results/steps.txt" | cut -d' ' -f1 | tr '\n' ' ')(logs in $results/logs)"
	status=1
fi
[[ -n ${KEEP:-} ]] && log "raw results kept in $results"
log "took $(elapsed)"
exit $status
