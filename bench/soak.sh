#!/usr/bin/env bash
# Soak test of the connection manager (not run by CI or `mvnw verify`): DURATION (default 30m)
# of churn by dev.keepalive.bench.Soak (bench/src/test, run as SoakTest under the Maven profile
# soak: ./mvnw -Psoak ... test) against a real nginx on 127.0.0.1 (started here with
# scripts/nginx-tls.sh: http :18080, https :18443), with faults: a local TCP proxy in front of
# nginx that resets, closes or stalls some connections, a listener where connects hang until the
# request's timeout, a refused port, discards, deallocations, cold keys evicted at maxOpen.
# Every 10 s, at a quiet point, the heap after a full GC and the process's file descriptors go
# to a CSV; the summary compares the first sample after the first 10 % of the run with the last
# and the maximum, and checks the descriptors after close() against those before the manager.
#
# Usage: bench/soak.sh [DURATION] [-- SOAK ARGS]
#   DURATION        30m (default), 3m, 90s, 1h, 1.5h ...
#   SOAK ARGS       passed to Soak: --threads N (8), --max-per-host N (4), --max-open N (32),
#                   --sample 10s, --warmup 20s, --max-heap-growth-mb N (16), --max-fd-growth N (8),
#                   --tls-session-cache N (1000: the JDK default 20,480 fills ~14 MiB)
# Environment:
#   SOAK_USE_RUNNING_NGINX=1 use an nginx already listening on 18080/18443 (its CA from
#                            KEEPALIVE_NGINX_CA, or `scripts/nginx-tls.sh ca`); it is not stopped
#   KEEPALIVE_NGINX_DIR      where nginx-tls.sh keeps nginx (default here /tmp/keepalive-soak-nginx;
#                            its access log is /dev/null: a soak sends millions of requests)
#   SOAK_JAVA_OPTS           JVM options of the test JVM (default -Xms64m -Xmx256m)
# Writes bench/results/soak-<stamp>.csv, soak-<stamp>-summary.txt and soak-<stamp>.log (git-ignored).
# Exit status: 0 when heap and descriptors stayed flat and no invariant broke, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
duration="30m"
if (($#)) && [[ "$1" != "--" ]]; then
  duration="$1"
  shift
fi
if (($#)) && [[ "$1" == "--" ]]; then
  shift
fi
if [[ "$duration" == -h || "$duration" == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi

results="$here/results"
mkdir -p "$results"
stamp="$(date +%Y%m%d-%H%M%S)"
csv="$results/soak-$stamp.csv"
summary="$results/soak-$stamp-summary.txt"
log="$results/soak-$stamp.log"

log() { echo "soak: $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- nginx ----
export KEEPALIVE_NGINX_DIR="${KEEPALIVE_NGINX_DIR:-/tmp/keepalive-soak-nginx}"
started_nginx=0
if [[ "${SOAK_USE_RUNNING_NGINX:-0}" == 1 ]]; then
  ca="${KEEPALIVE_NGINX_CA:-$("$root/scripts/nginx-tls.sh" ca)}"
  listening 18080 && listening 18443 || { log "no nginx on 127.0.0.1:18080/18443"; exit 1; }
else
  if [[ ! -s "$KEEPALIVE_NGINX_DIR/nginx.pid" ]] && { listening 18080 || listening 18443; }; then
    log "127.0.0.1:18080 or :18443 is taken by another server (another nginx-tls.sh directory?);"
    log "stop it, or run with SOAK_USE_RUNNING_NGINX=1"
    exit 1
  fi
  mkdir -p "$KEEPALIVE_NGINX_DIR"
  ln -sfn /dev/null "$KEEPALIVE_NGINX_DIR/access.log"
  "$root/scripts/nginx-tls.sh" start >/dev/null
  started_nginx=1
  ca="$("$root/scripts/nginx-tls.sh" ca)"
fi
cleanup() {
  if ((started_nginx)); then
    "$root/scripts/nginx-tls.sh" stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# ---- build and run: SoakTest (bench/src/test) under the Maven profile soak, keepalive-core
# built with it (its tests are not run); Maven builds only what changed ----
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "building keepalive-core and bench, then running for $duration; CSV $csv"
mvn=(-B -q -Psoak -pl bench -am test -Dtest=SoakTest -Dsurefire.failIfNoSpecifiedTests=false
  "-Dsoak.duration=$duration" "-Dsoak.ca=$ca" "-Dsoak.csv=$csv" "-Dsoak.summary=$summary"
  "-Dsoak.args=$*" "-Dsoak.jvm=${SOAK_JAVA_OPTS:--Xms64m -Xmx256m}")
(cd "$root" && ./mvnw "${mvn[@]}") 2>&1 | tee "$log"
status="${PIPESTATUS[0]}"
log "summary: $summary"
exit "$status"
