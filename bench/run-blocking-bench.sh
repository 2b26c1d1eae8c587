#!/usr/bin/env bash
# Blocking-style comparison against nginx on 127.0.0.1: N threads each sending GETs in a loop
# through one client (keepalive-http's sendBlocking, Apache HttpClient 5 classic, OkHttp, the
# JDK's java.net.http.HttpClient send()), N pooled connections; bench/e2e's BlockingBench.
# On Java 17 with platform threads, on Java 25 with platform and virtual threads.
#
#   bench/run-blocking-bench.sh            bodies small|64k x threads 16|64 x the JVMs above,
#                                          5 s measured after 5 s warm-up, 3 interleaved rounds
#   bench/run-blocking-bench.sh --quick    1 round, small body, Java 17 only: for iterating
#
# Options (after --quick they override it):
#   -d, --duration S      seconds measured per run (5)
#   --warmup S            seconds each run sends first, not counted (5: the JIT needs it on a
#                         busy 2-core machine)
#   -r, --rounds N        interleaved rounds (3); each round runs every client once per
#                         configuration, in an order rotated from round to round
#   -t, --threads LIST    comma-separated thread counts (16,64)
#   --bodies LIST         small,64k
#   --clients LIST        keepalive,apache-classic,okhttp,jdk
#   --jvms LIST           17,25 (25 runs both platform and virtual threads)
#   --kinds LIST          platform,virtual (virtual only on 21+)
#   --jfr                 keepalive's runs under JFR (bench/jfr/sampling-1ms.jfc); the hot
#                         frames of each recording next to it (tools/: JfrHot)
#   --no-build            use the jar already built
#
# Installs nginx with apt-get when missing. nginx (1 worker) runs from a temporary directory on
# 127.0.0.1:$BLOCKING_HTTP_PORT (default 18281) and is stopped at the end. JDKs: Java 17 from
# $JAVA17_HOME or the java on the PATH, Java 25 from $JAVA25_HOME or
# /usr/lib/jvm/temurin-25-jdk-amd64. Results: bench/results/blocking-<stamp>/ (git-ignored):
# meta.env, runs.tsv, runs/*.out, summary.md (medians and keepalive / best peer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmdline="bench/run-blocking-bench.sh${*:+ $*}"

duration=5
warmup=5
rounds=3
threads=16,64
bodies=small,64k
clients=keepalive,apache-classic,okhttp,jdk
jvms=17,25
kinds=platform,virtual
build=1
jfr=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) rounds=1; bodies=small; jvms=17 ;;
    -d|--duration) duration="${2%s}"; shift ;;
    --warmup) warmup="${2%s}"; shift ;;
    -r|--rounds) rounds="$2"; shift ;;
    -t|--threads) threads="$2"; shift ;;
    --bodies) bodies="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --jvms) jvms="$2"; shift ;;
    --kinds) kinds="$2"; shift ;;
    --jfr) jfr=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-blocking-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "run-blocking-bench: $*" >&2; }
# as_root, apt_install, nginx_bin, nginx_user_line, nginx_temp_paths
. "$root/scripts/lib.sh"

java17="$(command -v "${JAVA17_HOME:+$JAVA17_HOME/bin/}java" || true)"
java25="${JAVA25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
java_for() { case "$1" in 17) echo "$java17" ;; 25) echo "$java25" ;; *) return 1 ;; esac; }
e2e_jar="$root/bench/e2e/target/keepalive-e2e.jar"

nginx_bin >/dev/null || apt_install nginx
command -v curl >/dev/null || apt_install curl
IFS=, read -r -a js <<<"$jvms"
for j in "${js[@]}"; do
  [[ -x $(java_for "$j") ]] || { log "no Java $j at $(java_for "$j") (set JAVA${j}_HOME)"; exit 1; }
done

if [[ $build -eq 1 ]]; then
  log "building bench/e2e (with core and http)"
  mods=bench/e2e
  [[ $jfr -eq 1 ]] && mods+=,tools
  ./mvnw -B -q -o -Pe2e -pl "$mods" -am package -DskipTests >&2
fi
[[ -f $e2e_jar ]] || { log "no $e2e_jar: build first (drop --no-build)"; exit 1; }

# ---- nginx (as bench/run-e2e.sh's, plain http only) --------------------------------------------

port="${BLOCKING_HTTP_PORT:-18281}"
ngx_bin="$(nginx_bin)"
ngx_dir="$(mktemp -d /tmp/keepalive-blocking-nginx.XXXXXX)"
nginx_stop() {
  [[ -s $ngx_dir/nginx.pid ]] || return 0
  local pid
  pid="$(cat "$ngx_dir/nginx.pid")"
  "$ngx_bin" -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -e "$ngx_dir/error.log" -s quit \
    2>/dev/null || kill "$pid" 2>/dev/null || true
  wait_exit "$pid" || kill -9 "$pid" 2>/dev/null || true
  log "stopped nginx (pid $pid)"
}
trap nginx_stop EXIT
chmod 755 "$ngx_dir"
mkdir -p "$ngx_dir/html" "$ngx_dir/temp"
head -c 65536 /dev/urandom >"$ngx_dir/html/64k"
chmod -R a+rX "$ngx_dir/html"
cat >"$ngx_dir/nginx.conf" <<EOF
# written by bench/run-blocking-bench.sh
$(nginx_user_line)
worker_processes 1;
pid $ngx_dir/nginx.pid;
error_log $ngx_dir/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
$(nginx_temp_paths "$ngx_dir/temp")
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  open_file_cache max=16 inactive=60s;
  server {
    listen 127.0.0.1:$port backlog=4096;
    server_name localhost;
    root $ngx_dir/html;
    location = /small {
      default_type text/plain;
      return 200 "keepalive nginx ok\n";
    }
    location = /64k {
    }
  }
}
EOF
"$ngx_bin" -t -q -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -e "$ngx_dir/error.log"
"$ngx_bin" -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -e "$ngx_dir/error.log"
wait_listening 127.0.0.1 "$port" || { log "nginx does not listen; see $ngx_dir/error.log"; exit 1; }
curl -fsS -o /dev/null "http://127.0.0.1:$port/64k"
log "nginx $("$ngx_bin" -v 2>&1 | sed 's/^nginx version: //') on 127.0.0.1:$port, $ngx_dir"

expect_bytes() { case "$1" in small) echo 19 ;; 64k) echo 65536 ;; esac; }

# ---- the matrix -------------------------------------------------------------------------------

stamp="$(date +%Y%m%d-%H%M%S)"
results="$root/bench/results/blocking-$stamp"
mkdir -p "$results/runs"
jar="$results/keepalive-e2e.jar" # a private copy: a build meanwhile rewrites target/
cp "$e2e_jar" "$jar"
cp -r "$root/bench/e2e/target/lib" "$results/lib" # the jar's Class-Path: lib/*.jar, copied too
[[ $jfr -eq 1 ]] && cp tools/target/keepalive-tools.jar "$results/"

IFS=, read -r -a ts <<<"$threads"
IFS=, read -r -a bs <<<"$bodies"
IFS=, read -r -a cl <<<"$clients"
IFS=, read -r -a ks <<<"$kinds"
configs=()
for j in "${js[@]}"; do
  for k in "${ks[@]}"; do
    [[ $k == virtual && $j -lt 21 ]] && continue
    for b in "${bs[@]}"; do
      for t in "${ts[@]}"; do configs+=("$j:$k:$b:$t"); done
    done
  done
done

{
  echo "# bench/run-blocking-bench.sh metadata"
  echo "results=bench/results/blocking-$stamp"
  echo "started=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$cmdline"
  echo "commit=$(git rev-parse --short HEAD)$( [[ -n $(git status --porcelain -- core/src/main http/src/main bench/e2e 2>/dev/null) ]] && echo ' (modified)')"
  echo "duration=$duration warmup=$warmup rounds=$rounds"
  echo "nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "kernel=$(uname -sr)"
  for j in "${js[@]}"; do
    echo "java$j=$("$(java_for "$j")" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.vm.name|java.runtime.version/ {printf "%s ", $2}')"
  done
  echo "nginx=$("$ngx_bin" -v 2>&1 | sed 's/^nginx version: //') (1 worker)"
  echo "peers=$("$java17" -jar "$jar" versions | grep -E '^(keepalive-http|httpclient5|httpcore5|okhttp-jvm) ' | paste -sd, | sed 's/,/, /g')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$results/meta.env"
printf '# java\tkind\tbody\tthreads\tround\tclient\tfile\trc\tload1\n' >"$results/runs.tsv"

total=$(( ${#configs[@]} * ${#cl[@]} * rounds ))
log "${#configs[@]} configurations x ${#cl[@]} clients x $rounds round(s) = $total runs of ${duration} s (+${warmup} s warm-up) -> $results"
n=0
for ((r = 1; r <= rounds; r++)); do
  ci=0
  for cf in "${configs[@]}"; do
    IFS=: read -r j k b t <<<"$cf"
    for ((x = 0; x < ${#cl[@]}; x++)); do
      client="${cl[$(( (x + r - 1 + ci) % ${#cl[@]} ))]}"
      n=$((n + 1))
      name="j$j-$k-$b-t$t-r$r-$client"
      out="$results/runs/$name.out"
      cmd=("$(java_for "$j")" -Xms512m -Xmx512m)
      if [[ $jfr -eq 1 && $client == keepalive ]]; then
        cmd+=("-XX:StartFlightRecording=filename=$out.jfr,settings=$root/bench/jfr/sampling-1ms.jfc")
      fi
      cmd+=(-jar "$jar" blocking "$client" "http://127.0.0.1:$port/$b" --threads "$t"
        --warmup "$warmup" -d "$duration" --expect-bytes "$(expect_bytes "$b")")
      [[ $k == virtual ]] && cmd+=(--virtual)
      printf '%q ' "${cmd[@]}" >"$out.cmd"
      load1="$(cut -d' ' -f1 /proc/loadavg)"
      rc=0
      timeout --kill-after=10 $(( ${duration%.*} + ${warmup%.*} + 60 )) "${cmd[@]}" \
        >"$out" 2>"$out.err" </dev/null || rc=$?
      rps="$(grep -o '"requestsPerSecond":[0-9.]*' "$out" | cut -d: -f2 || true)"
      log "[$n/$total] round $r Java $j $k $b threads=$t $client: ${rps%.*} req/s (load $load1$( [[ $rc -ne 0 ]] && echo ", exit $rc"))"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$j" "$k" "$b" "$t" "$r" "$client" \
        "runs/$name.out" "$rc" "$load1" >>"$results/runs.tsv"
      if [[ $jfr -eq 1 && -f $out.jfr ]]; then
        "$java17" -cp "$results/keepalive-tools.jar" dev.keepalive.tools.JfrHot "$out.jfr" 30 \
          >"$out.top.txt" 2>&1 || true
      fi
    done
    ci=$((ci + 1))
  done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/meta.env"
echo "finished=$(date -u '+%Y-%m-%d %H:%M UTC')" >>"$results/meta.env"
nginx_stop
trap - EXIT
"$java17" -jar "$jar" blocking-report "$results"
ln -sfn "blocking-$stamp" "$root/bench/results/blocking-latest"
log "results in $results"
