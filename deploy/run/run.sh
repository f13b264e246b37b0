#!/usr/bin/env bash
# run.sh: run the whole Gatehouse system as local processes, without Docker.
# `make run` builds the binaries, then runs this script.
#
# It uses the machine's Postgres and Redis (starting them when they are down,
# installing them with apt-get where it can), creates the database if it is
# missing, generates a cluster certificate under the run directory, applies
# the migrations, then starts a demo upstream, admin-api, sync-hub and two
# data planes with different labels, prints where each endpoint is, and runs
# until Ctrl-C (SIGINT) or SIGTERM. It then stops every process it started
# (never Postgres or Redis) and exits 0 when all stopped cleanly; it exits 1
# when something fails to start, or when a process exited with an error or
# had to be killed. A process that exits after start-up is reported and the
# others keep running (stop the control plane and the data planes serve on).
#
# Settings (environment variables; the ports must be free):
#   GATEHOUSE_RUN_BIN              binaries directory (./bin): admin-api, sync-hub,
#                                  dataplane, demo-upstream
#   GATEHOUSE_RUN_DIR              run state (./.run): cluster certificate, data-plane
#                                  prefixes dp1/ and dp2/ (node id, cache), logs/,
#                                  run.pid (this script's pid while it runs) and
#                                  pids/NAME.pid (each process's, while it runs)
#   GATEHOUSE_RUN_DATABASE         Postgres database (gatehouse), created if missing
#   PGHOST PGPORT PGUSER PGPASSWORD  Postgres (127.0.0.1, 5432, postgres, none)
#   GATEHOUSE_RUN_REDIS_HOST       Redis host (127.0.0.1)
#   GATEHOUSE_RUN_REDIS_PORT       Redis port (6379)
#   GATEHOUSE_RUN_ADMIN_PORT       Admin API (8001)
#   GATEHOUSE_RUN_CLUSTER_PORT     sync-hub cluster listener (8005)
#   GATEHOUSE_RUN_HUB_STATUS_PORT  sync-hub status listener (8007)
#   GATEHOUSE_RUN_DP1_PROXY_PORT, _DP1_PROXY_SSL_PORT, _DP1_STATUS_PORT  (8000, 8443, 8100)
#   GATEHOUSE_RUN_DP2_PROXY_PORT, _DP2_PROXY_SSL_PORT, _DP2_STATUS_PORT  (9000, 9443, 9100)
#   GATEHOUSE_RUN_UPSTREAM_PORT    demo upstream (8080)
#   GATEHOUSE_RUN_WAIT_SECONDS     how long to wait for each service to answer (60)
#   GATEHOUSE_RUN_STOP_SECONDS     how long each process may take to stop (20)
#   GATEHOUSE_RUN_INSTALL          install missing Postgres/Redis with apt-get: auto
#                                  (when root on Debian/Ubuntu), yes, or no
# Anything else in the environment reaches the services: GATEHOUSE_ADMIN_TOKEN,
# GATEHOUSE_LOG_LEVEL, OTEL_EXPORTER_OTLP_ENDPOINT (traces to a local Jaeger), ...
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

bin=${GATEHOUSE_RUN_BIN:-$root/bin}
dir=${GATEHOUSE_RUN_DIR:-$root/.run}
database=${GATEHOUSE_RUN_DATABASE:-gatehouse}
pghost=${PGHOST:-127.0.0.1}
pgport=${PGPORT:-5432}
pguser=${PGUSER:-postgres}
redis_host=${GATEHOUSE_RUN_REDIS_HOST:-127.0.0.1}
redis_port=${GATEHOUSE_RUN_REDIS_PORT:-6379}
admin_port=${GATEHOUSE_RUN_ADMIN_PORT:-8001}
cluster_port=${GATEHOUSE_RUN_CLUSTER_PORT:-8005}
hub_status_port=${GATEHOUSE_RUN_HUB_STATUS_PORT:-8007}
dp1_proxy_port=${GATEHOUSE_RUN_DP1_PROXY_PORT:-8000}
dp1_proxy_ssl_port=${GATEHOUSE_RUN_DP1_PROXY_SSL_PORT:-8443}
dp1_status_port=${GATEHOUSE_RUN_DP1_STATUS_PORT:-8100}
dp2_proxy_port=${GATEHOUSE_RUN_DP2_PROXY_PORT:-9000}
dp2_proxy_ssl_port=${GATEHOUSE_RUN_DP2_PROXY_SSL_PORT:-9443}
dp2_status_port=${GATEHOUSE_RUN_DP2_STATUS_PORT:-9100}
upstream_port=${GATEHOUSE_RUN_UPSTREAM_PORT:-8080}
wait_seconds=${GATEHOUSE_RUN_WAIT_SECONDS:-60}
stop_seconds=${GATEHOUSE_RUN_STOP_SECONDS:-20}
install=${GATEHOUSE_RUN_INSTALL:-auto}

export PGHOST=$pghost PGPORT=$pgport PGUSER=$pguser

log() { printf '== %s\n' "$*"; }
fail() {
	printf 'make run: %s\n' "$*" >&2
	exit 1
}

# ---- processes ---------------------------------------------------------

# names[i] and pids[i] are the processes started, in start order; gone[i]
# is set once process i has exited and been reported. Each one's pid is
# also in $dir/pids/NAME.pid while it runs, so that you can stop one (the
# control plane, say) and watch the others.
names=()
pids=()
gone=()
running=    # set once every process answers
failures=0  # processes that exited with an error, or had to be killed
stopping=
sleeper=

# start NAME CMD...: run CMD in the background with its output in
# $dir/logs/NAME.log, emptied first (the command is usually
# `env VAR=... BINARY`).
start() {
	local name=$1
	shift
	"$@" >"$dir/logs/$name.log" 2>&1 &
	names+=("$name")
	pids+=("$!")
	gone+=("")
	echo "$!" >"$dir/pids/$name.pid"
}

# alive PID: whether the process still runs (bash reaps its children, so an
# exited child no longer answers kill -0).
alive() { kill -0 "$1" 2>/dev/null; }

# reap I: collect the exit status of process I (which has exited), mark it
# gone and return its status.
reap() {
	local code=0
	wait "${pids[$1]}" 2>/dev/null || code=$?
	gone[$1]=1
	rm -f "$dir/pids/${names[$1]}.pid"
	return "$code"
}

# stop_all: SIGTERM to every process still running, newest first, then wait
# up to stop_seconds for each (SIGKILL after that). Returns 1 if a process
# had to be killed or exited with an error, now or earlier.
stop_all() {
	local i pid code deadline
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		[[ -n ${gone[i]} ]] && continue
		pid=${pids[i]}
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + stop_seconds))
		while alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if alive "$pid"; then
			printf 'make run: %s did not stop within %ss; killing it\n' "${names[i]}" "$stop_seconds" >&2
			kill -KILL "$pid" 2>/dev/null || true
			failures=$((failures + 1))
		fi
		code=0
		reap "$i" || code=$?
		if ((code != 0)); then
			printf 'make run: %s exited with status %s (log: %s)\n' "${names[i]}" "$code" "$dir/logs/${names[i]}.log" >&2
			failures=$((failures + 1))
		else
			printf '   stopped %s\n' "${names[i]}"
		fi
	done
	((failures == 0))
}

# on_signal SIG: stop everything and exit, 0 when everything stopped cleanly.
on_signal() {
	[[ -n $stopping ]] && return
	stopping=$1
	trap '' INT TERM
	[[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null
	printf '\n'
	log "SIG$1: stopping"
	if stop_all; then
		log "stopped"
		exit 0
	fi
	log "stopped; $failures process(es) exited with an error or had to be killed (logs: $dir/logs/)"
	exit 1
}

# check_alive: report every process that exited on its own. While the
# system is starting that is fatal: the others are stopped and the script
# exits 1. Once it runs, the others keep running (stopping the control
# plane to watch the data planes serve on is part of the walkthrough), and
# an error exit makes the final exit status 1.
check_alive() {
	local i code
	for i in "${!pids[@]}"; do
		[[ -n ${gone[i]} ]] && continue
		alive "${pids[i]}" && continue
		code=0
		reap "$i" || code=$?
		if ((code == 0)); then
			printf 'make run: %s exited (status 0)\n' "${names[i]}" >&2
		else
			printf 'make run: %s exited with status %s; the end of its log (%s):\n' "${names[i]}" "$code" "$dir/logs/${names[i]}.log" >&2
			tail -n 20 "$dir/logs/${names[i]}.log" | sed 's/^/   /' >&2
			failures=$((failures + 1))
		fi
		if [[ -z $running ]]; then
			stopping=died
			trap '' INT TERM
			stop_all || true
			exit 1
		fi
		printf 'make run: the other processes keep running; Ctrl-C stops them\n' >&2
	done
}

trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# ---- checks ------------------------------------------------------------

is_local() { [[ $1 == 127.* || $1 == localhost || $1 == ::1 || $1 == /* ]]; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_http NAME URL [HEADER [SOFT]]: wait until URL answers 2xx, failing if
# a started process dies meanwhile. Past the deadline it stops everything and
# exits 1, or with SOFT set only warns (the process runs but does not answer).
wait_http() {
	local name=$1 url=$2 header=${3:-X-Run: 1} soft=${4:-} deadline=$((SECONDS + wait_seconds))
	until curl -fsS -o /dev/null --max-time 2 -H "$header" "$url" 2>/dev/null; do
		check_alive
		if ((SECONDS >= deadline)) && [[ -n $soft ]]; then
			printf 'make run: warning: %s runs but does not answer %s after %ss (log: %s)\n' "$name" "$url" "$wait_seconds" "$dir/logs/$name.log" >&2
			return 0
		fi
		if ((SECONDS >= deadline)); then
			printf 'make run: %s did not answer %s within %ss; the end of its log:\n' "$name" "$url" "$wait_seconds" >&2
			tail -n 20 "$dir/logs/$name.log" | sed 's/^/   /' >&2
			stopping=timeout
			stop_all || true
			exit 1
		fi
		sleep 0.2
	done
}

have() { command -v "$1" >/dev/null 2>&1; }

can_install() {
	case $install in
	yes) return 0 ;;
	no) return 1 ;;
	esac
	[[ $(id -u) -eq 0 ]] && have apt-get
}

apt_install() {
	log "installing $* with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have curl || fail "curl is needed to check that the services answer; install it (Debian: apt-get install curl)"

# The ports must be distinct, must not be Postgres's or Redis's, and must be free.
ports=(
	"admin API:$admin_port" "sync-hub cluster:$cluster_port" "sync-hub status:$hub_status_port"
	"dataplane-1 proxy:$dp1_proxy_port" "dataplane-1 proxy TLS:$dp1_proxy_ssl_port" "dataplane-1 status:$dp1_status_port"
	"dataplane-2 proxy:$dp2_proxy_port" "dataplane-2 proxy TLS:$dp2_proxy_ssl_port" "dataplane-2 status:$dp2_status_port"
	"demo upstream:$upstream_port"
)
seen=" $pgport $redis_port "
for entry in "${ports[@]}"; do
	what=${entry%%:*} port=${entry##*:}
	if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
		fail "the $what port '$port' is not a port number"
	fi
	[[ $seen == *" $port "* ]] && fail "the $what port $port is used twice (or is Postgres's or Redis's); see the GATEHOUSE_RUN_*_PORT settings in $0"
	seen+="$port "
	port_open 127.0.0.1 "$port" && fail "port $port ($what) is in use; stop what uses it or choose another port (GATEHOUSE_RUN_*_PORT, see $0)"
done
[[ $database =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "GATEHOUSE_RUN_DATABASE '$database' must be letters, digits and _"

for b in admin-api sync-hub dataplane demo-upstream; do
	[[ -x $bin/$b ]] || fail "$bin/$b is missing: run 'make run' (it builds them), or 'make build build/demo-upstream'"
done

mkdir -p "$dir/logs" "$dir/pids" "$dir/dp1" "$dir/dp2"

# run.pid holds this script's process id while it runs (kill -INT it to stop
# everything); a live one means another run uses this directory.
pidfile=$dir/run.pid
if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	fail "another make run (pid $(cat "$pidfile")) uses $dir; stop it first, or set GATEHOUSE_RUN_DIR"
fi
echo $$ >"$pidfile"
trap 'rm -f "$pidfile"; rm -rf "$dir/pids"' EXIT

# ---- Postgres ----------------------------------------------------------

postgres_ready() { pg_isready -q -h "$pghost" -p "$pgport" >/dev/null 2>&1; }

start_postgres() {
	if ! have pg_ctlcluster && ! have pg_ctl; then
		can_install || fail "Postgres is not installed. Install it (Debian: apt-get install postgresql; macOS: brew install postgresql), start it, or point PGHOST/PGPORT at one"
		apt_install postgresql postgresql-client || fail "could not install Postgres with apt-get"
	fi
	if have pg_lsclusters; then
		# Debian's clusters: version, name, port, status, ...
		local v name port status
		read -r v name port status _ < <(pg_lsclusters -h | awk -v p="$pgport" '$3 == p' | head -n 1) || true
		if [[ -z ${v:-} ]]; then
			fail "no local Postgres cluster listens on port $pgport ($(pg_lsclusters -h | awk '{printf "%s%s/%s on port %s, %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4}' || true)); set PGPORT, or create one (pg_createcluster --start --port $pgport <version> main)"
		fi
		if [[ $status == online* ]]; then
			fail "the local Postgres cluster $v/$name is running on port $port but does not answer; see its log (pg_lsclusters)"
		fi
		log "starting Postgres $v/$name (pg_ctlcluster)"
		pg_ctlcluster --skip-systemctl-redirect "$v" "$name" start ||
			fail "could not start Postgres with pg_ctlcluster (as root: pg_ctlcluster $v $name start; or start it your usual way)"
	elif have pg_ctl && [[ -n ${PGDATA:-} ]]; then
		log "starting Postgres (pg_ctl, PGDATA=$PGDATA)"
		pg_ctl start -w -l "$dir/logs/postgres.log" || fail "could not start Postgres with pg_ctl; see $dir/logs/postgres.log"
	else
		fail "Postgres does not answer on $pghost:$pgport and this script does not know how to start it here; start it (e.g. brew services start postgresql, or pg_ctl with PGDATA set) and run again"
	fi
}

if ! have pg_isready || ! have psql; then
	can_install || fail "psql and pg_isready are needed (Debian: apt-get install postgresql-client; macOS: brew install libpq)"
	apt_install postgresql-client || fail "could not install postgresql-client with apt-get"
fi
if postgres_ready; then
	log "Postgres answers on $pghost:$pgport"
elif is_local "$pghost"; then
	start_postgres
	deadline=$((SECONDS + wait_seconds))
	until postgres_ready; do
		((SECONDS < deadline)) || fail "Postgres did not answer on $pghost:$pgport within ${wait_seconds}s after starting it"
		sleep 0.5
	done
else
	fail "Postgres does not answer on $pghost:$pgport (PGHOST is not this machine, so it is not started here)"
fi

psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
if ! psql_q -tAc 'SELECT 1' >/dev/null 2>"$dir/logs/psql.err"; then
	fail "Postgres answers on $pghost:$pgport but refuses user $pguser: $(head -c 300 "$dir/logs/psql.err"). Set PGUSER/PGPASSWORD, or allow the user in pg_hba.conf (trust for 127.0.0.1 on a development machine)"
fi
if [[ -z $(psql_q -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
	log "creating database $database"
	psql_q -c "CREATE DATABASE \"$database\"" >/dev/null
fi

# The services' connection URL: the password percent-encoded.
userinfo=$pguser
if [[ -n ${PGPASSWORD:-} ]]; then
	userinfo+=":$(printf '%s' "$PGPASSWORD" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g')"
fi
if [[ $pghost == /* ]]; then
	pg_url="postgres://$userinfo@/$database?host=$pghost&port=$pgport&sslmode=disable"
else
	pg_url="postgres://$userinfo@$pghost:$pgport/$database?sslmode=disable"
fi

# ---- Redis -------------------------------------------------------------

redis_ready() {
	if have redis-cli; then
		[[ $(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null) == PONG ]]
	else
		port_open "$redis_host" "$redis_port"
	fi
}

if redis_ready; then
	log "Redis answers on $redis_host:$redis_port"
elif is_local "$redis_host"; then
	if ! have redis-server; then
		can_install || fail "Redis is not installed. Install it (Debian: apt-get install redis-server; macOS: brew install redis), or point GATEHOUSE_RUN_REDIS_HOST/PORT at one"
		apt_install redis-server || fail "could not install Redis with apt-get"
	fi
	log "starting Redis on 127.0.0.1:$redis_port (it keeps nothing on disk; stop it with redis-cli -p $redis_port shutdown)"
	mkdir -p "$dir/redis"
	redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
		--dir "$dir/redis" --logfile "$dir/logs/redis.log" || fail "could not start Redis; see $dir/logs/redis.log"
	deadline=$((SECONDS + wait_seconds))
	until redis_ready; do
		((SECONDS < deadline)) || fail "Redis did not answer on $redis_host:$redis_port within ${wait_seconds}s; see $dir/logs/redis.log"
		sleep 0.2
	done
else
	fail "Redis does not answer on $redis_host:$redis_port (not this machine, so it is not started here)"
fi

# ---- certificate and schema -------------------------------------------

cert=$dir/cluster.crt
key=$dir/cluster.key
if [[ -e $cert && -e $key ]]; then
	log "cluster certificate $cert"
elif [[ -e $cert || -e $key ]]; then
	fail "only one of $cert and $key exists; remove it to generate a new pair"
else
	"$bin/sync-hub" cert "$cert" "$key" | sed 's/^/   /'
fi

log "migrating database $database"
GATEHOUSE_PG_URL=$pg_url GATEHOUSE_ADMIN_LISTEN=127.0.0.1:$admin_port "$bin/admin-api" migrate | sed 's/^/   /'
[[ ${PIPESTATUS[0]} -eq 0 ]] || fail "admin-api migrate failed"

# ---- services ----------------------------------------------------------

admin_header="X-Run: 1"
[[ -n ${GATEHOUSE_ADMIN_TOKEN:-} ]] && admin_header="Kong-Admin-Token: $GATEHOUSE_ADMIN_TOKEN"

log "starting demo-upstream"
start demo-upstream env DEMO_UPSTREAM_LISTEN="127.0.0.1:$upstream_port" DEMO_UPSTREAM_NAME=demo-upstream "$bin/demo-upstream"
wait_http demo-upstream "http://127.0.0.1:$upstream_port/healthz"

log "starting admin-api"
start admin-api env GATEHOUSE_PG_URL="$pg_url" GATEHOUSE_ADMIN_LISTEN="127.0.0.1:$admin_port" "$bin/admin-api"
wait_http admin-api "http://127.0.0.1:$admin_port/status" "$admin_header"

log "starting sync-hub"
start sync-hub env GATEHOUSE_PG_URL="$pg_url" \
	GATEHOUSE_CLUSTER_LISTEN="127.0.0.1:$cluster_port" GATEHOUSE_STATUS_LISTEN="127.0.0.1:$hub_status_port" \
	GATEHOUSE_CLUSTER_CERT="$cert" GATEHOUSE_CLUSTER_CERT_KEY="$key" GATEHOUSE_CLUSTER_HUB_ID=sync-hub-1 \
	"$bin/sync-hub"
wait_http sync-hub "http://127.0.0.1:$hub_status_port/status/ready"

# start_dataplane N PROXY PROXY_SSL STATUS ZONE
start_dataplane() {
	local n=$1
	log "starting dataplane-$n"
	start "dataplane-$n" env GATEHOUSE_PREFIX="$dir/dp$n" \
		GATEHOUSE_CLUSTER_CONTROL_PLANE="127.0.0.1:$cluster_port" \
		GATEHOUSE_CLUSTER_CERT="$cert" GATEHOUSE_CLUSTER_CERT_KEY="$key" \
		GATEHOUSE_CLUSTER_DP_LABELS="name:dataplane-$n,zone:$5" \
		GATEHOUSE_PROXY_LISTEN="127.0.0.1:$2" GATEHOUSE_PROXY_SSL_LISTEN="127.0.0.1:$3" \
		GATEHOUSE_STATUS_LISTEN="127.0.0.1:$4" \
		"$bin/dataplane"
	# A data plane serves its status API before it connects anywhere; if it
	# does not answer but runs, say so and go on.
	wait_http "dataplane-$n" "http://127.0.0.1:$4/status" "X-Run: 1" soft
}
start_dataplane 1 "$dp1_proxy_port" "$dp1_proxy_ssl_port" "$dp1_status_port" zone-a
start_dataplane 2 "$dp2_proxy_port" "$dp2_proxy_ssl_port" "$dp2_status_port" zone-b

cat <<EOF

Gatehouse is running (logs: $dir/logs/, Ctrl-C stops everything).
Each process's pid is in $dir/pids/ while it runs: kill one to stop it alone.

  Admin API          http://127.0.0.1:$admin_port
  sync-hub           cluster 127.0.0.1:$cluster_port (mutual TLS), status http://127.0.0.1:$hub_status_port/status
  dataplane-1        proxy http://127.0.0.1:$dp1_proxy_port  https://127.0.0.1:$dp1_proxy_ssl_port  status http://127.0.0.1:$dp1_status_port/status
  dataplane-2        proxy http://127.0.0.1:$dp2_proxy_port  https://127.0.0.1:$dp2_proxy_ssl_port  status http://127.0.0.1:$dp2_status_port/status
  demo upstream      http://127.0.0.1:$upstream_port
  Postgres           $pghost:$pgport database $database
  Redis              $redis_host:$redis_port

Try:
  curl -s -X POST http://127.0.0.1:$admin_port/services -d name=demo -d url=http://127.0.0.1:$upstream_port
  curl -s -X POST http://127.0.0.1:$admin_port/services/demo/routes -d name=demo -d 'paths[]=/demo'
  curl -s http://127.0.0.1:$dp1_proxy_port/demo/hello
EOF
running=1

# Run until a signal arrives (the trap exits).
while true; do
	check_alive
	sleep 1 &
	sleeper=$!
	wait "$sleeper" || true
	sleeper=
done
