#!/usr/bin/env bash
# The crawl benchmark (issue 17): 10,000 host names h0.crawl.test ... h9999.crawl.test, each
# resolved by a real DNS server (dnsmasq on a loopback port, started here) to its own 127.x.y.z
# address, where one nginx answers GET / with a small body; requests spread over the hosts with a
# Zipf distribution (h0 the most frequent), 2 connections per host and 1,000 in all (so the pool
# evicts hard), through keepalive (ConnectionManager + its HTTP client), Apache HttpClient 5 async
# and Reactor Netty, each in its own JVM, the same host sequence (same seed) for all, one client
# after the other in every round (the order rotated from round to round). Prints and writes the
# medians per client (dev.keepalive.bench.crawl.CrawlSummary).
#
# Usage: bench/run-crawl-bench.sh [OPTIONS]
#   --hosts N          host names (10000)
#   --requests N       measured requests per run (200000)
#   --warmup N         requests before each measured run, from another sequence, not counted (50000)
#   -c, --concurrency N  requests in flight (256)
#   --zipf S           the Zipf exponent (1.0: h0 gets about 10% of the requests at 10,000 hosts)
#   --seed N           the measured sequence's seed (17; the warm-up's is N+1)
#   --max-per-host N   (2)    --max-open N   (1000; Reactor Netty has no total limit)
#   -r, --rounds N     rounds (3)
#   --clients LIST     keepalive,apache,reactor (default: all three); CLIENT:N gives that client
#                      a total limit of N instead of --max-open, e.g. keepalive:20000,apache:20000
#                      (no eviction: the work Reactor Netty, which has no total limit, does);
#                      keepalive-memo: keepalive with each host's first answer kept (a diagnostic:
#                      what the lookups on the request path cost)
#   --ttl S            the TTL dnsmasq gives its answers (0: every connect asks it, and no
#                      client caches; Reactor Netty's resolver is told to cache nothing anyway)
#   --dns-port N       dnsmasq's port on 127.0.0.1 (15353)
#   --http-port N      nginx's port (18380)
#   --nginx-workers N  nginx worker processes (1)
#   --jfr              record the keepalive runs with JFR (bench/jfr/sampling-1ms.jfc) and print
#                      their hot methods (dev.keepalive.tools.JfrHot)
#   --no-build         use the jars already built
#
# Installs dnsmasq (dnsmasq-base) and nginx with apt-get when missing. Both run from a temporary
# directory with their own configuration (no system file changes): dnsmasq with --no-resolv
# --no-hosts --addn-hosts=FILE, answering only for the generated names on 127.0.0.1; nginx on
# 0.0.0.0:PORT (so it answers on every 127.x address) allowing only 127.0.0.0/8. Both are stopped
# at exit. Results: bench/results/crawl-<stamp>/ (git-ignored): runs.log (every run's output),
# results.txt (one crawl-result line per run), summary.md. Environment: JAVA_OPTS (JVM options of
# every client; default -Xms1g -Xmx1g).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmdline="bench/run-crawl-bench.sh${*:+ $*}"

hosts=10000
requests=200000
warmup=50000
concurrency=256
zipf=1.0
seed=17
max_per_host=2
max_open=1000
rounds=3
clients=keepalive,apache,reactor
ttl=0
dns_port="${CRAWL_DNS_PORT:-15353}"
http_port="${CRAWL_HTTP_PORT:-18380}"
nginx_workers=1
jfr=0
build=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --hosts) hosts="$2"; shift ;;
    --requests) requests="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    -c|--concurrency) concurrency="$2"; shift ;;
    --zipf) zipf="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --max-per-host) max_per_host="$2"; shift ;;
    --max-open) max_open="$2"; shift ;;
    -r|--rounds) rounds="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --ttl) ttl="$2"; shift ;;
    --dns-port) dns_port="$2"; shift ;;
    --http-port) http_port="$2"; shift ;;
    --nginx-workers) nginx_workers="$2"; shift ;;
    --jfr) jfr=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-crawl-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "run-crawl-bench: $*" >&2; }
# as_root, apt_install, nginx_bin, nginx_user_line, nginx_temp_paths, listening, wait_listening,
# wait_exit, kill_pid_file
. "$root/scripts/lib.sh"

missing=()
command -v dnsmasq >/dev/null 2>&1 || [[ -x /usr/sbin/dnsmasq ]] || missing+=(dnsmasq-base)
nginx_bin >/dev/null || missing+=(nginx)
command -v dig >/dev/null 2>&1 || missing+=(dnsutils)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi
dnsmasq_bin="$(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
ngx_bin="$(nginx_bin)"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
read -r -a java_opts <<<"${JAVA_OPTS:--Xms1g -Xmx1g}"

work="$(mktemp -d /tmp/keepalive-crawl.XXXXXX)"
chmod 755 "$work"
cleanup() {
  if [[ -s $work/nginx.pid ]]; then
    local pid
    pid="$(cat "$work/nginx.pid")"
    "$ngx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" -s quit 2>/dev/null \
      || kill "$pid" 2>/dev/null || true
    wait_exit "$pid" || kill -9 "$pid" 2>/dev/null || true
    log "stopped nginx (pid $pid)"
  fi
  if [[ -s $work/dnsmasq.pid ]]; then
    local pid
    pid="$(cat "$work/dnsmasq.pid")"
    kill_pid_file "$work/dnsmasq.pid"
    wait_exit "$pid" || kill -9 "$pid" 2>/dev/null || true
    log "stopped dnsmasq (pid $pid)"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -----------------------------------------------------------------------------------

jar="$root/bench/target/benchmarks.jar"
tools_jar="$root/tools/target/keepalive-tools.jar"
if ((build)); then
  modules=bench
  ((jfr)) && modules=bench,tools
  log "building $modules"
  ./mvnw -B -q -pl "$modules" -am package -DskipTests >&2
fi
[[ -f $jar ]] || { log "no $jar: build first (drop --no-build)"; exit 1; }
# a private copy: a build of the repo meanwhile rewrites target/
cp "$jar" "$work/benchmarks.jar"

# ---- dnsmasq: hN.crawl.test -> 127.a.b.c ----------------------------------------------------------

# host i -> 127.(1 + i / 62500).(1 + i / 250 % 250).(1 + i % 250): every host its own address
awk -v n="$hosts" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "127.%d.%d.%d h%d.crawl.test\n", 1 + int(i / 62500), 1 + int(i / 250) % 250, 1 + i % 250, i
}' >"$work/hosts"
chmod 644 "$work/hosts"
# --keep-in-foreground: its pid is $!; --local: never forwards a crawl.test name (and there is no
# upstream anyway: --no-resolv)
"$dnsmasq_bin" --keep-in-foreground --conf-file=/dev/null --user=nobody --group="$(getent group nogroup >/dev/null && echo nogroup || echo nobody)" \
  --listen-address=127.0.0.1 --bind-interfaces --port="$dns_port" \
  --no-resolv --no-hosts --addn-hosts="$work/hosts" --local=/crawl.test/ \
  --local-ttl="$ttl" --no-negcache --log-facility="$work/dnsmasq.log" \
  2>>"$work/dnsmasq.log" &
echo $! >"$work/dnsmasq.pid"
ok=0
for _ in $(seq 1 100); do
  if dig +short +time=1 +tries=1 -p "$dns_port" @127.0.0.1 "h$((hosts - 1)).crawl.test" A \
      2>/dev/null | grep -q '^127\.'; then
    ok=1
    break
  fi
  sleep 0.1
done
((ok)) || { log "dnsmasq does not answer; see:"; cat "$work/dnsmasq.log" >&2; exit 1; }
log "dnsmasq $("$dnsmasq_bin" --version | head -1 | awk '{print $3}') on 127.0.0.1:$dns_port," \
  "$hosts names, TTL $ttl, pid $(cat "$work/dnsmasq.pid")"

# ---- nginx ---------------------------------------------------------------------------------------

mkdir -p "$work/temp"
cat >"$work/nginx.conf" <<EOF
# written by bench/run-crawl-bench.sh
$(nginx_user_line)
worker_processes $nginx_workers;
worker_rlimit_nofile 65536;
pid $work/nginx.pid;
error_log $work/error.log warn;
events {
  worker_connections 30000;
}
http {
  access_log off;
$(nginx_temp_paths "$work/temp")
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 10000000;
  server {
    # every 127.x.y.z the names resolve to; nothing from outside the loopback network
    listen 0.0.0.0:$http_port backlog=4096;
    allow 127.0.0.0/8;
    deny all;
    location = / {
      default_type text/plain;
      return 200 "keepalive crawl ok\n";
    }
  }
}
EOF
"$ngx_bin" -t -q -p "$work" -c "$work/nginx.conf" -e "$work/error.log"
"$ngx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/error.log"
wait_listening 127.1.1.1 "$http_port" || { log "nginx does not listen; see $work/error.log"; exit 1; }
log "nginx $("$ngx_bin" -v 2>&1 | sed 's/^nginx version: //') on 0.0.0.0:$http_port" \
  "(127.0.0.0/8 only), $nginx_workers worker(s), pid $(cat "$work/nginx.pid")"

# ---- runs ----------------------------------------------------------------------------------------

# keepalive and Apache hold at most 1,000 sockets; Reactor Netty up to 2 per host
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

stamp="$(date +%Y%m%d-%H%M%S)"
out="$root/bench/results/crawl-$stamp"
mkdir -p "$out"
{
  echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cpus, $("$java_bin" -version 2>&1 | head -1)"
  echo "# git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)'); ulimit -n $(ulimit -n)"
  echo "# load average before: $(cat /proc/loadavg)"
  echo "# $cmdline"
} | tee "$out/runs.log"

IFS=, read -r -a client_list <<<"$clients"
n=${#client_list[@]}
status=0
for ((round = 1; round <= rounds; round++)); do
  for ((k = 0; k < n; k++)); do
    spec="${client_list[$(((k + round - 1) % n))]}"
    client="${spec%%:*}"
    open_limit="$max_open"
    [[ $spec == *:* ]] && open_limit="${spec#*:}"
    jfr_opts=()
    if ((jfr)) && [[ $client == keepalive ]]; then
      jfr_opts=("-XX:StartFlightRecording=filename=$out/keepalive-$round.jfr,settings=$root/bench/jfr/sampling-1ms.jfc")
    fi
    echo "## round $round: $spec (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out/runs.log"
    set +e
    "$java_bin" "${java_opts[@]}" "${jfr_opts[@]}" -cp "$work/benchmarks.jar" \
      dev.keepalive.bench.crawl.CrawlMain --client "$client" --dns "127.0.0.1:$dns_port" \
      --port "$http_port" --hosts "$hosts" --requests "$requests" --warmup "$warmup" \
      --concurrency "$concurrency" --zipf "$zipf" --seed "$seed" \
      --max-per-host "$max_per_host" --max-open "$open_limit" --result "$out/results.txt" \
      2>&1 | tee -a "$out/runs.log"
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc != 0)); then
      echo "# FAILED: $client round $round exited $rc" | tee -a "$out/runs.log"
      status=1
    fi
  done
done
echo "# load average after: $(cat /proc/loadavg)" | tee -a "$out/runs.log"

if ((jfr)) && [[ -f $tools_jar ]]; then
  for rec in "$out"/keepalive-*.jfr; do
    [[ -f $rec ]] || continue
    "$java_bin" -cp "$tools_jar" dev.keepalive.tools.JfrHot "$rec" keepalive-loop 25 \
      >"${rec%.jfr}-hot-loop.txt" || true
    log "jfr: $rec -> ${rec%.jfr}-hot-loop.txt"
  done
fi

if [[ -s $out/results.txt ]]; then
  {
    echo "$cmdline"
    echo
    "$java_bin" -cp "$work/benchmarks.jar" dev.keepalive.bench.crawl.CrawlSummary "$out/results.txt"
  } | tee "$out/summary.md"
fi
ln -sfn "crawl-$stamp" "$root/bench/results/crawl-latest"
log "results: $out"
exit "$status"
