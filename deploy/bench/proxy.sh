#!/usr/bin/env bash
# proxy.sh measures HTTP proxies side by side with wrk: nginx as a reverse
# proxy (the reference), Go's httputil.ReverseProxy (deploy/bench/httputilproxy,
# the baseline) and any number of candidates, all in front of one nginx
# upstream returning a fixed 200.
#
# Load generator, proxies and upstream are pinned to ONE core (taskset) and Go
# programs run with GOMAXPROCS=1, so throughput measures the proxy's CPU cost
# per request on that core. The proxies are measured in turn, rotating the
# order every round. Two tables follow, each as median (min-max) over the
# rounds, with ratios paired per round (each round's figure over nginx's and
# httputil's in the same round):
#   - measured requests/s and p99 latency, as wrk reports them;
#   - CPU time per request, read from /proc for the proxy (and for wrk and the
#     upstream), and the "CPU-bound requests/s" it implies: 1e6 / (CPU us per
#     request of wrk + proxy + upstream), i.e. what the core would serve with
#     nothing else on it. Other load on a shared machine swings throughput a
#     lot and CPU cost much less, so on a busy machine trust the second table.
#
# Usage:
#   deploy/bench/proxy.sh [options] [NAME=COMMAND ...]
#
# A candidate is NAME=COMMAND. COMMAND runs with sh -c, pinned like the rest,
# with LISTEN_ADDR (host:port to serve plain HTTP on), LISTEN_PORT,
# UPSTREAM_ADDR (host:port of the upstream) and UPSTREAM_URL exported; the
# strings {listen} and {upstream} in COMMAND are replaced by the same values.
# It must proxy every path to the upstream. Relative paths in COMMAND are
# relative to the directory proxy.sh is started from. Without arguments, $CANDIDATE is
# the command and $CANDIDATE_NAME (default "candidate") its name. Example:
#
#   deploy/bench/proxy.sh -n 5 'dataplane=./bin/dataplane --proxy-listen {listen} ...'
#
# The production data plane is measured through deploy/bench/dataplane.sh,
# which runs it standalone (declarative file, one service and route to the
# upstream, the prometheus plugin on, tracing sampled at 1%); see its header
# for ACCESS_LOG, SAMPLE, PLUGINS and PROFILE:
#
#   make build/dataplane
#   deploy/bench/proxy.sh -n 5 'dataplane=deploy/bench/dataplane.sh bin/dataplane' \
#     'dataplane-log=ACCESS_LOG=on deploy/bench/dataplane.sh bin/dataplane'
#
# Options:
#   -n N      rounds (default 5; at least 3 for a figure worth quoting)
#   -d DUR    wrk duration per run (default 5s)
#   -c CONNS  wrk connections (default 50; one wrk thread)
#   -k CORE   the CPU to pin everything to (default 1)
#   -p PATH   request path (default /)
#   -w DUR    warm-up run per proxy before the rounds (default 2s)
#   -N        skip the nginx reverse proxy (ratios to nginx are then omitted)
#   -s SCRIPT wrk Lua script (wrk -s), e.g. one rotating over paths and keys
#   -H HEADER a header ("Name: value") for the readiness checks, and for wrk
#             when there is no script (a proxy that needs a key answers 200
#             only with one)
#   -o FILE   also write the raw measurements to FILE, one line each (see
#             "Raw measurements" below)
#   -L CMD    after the wrk runs of each round, measure latency with CMD for
#             the upstream itself (named "direct") and each proxy in turn: CMD
#             runs with sh -c, pinned like the rest, with TARGET_NAME,
#             TARGET_URL and TARGET_ADDR (host:port) exported; each line it
#             prints is recorded (benchtool latency prints key=value pairs)
#   -h        this help
#
# Raw measurements (-o), space-separated:
#   load ROUND LOAD_AVERAGE
#   throughput ROUND NAME REQUESTS_PER_S P99_MS ERRORS(yes|-) PROXY_CPU_US_PER_REQ ALL_CPU_US_PER_REQ
#   latency ROUND NAME <a line printed by CMD>
#
# Needs: nginx, wrk, taskset, curl, go. No root needed; everything lives in
# a temporary directory and every process the script started is stopped on
# exit. Other load on the machine skews results: the script prints the load
# average seen before every round, and the figures are only worth comparing
# within one run.
set -euo pipefail

rounds=5
duration=5s
conns=50
core=1
path=/
warmup=2s
with_nginx=1
script=
header=
raw=
latency_cmd=

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while getopts "n:d:c:k:p:w:Ns:H:o:L:h" opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	k) core=$OPTARG ;;
	p) path=$OPTARG ;;
	w) warmup=$OPTARG ;;
	N) with_nginx=0 ;;
	s) script=$OPTARG ;;
	H) header=$OPTARG ;;
	o) raw=$OPTARG ;;
	L) latency_cmd=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

candidates=("$@")
if [ ${#candidates[@]} -eq 0 ] && [ -n "${CANDIDATE:-}" ]; then
	candidates=("${CANDIDATE_NAME:-candidate}=$CANDIDATE")
fi

for spec in "${candidates[@]}"; do
	name=${spec%%=*}
	if [ -z "$name" ] || [ "$name" = "$spec" ]; then
		echo "proxy.sh: candidate must be NAME=COMMAND, got: $spec" >&2
		exit 2
	fi
	case $name in
	nginx | httputil | upstream | *[!A-Za-z0-9_.-]*)
		echo "proxy.sh: candidate name $name is reserved or not [A-Za-z0-9_.-]+" >&2
		exit 2
		;;
	esac
done

wrk_args=()
curl_args=()
if [ -n "$script" ]; then
	[ -r "$script" ] || { echo "proxy.sh: cannot read the wrk script $script" >&2; exit 2; }
	wrk_args+=(-s "$script")
elif [ -n "$header" ]; then
	wrk_args+=(-H "$header")
fi
[ -n "$header" ] && curl_args+=(-H "$header")
if [ -n "$raw" ]; then
	: >"$raw" || { echo "proxy.sh: cannot write $raw" >&2; exit 2; }
fi

for tool in nginx wrk taskset curl go; do
	command -v "$tool" >/dev/null 2>&1 || { echo "proxy.sh: $tool not found" >&2; exit 1; }
done
nginx_bin=$(command -v nginx)
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/proxybench.XXXXXX")
chmod 755 "$work" # nginx workers may run as another user
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		# Each server runs in its own session: stop its whole process group.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port sets port to a TCP port on 127.0.0.1 that nothing listens on and
# that this script has not handed out yet (it must not run in a subshell).
next_port=$((20000 + RANDOM % 20000))
free_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do
		next_port=$((next_port + 1))
	done
	port=$next_port
	next_port=$((next_port + 1))
}

# start NAME COMMAND...: runs a server pinned to the core, in its own session.
start() {
	local name=$1
	shift
	setsid taskset -c "$core" env GOMAXPROCS=1 "$@" >"$work/$name.log" 2>&1 &
	pids+=("$!")
}

# wait_ready NAME URL: polls URL until it answers 200, for at most 60 s.
wait_ready() {
	local name=$1 url=$2 deadline=$((SECONDS + 60))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${curl_args[@]+"${curl_args[@]}"} "$url")" = 200 ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "proxy.sh: $name did not answer 200 at $url; its log:" >&2
			tail -20 "$work/$name.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}

nginx_conf() { # nginx_conf NAME LISTEN_PORT SERVER_BLOCK_BODY [HTTP_EXTRA]
	mkdir -p "$work/$1"
	cat >"$work/$1/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$1/body;
  proxy_temp_path $work/$1/proxy;
  fastcgi_temp_path $work/$1/fastcgi;
  uwsgi_temp_path $work/$1/uwsgi;
  scgi_temp_path $work/$1/scgi;
  keepalive_requests 1000000;
  ${4:-}
  server {
    listen 127.0.0.1:$2 backlog=4096;
    $3
  }
}
EOF
}

free_port
upstream_port=$port
upstream_addr=127.0.0.1:$upstream_port
nginx_conf upstream "$upstream_port" 'location / { return 200 "ok\n"; }'
start upstream "$nginx_bin" -p "$work/upstream" -c "$work/upstream/nginx.conf"
wait_ready upstream "http://$upstream_addr$path"

names=()
urls=()

if [ "$with_nginx" = 1 ]; then
	free_port
	nginx_conf nginxproxy "$port" "location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }" "upstream backend { server $upstream_addr; keepalive 128; keepalive_requests 1000000; }"
	start nginx "$nginx_bin" -p "$work/nginxproxy" -c "$work/nginxproxy/nginx.conf"
	names+=(nginx)
	urls+=("http://127.0.0.1:$port$path")
fi

echo "building deploy/bench/httputilproxy ..." >&2
(cd "$repo" && go build -o "$work/httputilproxy" ./deploy/bench/httputilproxy/main.go)
free_port
start httputil "$work/httputilproxy" -listen "127.0.0.1:$port" -upstream "$upstream_addr"
names+=(httputil)
urls+=("http://127.0.0.1:$port$path")

for spec in "${candidates[@]}"; do
	name=${spec%%=*}
	cmd=${spec#*=}
	free_port
	cmd=${cmd//\{listen\}/127.0.0.1:$port}
	cmd=${cmd//\{upstream\}/$upstream_addr}
	start "$name" env LISTEN_ADDR="127.0.0.1:$port" LISTEN_PORT="$port" UPSTREAM_ADDR="$upstream_addr" \
		UPSTREAM_URL="http://$upstream_addr" sh -c "$cmd"
	names+=("$name")
	urls+=("http://127.0.0.1:$port$path")
done

for i in "${!names[@]}"; do
	wait_ready "${names[$i]}" "${urls[$i]}"
	# A server that died may leave its port to another: check it still runs.
	if ! kill -0 "${pids[$((i + 1))]}" 2>/dev/null; then
		echo "proxy.sh: ${names[$i]} exited; its log:" >&2
		tail -20 "$work/${names[$i]}.log" >&2
		exit 1
	fi
done

# session_ticks PID: CPU time (clock ticks) used so far by the processes of
# the session PID leads.
session_ticks() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v sid="$1" '
		{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[4] == sid) t += f[12] + f[13] }
		END { print t + 0 }'
}

# run_wrk URL DURATION: prints "requests/s requests p99_ms wrk_cpu_seconds
# errors", errors being wrk's error lines joined with ";" or "-".
run_wrk() {
	(
		taskset -c "$core" wrk -t1 -c"$conns" -d"$2" --latency ${wrk_args[@]+"${wrk_args[@]}"} "$1" 2>&1
		times
	) | awk '
		/Requests\/sec:/ { rps = $2 }
		/ requests in / { reqs = $1 }
		/^ +99%/ { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
			p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
		/Non-2xx|Socket errors/ { e = $0; gsub(/^ +| +$/, "", e); err = err e ";" }
		/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ { times = $0 }
		END {
			split(times, t, /[ms ]+/)
			printf "%s %s %s %.3f %s\n", rps + 0, reqs + 0, p99 + 0, t[1] * 60 + t[2] + t[3] * 60 + t[4], (err == "") ? "-" : err
		}'
}

echo "warming up ..." >&2
for i in "${!names[@]}"; do
	run_wrk "${urls[$i]}" "$warmup" >/dev/null
done

n=${#names[@]}
hz=$(getconf CLK_TCK)
results=$work/results # round name rps p99 err cpu_us_per_req_proxy cpu_us_per_req_all
loads=()
for ((r = 0; r < rounds; r++)); do
	load=$(cut -d' ' -f1 /proc/loadavg)
	loads+=("$load")
	echo "round $((r + 1))/$rounds (load average $load)" >&2
	[ -n "$raw" ] && echo "load $r $load" >>"$raw"
	for ((j = 0; j < n; j++)); do
		i=$(((j + r) % n))
		p0=$(session_ticks "${pids[$((i + 1))]}")
		u0=$(session_ticks "${pids[0]}")
		read -r rps reqs p99 wrkcpu errtext < <(run_wrk "${urls[$i]}" "$duration")
		err=-
		[ "$errtext" != - ] && err=yes
		p1=$(session_ticks "${pids[$((i + 1))]}")
		u1=$(session_ticks "${pids[0]}")
		read -r pcpu acpu < <(awk -v p="$((p1 - p0))" -v u="$((u1 - u0))" -v w="$wrkcpu" -v hz="$hz" -v n="$reqs" \
			'BEGIN { if (n == 0) n = 1; printf "%.2f %.2f\n", p / hz * 1e6 / n, (p / hz + u / hz + w) * 1e6 / n }')
		echo "$r ${names[$i]} $rps $p99 $err $pcpu $acpu" >>"$results"
		[ -n "$raw" ] && echo "throughput $r ${names[$i]} $rps $p99 $err $pcpu $acpu" >>"$raw"
		printf '  %-12s %8.0f req/s  p99 %7.2f ms  proxy %6.1f us/req  all %6.1f us/req%s\n' "${names[$i]}" "$rps" "$p99" \
			"$pcpu" "$acpu" "$([ "$err" = yes ] && echo "  wrk: $errtext")" >&2
	done
	if [ -n "$latency_cmd" ]; then
		for ((j = 0; j <= n; j++)); do
			if [ "$j" = "$n" ]; then
				tname=direct turl=http://$upstream_addr$path
			else
				i=$(((j + r) % n))
				tname=${names[$i]} turl=${urls[$i]}
			fi
			taddr=${turl#http://}
			taddr=${taddr%%/*}
			taskset -c "$core" env GOMAXPROCS=1 TARGET_NAME="$tname" TARGET_URL="$turl" TARGET_ADDR="$taddr" \
				sh -c "$latency_cmd" </dev/null >"$work/latency.out" || {
				echo "proxy.sh: the latency command failed for $tname" >&2
				exit 1
			}
			while IFS= read -r line; do
				printf '  %-12s latency %s\n' "$tname" "$line" >&2
				[ -n "$raw" ] && echo "latency $r $tname $line" >>"$raw"
			done <"$work/latency.out"
		done
	fi
done

# The report: medians over rounds; ratios are computed per round (paired runs).
# "CPU-bound req/s" is 1e6 / (CPU microseconds per request of wrk + proxy +
# upstream): the rate the pinned core would reach with no other load on it.
awk -v order="${names[*]}" -v loads="${loads[*]}" -v core="$core" -v conns="$conns" \
	-v dur="$duration" -v cpus="$(nproc)" '
function median(a, k,   i, j, t) {
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return (k % 2) ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2
}
function stats(key, fmt,   k, i, a, lo, hi) {
	k = cnt[key]; if (k == 0) return "-"
	for (i = 1; i <= k; i++) a[i] = val[key, i]
	lo = a[1]; hi = a[1]
	for (i = 1; i <= k; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
	return sprintf(fmt " (" fmt "-" fmt ")", median(a, k), lo, hi)
}
function add(key, v) { cnt[key]++; val[key, cnt[key]] = v }
{
	rps[$1, $2] = $3; cap[$1, $2] = ($7 > 0) ? 1e6 / $7 : 0; rounds[$1] = 1
	add("rps " $2, $3); add("p99 " $2, $4); add("cpu " $2, $6); add("cap " $2, cap[$1, $2])
	if ($5 == "yes") bad[$2] = 1
}
END {
	n = split(order, names, " ")
	for (r in rounds) for (i = 1; i <= n; i++) {
		nm = names[i]
		if (rps[r, "nginx"] > 0) add("xn " nm, rps[r, nm] / rps[r, "nginx"])
		if (rps[r, "httputil"] > 0) add("xh " nm, rps[r, nm] / rps[r, "httputil"])
		if (cap[r, "nginx"] > 0) add("cxn " nm, cap[r, nm] / cap[r, "nginx"])
		if (cap[r, "httputil"] > 0) add("cxh " nm, cap[r, nm] / cap[r, "httputil"])
	}
	nl = split(loads, l, " "); lo = l[1]; hi = l[1]
	for (i = 1; i <= nl; i++) { if (l[i] + 0 < lo + 0) lo = l[i]; if (l[i] + 0 > hi + 0) hi = l[i] }
	printf "\nwrk -t1 -c%s -d%s, keep-alive; wrk, proxies and upstream pinned to CPU %s (of %s), GOMAXPROCS=1\n", conns, dur, core, cpus
	printf "%d rounds, load average before rounds %s-%s; median (min-max) over rounds, ratios paired per round\n\n", nl, lo, hi
	printf "Measured throughput:\n\n"
	printf "| %-12s | %-24s | %-19s | %-19s | %-19s |\n", "proxy", "requests/s", "x nginx", "x httputil", "p99 ms"
	printf "|--------------|--------------------------|---------------------|---------------------|---------------------|\n"
	for (i = 1; i <= n; i++) {
		nm = names[i]
		printf "| %-12s | %-24s | %-19s | %-19s | %-19s |%s\n", nm, stats("rps " nm, "%.0f"), stats("xn " nm, "%.2f"),
			stats("xh " nm, "%.2f"), stats("p99 " nm, "%.1f"), bad[nm] ? " wrk reported errors (see the runs above)" : ""
	}
	printf "\nCPU cost (robust to other load on the machine):\n\n"
	printf "| %-12s | %-24s | %-24s | %-19s | %-19s |\n", "proxy", "proxy CPU us/request", "CPU-bound requests/s", "x nginx", "x httputil"
	printf "|--------------|--------------------------|--------------------------|---------------------|---------------------|\n"
	for (i = 1; i <= n; i++) {
		nm = names[i]
		printf "| %-12s | %-24s | %-24s | %-19s | %-19s |\n", nm, stats("cpu " nm, "%.1f"), stats("cap " nm, "%.0f"),
			stats("cxn " nm, "%.2f"), stats("cxh " nm, "%.2f")
	}
}' "$results"
