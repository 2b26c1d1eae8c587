#!/usr/bin/env bash
# End-to-end benchmark: `keepalive bench` against nginx on 127.0.0.1, next to wrk and `ab -k`
# (the C reference) and Java harnesses for Apache HttpClient 5 (async), OkHttp, the JDK's
# java.net.http.HttpClient and Reactor Netty (bench/e2e/, the reactor's module under -Pe2e).
#
#   bench/run-e2e.sh                 the full matrix: bodies small|64k x c 1|16|64 x
#                                    http|https|http-close, 10 s runs, 3 interleaved rounds
#   bench/run-e2e.sh --quick         3 s runs, 1 round, c=16, small body: for iterating
#   bench/run-e2e.sh --reduced       5 s runs, 1 round: small body at c=1|16|64 and 64k at c=16,
#                                    for http, https and http-close
#   bench/run-e2e.sh --profile       keepalive bench under JFR (http, small body, c=16 and 64;
#                                    --protos https or http,https for those): the recordings
#                                    and their hot frames (tools/: JfrHot), no report
#   bench/run-e2e.sh --report-only bench/results/e2e-<stamp>   rewrite the report from a run
#
# Options (after a preset they override it):
#   -d, --duration S        seconds measured per run (10)
#   -r, --rounds N          interleaved rounds (3); each round runs every client once per case,
#                           in an order rotated from round to round and case to case
#   -c, --concurrency LIST  comma-separated (1,16,64)
#   --bodies LIST           small,64k
#   --protos LIST           http,https,http-close (http-close: keep-alive off, Connection: close)
#   --clients LIST          wrk,ab,keepalive,apache-async,okhttp,jdk-httpclient,reactor-netty
#                           (default); also keepalive-lib (keepalive's client driven by the
#                           Java harness like the peers: sendBlocking from c threads) and
#                           keepalive-async (send() chained on the event loop, as keepalive
#                           bench does)
#   --extra LIST            more cases, proto:body:c, e.g. http:64k:16
#   --warmup S              seconds every Java client runs first, not counted (5: the JIT
#                           needs that long for the larger peers on a busy 2-core machine)
#   --tls-warmup S          the same for https cases (default: --warmup); the first handshakes
#                           run the JDK's crypto before it is compiled, so give it more
#   --pause S               seconds between runs (1)
#   --nginx-workers N       nginx worker processes (1)
#   --nginx-connections N   nginx's worker_connections (4096); its descriptor limit
#                           (worker_rlimit_nofile) and this script's ulimit -n are raised to
#                           fit (-c 10000 needs more than the default)
#   --launcher              run keepalive through the ./keepalive launcher, with the start-up
#                           archive it records for the run's copy of the jar before the first
#                           run (as users run it); JAVA_OPTS go to KEEPALIVE_JAVA_OPTS
#   --cold                  no warm-up for any client (--warmup 0 --tls-warmup 0): what a
#                           short run from a fresh JVM gets
#   --label TEXT            a line printed at the top of the report
#   --wait-idle [LOAD]      before starting, wait (at most 15 min) until the 1-minute load
#                           average is below LOAD (default 1.0)
#   --no-build              use the jars already built
#   --no-docs               write the report only into the results directory, not
#                           docs/BENCHMARKS.md and docs/benchmarks/*.png
#
# Installs nginx, wrk and apache2-utils (ab) with apt-get when missing (apt-get update only when
# the package lists do not know them). nginx runs from a temporary directory with its own config,
# listening only on 127.0.0.1 ($E2E_HTTP_PORT, default 18280; $E2E_HTTPS_PORT, 18643; TLS with
# a CA made here by openssl), and is stopped at the end. Results: bench/results/e2e-<stamp>/
# (git-ignored): meta.env, runs.tsv, runs/*.out, summary.md, medians.csv. Environment:
# JAVA_OPTS (JVM options for every Java client; default none), WRK_THREADS (2). Each run's
# peak resident memory (GNU time's %M, when /usr/bin/time is GNU time) is in runs/*.out.rss.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmdline="bench/run-e2e.sh${*:+ $*}"

duration=10
rounds=3
concurrency=1,16,64
bodies=small,64k
protos=http,https,http-close
clients=wrk,ab,keepalive,apache-async,okhttp,jdk-httpclient,reactor-netty
extra=
warmup=5
tls_warmup=
pause=1
nginx_workers=1
nginx_connections=4096
launcher=0
label=
build=1
docs=1
mode=run
report_dir=
profile_protos=http
wait_idle=

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) duration=3; rounds=1; concurrency=16; bodies=small; extra=
      label="Quick run (--quick): 3 s runs, 1 round, c=16, small body: indicative only." ;;
    --reduced) duration=5; rounds=1; concurrency=1,16,64; bodies=small
      extra=http:64k:16,https:64k:16,http-close:64k:16
      label="Reduced run (--reduced): 5 s runs, 1 round, small body at c=1/16/64 and 64 KiB at c=16; the full matrix is bench/run-e2e.sh (10 s runs, 3 rounds)." ;;
    --profile) mode=profile ;;
    --report-only) mode=report; report_dir="$2"; shift ;;
    -d|--duration) duration="${2%s}"; shift ;;
    -r|--rounds) rounds="$2"; shift ;;
    -c|--concurrency) concurrency="$2"; shift ;;
    --bodies) bodies="$2"; shift ;;
    --protos) protos="$2"; profile_protos="$2"; shift ;;
    --clients) clients="$2"; shift ;;
    --extra) extra="$2"; shift ;;
    --warmup) warmup="${2%s}"; shift ;;
    --tls-warmup) tls_warmup="${2%s}"; shift ;;
    --pause) pause="$2"; shift ;;
    --nginx-workers) nginx_workers="$2"; shift ;;
    --nginx-connections) nginx_connections="$2"; shift ;;
    --launcher) launcher=1 ;;
    --cold) warmup=0; tls_warmup=0 ;;
    --label) label="$2"; shift ;;
    --no-build) build=0 ;;
    --wait-idle)
      wait_idle=1.0
      if [[ ${2:-} =~ ^[0-9.]+$ ]]; then wait_idle="$2"; shift; fi ;;
    --no-docs) docs=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-e2e: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "run-e2e: $*" >&2; }
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
e2e_jar="$root/bench/e2e/target/keepalive-e2e.jar"
read -r -a java_opts <<<"${JAVA_OPTS:-}"

report() { # DIR: the report (docs/BENCHMARKS.md and charts too unless --no-docs)
  local dir="$1"
  if [[ $docs -eq 1 ]]; then
    mkdir -p "$root/docs/benchmarks"
    "$java_bin" -Djava.awt.headless=true -jar "$e2e_jar" report "$dir" \
      --out "$root/docs/BENCHMARKS.md" --charts "$root/docs/benchmarks" --chart-link benchmarks
  else
    mkdir -p "$dir/charts"
    "$java_bin" -Djava.awt.headless=true -jar "$e2e_jar" report "$dir" --charts "$dir/charts" \
      --chart-link charts
  fi
}

if [[ $mode == report ]]; then
  report "$report_dir"
  exit 0
fi

# ---- tools -----------------------------------------------------------------------------------

# as_root, apt_install, nginx_bin, nginx_user_line, nginx_temp_paths, nginx_ssl_lines
. "$root/scripts/lib.sh"

install_tools() {
  local missing=()
  nginx_bin >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v ab >/dev/null || missing+=(apache2-utils)
  command -v openssl >/dev/null || missing+=(openssl)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  apt_install "${missing[@]}"
}

# ---- nginx -----------------------------------------------------------------------------------

http_port="${E2E_HTTP_PORT:-18280}"
https_port="${E2E_HTTPS_PORT:-18643}"
ngx_dir=
ngx_bin=

nginx_start() {
  ngx_bin="$(nginx_bin)"
  ngx_dir="$(mktemp -d /tmp/keepalive-e2e-nginx.XXXXXX)"
  chmod 755 "$ngx_dir"
  local d="$ngx_dir"
  # a CA (ca.crt) and a server certificate (SAN DNS:localhost, IP:127.0.0.1), made by openssl
  KEEPALIVE_NGINX_DIR="$d" "$root/scripts/nginx-tls.sh" certs
  # the trust store for `keepalive bench` (it uses the JVM's default SSLContext)
  keytool -importcert -noprompt -alias e2e-ca -file "$d/ca.crt" -keystore "$d/ca.p12" \
    -storetype PKCS12 -storepass changeit >/dev/null 2>&1
  mkdir -p "$d/html" "$d/temp"
  head -c 65536 /dev/urandom >"$d/html/64k"
  chmod -R a+rX "$d/html"
  cat >"$d/nginx.conf" <<EOF
# written by bench/run-e2e.sh
$(nginx_user_line)
worker_processes $nginx_workers;
worker_rlimit_nofile $((nginx_connections + 1024));
pid $d/nginx.pid;
error_log $d/error.log warn;
events {
  worker_connections $nginx_connections;
}
http {
  access_log off;
$(nginx_temp_paths "$d/temp")
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  open_file_cache max=16 inactive=60s;
  server {
    listen 127.0.0.1:$http_port backlog=4096;
    listen 127.0.0.1:$https_port ssl backlog=4096;
    server_name localhost;
$(nginx_ssl_lines "$d" e2e:10m)
    root $d/html;
    location = /small {
      default_type text/plain;
      return 200 "keepalive nginx ok\n";
    }
    location = /64k {
    }
  }
}
EOF
  "$ngx_bin" -t -q -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
  "$ngx_bin" -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
  local ok=0
  for _ in $(seq 1 50); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$http_port/small" 2>/dev/null \
        && curl -fsS -o /dev/null --cacert "$d/ca.crt" "https://127.0.0.1:$https_port/64k" \
          2>/dev/null; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [[ $ok -eq 1 ]] || { log "nginx does not answer; see $d/error.log"; return 1; }
  log "nginx $("$ngx_bin" -v 2>&1 | sed 's/^nginx version: //') on 127.0.0.1:$http_port (http) and :$https_port (https), pid $(cat "$d/nginx.pid"), $d"
}

nginx_stop() {
  [[ -n $ngx_dir && -s $ngx_dir/nginx.pid ]] || return 0
  local pid
  pid="$(cat "$ngx_dir/nginx.pid")"
  "$ngx_bin" -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -e "$ngx_dir/error.log" -s quit \
    2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  log "stopped nginx (pid $pid)"
}

# ---- build -----------------------------------------------------------------------------------

build_all() {
  local modules=cli,bench/e2e
  [[ $mode == profile ]] && modules+=,tools # the JFR reader
  log "building keepalive (core, http, cli) and bench/e2e ($modules)"
  ./mvnw -B -q -Pe2e -pl "$modules" -am package -DskipTests >&2
}

# ---- one run ---------------------------------------------------------------------------------

url_for() { # PROTO BODY
  case "$1" in
    https) echo "https://127.0.0.1:$https_port/$2" ;;
    *) echo "http://127.0.0.1:$http_port/$2" ;;
  esac
}

# run_one PROTO BODY C CLIENT OUTFILE: runs one client, its report in OUTFILE; returns its status
run_one() {
  local proto="$1" body="$2" c="$3" client="$4" out="$5"
  local url keep=1 warmup="$warmup"
  # https: every connection's first handshake runs the JDK's Java crypto (EC, X25519) before C2
  # has compiled it; 64 of them took most of a 5 s warm-up in the Java clients, so TLS cases warm
  # up longer (every Java client alike; wrk and ab use OpenSSL and need none)
  [[ $proto == https && -n $tls_warmup ]] && warmup="$tls_warmup"
  local limit=$((${duration%.*} + ${warmup%.*} + 60))
  url="$(url_for "$proto" "$body")"
  [[ $proto == http-close ]] && keep=0
  local cmd=()
  case "$client" in
    wrk)
      local t="${WRK_THREADS:-2}"
      (( c < t )) && t=$c
      cmd=(wrk -t "$t" -c "$c" -d "${duration}s" --latency)
      [[ $keep -eq 0 ]] && cmd+=(-H "Connection: close")
      cmd+=("$url") ;;
    ab)
      # -t alone caps -n at 50,000: -n after -t makes the time the limit
      cmd=(ab -q -r -c "$c" -t "$duration" -n 100000000)
      [[ $keep -eq 1 ]] && cmd+=(-k)
      cmd+=("$url") ;;
    keepalive)
      local jopts=("${java_opts[@]}")
      [[ $proto == https ]] && jopts+=(-Djavax.net.ssl.trustStore="$ngx_dir/ca.p12"
        -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12)
      jopts+=("${jfr_opts[@]}")
      if [[ $launcher -eq 1 ]]; then
        cmd=(env KEEPALIVE_JAR="$ka_jar" KEEPALIVE_JAVA_OPTS="${jopts[*]}" "$root/keepalive")
      else
        cmd=("$java_bin" "${jopts[@]}" -jar "$ka_jar")
      fi
      cmd+=(bench "$url" -c "$c" -d "${duration}s" --json --no-progress)
      [[ $warmup != 0 ]] && cmd+=(--warmup "${warmup}s")
      [[ $keep -eq 0 ]] && cmd+=(--no-keepalive) ;;
    *)
      cmd=("$java_bin" "${java_opts[@]}" -jar "$e2e_jar" run "$client" "$url" -c "$c"
        -d "$duration" --warmup "$warmup" --ca "$ngx_dir/ca.crt")
      [[ $keep -eq 0 ]] && cmd+=(--no-keepalive) ;;
  esac
  printf '%q ' "${cmd[@]}" >"$out.cmd"
  echo >>"$out.cmd"
  local rc=0 TIMEFORMAT='%3U %3S' rss=()
  # the peak resident memory (kB) of the client, by GNU time
  [[ -n $gnu_time ]] && rss=("$gnu_time" -q -f '%M' -o "$out.rss")
  # bash's time: user and system CPU of the whole client process (start-up and warm-up too)
  { time timeout --kill-after=10 "$limit" "${rss[@]}" "${cmd[@]}" >"$out" 2>"$out.err" \
      </dev/null || rc=$?; } 2>"$out.time"
  return "$rc"
}

# CPU seconds (user + system) used so far by nginx's worker processes
nginx_cpu() {
  local master tick
  master="$(cat "$ngx_dir/nginx.pid" 2>/dev/null)" || { echo 0; return; }
  tick="$(getconf CLK_TCK)"
  pgrep -P "$master" | while read -r p; do
    awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null
  done | awk -v tk="$tick" '{s += $1} END {printf "%.2f\n", s / tk}'
}

# ---- the run ---------------------------------------------------------------------------------

trap 'nginx_stop' EXIT
install_tools
gnu_time=
/usr/bin/time -q -f '%M' true >/dev/null 2>&1 && gnu_time=/usr/bin/time
# nginx and the clients inherit it: one descriptor per connection, and the headroom
want_fds=$((nginx_connections + 1024))
(( want_fds < 4096 )) && want_fds=4096
if (( $(ulimit -n) < want_fds )); then
  ulimit -n "$want_fds" 2>/dev/null || as_root prlimit --pid $$ --nofile="$want_fds:$want_fds" \
    || log "could not raise ulimit -n to $want_fds (it is $(ulimit -n))"
fi
if [[ $build -eq 1 ]]; then build_all; fi
[[ -f $e2e_jar ]] || { log "no $e2e_jar: build first (drop --no-build)"; exit 1; }
[[ -f cli/target/keepalive.jar ]] || { log "no cli/target/keepalive.jar"; exit 1; }
[[ $mode != profile || -f tools/target/keepalive-tools.jar ]] \
  || { log "no tools/target/keepalive-tools.jar (the JFR reader): build first"; exit 1; }

if [[ -n $wait_idle ]]; then
  for ((i = 0; i < 90; i++)); do
    awk -v max="$wait_idle" '{exit !($1 < max)}' /proc/loadavg && break
    ((i % 6 == 0)) && log "waiting for the load average ($(cut -d' ' -f1 /proc/loadavg)) to fall below $wait_idle"
    sleep 10
  done
fi

stamp="$(date +%Y%m%d-%H%M%S)"
results="$root/bench/results/e2e-$stamp"
mkdir -p "$results/runs"
# a private copy: another build may rewrite cli/target while this runs
ka_jar="$results/keepalive.jar"
cp cli/target/keepalive.jar "$ka_jar"
if [[ $launcher -eq 1 ]]; then
  # records the start-up archive now, not in the first measured run
  KEEPALIVE_JAR="$ka_jar" "$root/keepalive" --version >/dev/null
fi
jfr_opts=()
nginx_start

if [[ $mode == profile ]]; then
  jfc="$results/sampling-1ms.jfc"
  jdk_home="$(dirname "$(dirname "$(readlink -f "$(command -v "$java_bin")")")")"
  sed -e '/<event name="jdk.ExecutionSample">/,/<\/event>/ s|<setting name="period"[^>]*>[^<]*</setting>|<setting name="period">1 ms</setting>|' \
    "$jdk_home/lib/jfr/profile.jfc" >"$jfc"
  IFS=, read -r -a cs <<<"$concurrency"
  [[ $concurrency == 1,16,64 ]] && cs=(16 64)
  IFS=, read -r -a pps <<<"$profile_protos"
  for p in "${pps[@]}"; do
  for c in "${cs[@]}"; do
    for client in keepalive; do
      f="$results/runs/profile-$p-small-c$c-$client"
      jfr_opts=("-XX:StartFlightRecording=filename=$f.jfr,settings=$jfc")
      log "profile: $client $p small c=$c, ${duration} s (+${warmup} s warm-up) under JFR"
      run_one "$p" small "$c" "$client" "$f.out" || log "exit $? (see $f.out.err)"
      jfr_opts=()
      "$java_bin" -cp "$root/tools/target/keepalive-tools.jar" dev.keepalive.tools.JfrHot \
        "$f.jfr" 30 >"$f.top.txt"
      grep -o '"requestsPerSecond":[0-9.]*' "$f.out" >&2 || true
      log "hot frames: $f.top.txt"
    done
  done
  done
  exit 0
fi

IFS=, read -r -a cs <<<"$concurrency"
IFS=, read -r -a bs <<<"$bodies"
IFS=, read -r -a ps <<<"$protos"
IFS=, read -r -a cl <<<"$clients"
cases=()
for p in "${ps[@]}"; do
  for b in "${bs[@]}"; do
    for c in "${cs[@]}"; do cases+=("$p:$b:$c"); done
  done
done
if [[ -n $extra ]]; then
  IFS=, read -r -a ex <<<"$extra"
  for e in "${ex[@]}"; do
    p="${e%%:*}"
    [[ ,$protos, == *,$p,* ]] && cases+=("$e")
  done
fi

{
  echo "# bench/run-e2e.sh metadata"
  echo "results=bench/results/e2e-$stamp"
  echo "started=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$cmdline"
  echo "full_command=bench/run-e2e.sh"
  echo "label=$label"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n $(git status --porcelain -- core/src/main http/src/main cli/src/main 2>/dev/null) ]] && echo ' (core/http/cli modified)')"
  echo "duration=$duration"
  echo "rounds=$rounds"
  echo "warmup=$warmup"
  echo "tls_warmup=${tls_warmup:-$warmup}"
  echo "bodies=$bodies${extra:+ (+ $extra)}"
  echo "concurrency=$concurrency"
  echo "protos=$protos"
  echo "clients=$clients"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "virt=$(systemd-detect-virt 2>/dev/null || echo 'virtualization unknown')"
  echo "kernel=$(uname -sr)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "jdk=$("$java_bin" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.vm.name|java.runtime.version/ {printf "%s ", $2}')"
  echo "java_opts=${JAVA_OPTS:-}"
  echo "nginx=$("$ngx_bin" -v 2>&1 | sed 's/^nginx version: //')"
  echo "nginx_workers=$nginx_workers"
  echo "nginx_connections=$nginx_connections"
  echo "keepalive_launcher=$( [[ $launcher -eq 1 ]] && echo "./keepalive (start-up archive: $(cd "$results" && ls keepalive.jar-* 2>/dev/null | tr '\n' ' '))" || echo "java -jar")"
  echo "ulimit_n=$(ulimit -n)"
  echo "nginx_keepalive_requests=10000000"
  echo "nginx_tls=TLS 1.2/1.3, ECDSA P-256 certificate; $(openssl version | cut -d' ' -f1-2)"
  echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "wrk_threads=wrk -t min(c,${WRK_THREADS:-2}) -c c -d ${duration}s --latency"
  echo "ab=$(ab -V 2>&1 | head -1 | sed 's/This is //; s/, Version/ /; s/ <.*//') (ab -k -c c -t ${duration} -n 100000000; without -k for http-close)"
  echo "keepalive_jar=cli/target/keepalive.jar built $(date -u -r cli/target/keepalive.jar '+%Y-%m-%d %H:%M UTC')$( [[ $build -eq 1 ]] && echo ' by this run' || echo ' (--no-build)')"
  echo "keepalive_version=keepalive $(unzip -p "$ka_jar" META-INF/MANIFEST.MF 2>/dev/null | awk -F': ' '/Implementation-Version/ {print $2}' | tr -d '\r')"
  echo "peer_versions=$("$java_bin" -jar "$e2e_jar" versions | grep -v '^keepalive' | awk '{printf "%s%s %s", (NR>1?", ":""), $1, $2}')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$results/meta.env"
printf '# proto\tbody\tc\tround\torder\tclient\tfile\tload1\trc\tclient_cpu_s\tnginx_cpu_s\n' \
  >"$results/runs.tsv"

total=$(( ${#cases[@]} * ${#cl[@]} * rounds ))
log "${#cases[@]} cases x ${#cl[@]} clients x $rounds round(s) = $total runs of ${duration} s -> $results"
n=0
for ((r = 1; r <= rounds; r++)); do
  ci=0
  for cs_ in "${cases[@]}"; do
    IFS=: read -r p b c <<<"$cs_"
    k=${#cl[@]}
    for ((j = 0; j < k; j++)); do
      client="${cl[$(( (j + r - 1 + ci) % k ))]}"
      n=$((n + 1))
      name="$p-$b-c$c-r$r-$client"
      load1="$(cut -d' ' -f1 /proc/loadavg)"
      rc=0
      ncpu0="$(nginx_cpu)"
      run_one "$p" "$b" "$c" "$client" "$results/runs/$name.out" || rc=$?
      ncpu="$(awk -v a="$ncpu0" -v b="$(nginx_cpu)" 'BEGIN {printf "%.2f", b - a}')"
      ccpu="$(awk '{printf "%.3f", $1 + $2}' "$results/runs/$name.out.time" 2>/dev/null || echo -1)"
      rps="$(grep -o -E '"requestsPerSecond": ?[0-9.]+|Requests/sec: *[0-9.]+|Requests per second: *[0-9.]+' \
        "$results/runs/$name.out" | grep -o -E '[0-9.]+$' | head -1 || true)"
      log "[$n/$total] round $r $p $b c=$c $client: ${rps:-?} req/s (load $load1$( [[ $rc -ne 0 ]] && echo ", exit $rc"))"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$b" "$c" "$r" "$j" \
        "$client" "runs/$name.out" "$load1" "$rc" "$ccpu" "$ncpu" >>"$results/runs.tsv"
      sleep "$pause"
    done
    ci=$((ci + 1))
  done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/meta.env"
echo "finished=$(date -u '+%Y-%m-%d %H:%M UTC')" >>"$results/meta.env"
nginx_stop
trap - EXIT
report "$results"
log "results in $results"
