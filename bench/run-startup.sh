#!/usr/bin/env bash
# Start-up time of `keepalive get URL` against nginx on 127.0.0.1, next to curl's, measured by
# hyperfine in one run, back to back (docs/BENCHMARKS.md, "Start-up time"):
#   curl                     curl -s URL
#   java -jar BEFORE         with --before JAR: java -jar JAR get URL, an earlier build (the one
#                            before these changes: picocli for every command)
#   java -jar                java -jar cli/target/keepalive.jar get URL: no archive, default JIT
#                            and GC (what the launcher did before it recorded an archive)
#   ./keepalive              the launcher: start-up archive, C1 only, serial GC
#   ./keepalive (Java 25)    the launcher with JAVA_HOME a Java 25 JDK (AOT cache), when one is
#                            found (JAVA25_HOME, else /usr/lib/jvm/*25*)
#   java -version            the JVM alone (C1, serial GC, the JDK's CDS archive): the floor
#
#   bench/run-startup.sh [-r RUNS] [--no-build] [--before JAR]
#
# Installs nginx, curl, hyperfine and python3 (the summary) with apt-get when missing. nginx runs from a temporary
# directory on 127.0.0.1:$STARTUP_PORT (18290) and is stopped at the end. The archives are
# recorded before the first measured run (hyperfine's warm-up runs would do it otherwise).
# Results: bench/results/startup-<stamp>/ (hyperfine.json, summary.txt). On a shared machine
# compare the minimum and the CPU time more than the median: other work lengthens wall times.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { echo "run-startup: $*" >&2; }
# usage, apt_install, nginx_bin, nginx_user_line, nginx_temp_paths, wait_listening
. "$root/scripts/lib.sh"

runs=30
build=1
before=
while [[ $# -gt 0 ]]; do
  case "$1" in
    -r|--runs) runs="$2"; shift ;;
    --no-build) build=0 ;;
    --before) before="$2"; shift ;;
    *) usage ;;
  esac
  shift
done

missing=()
nginx_bin >/dev/null || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v python3 >/dev/null || missing+=(python3)
[[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"

if [[ $build -eq 1 ]]; then
  log "building cli/target/keepalive.jar"
  ./mvnw -B -q -pl cli -am package -DskipTests >&2
fi
jar="$root/cli/target/keepalive.jar"
[[ -f $jar ]] || { log "no $jar: build first (drop --no-build)"; exit 1; }

java25="${JAVA25_HOME:-}"
if [[ -z $java25 ]]; then
  for d in /usr/lib/jvm/*25*; do
    [[ -x $d/bin/java ]] && { java25="$d"; break; }
  done
fi

port="${STARTUP_PORT:-18290}"
ngx="$(mktemp -d /tmp/keepalive-startup-nginx.XXXXXX)"
chmod 755 "$ngx"
mkdir -p "$ngx/html" "$ngx/temp"
echo "keepalive start-up" >"$ngx/html/index.html"
chmod -R a+rX "$ngx/html"
cat >"$ngx/nginx.conf" <<EOF
# written by bench/run-startup.sh
$(nginx_user_line)
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
$(nginx_temp_paths "$ngx/temp")
  server {
    listen 127.0.0.1:$port;
    root $ngx/html;
  }
}
EOF
ngx_bin="$(nginx_bin)"
stop() {
  "$ngx_bin" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" -s quit 2>/dev/null || true
}
trap stop EXIT
"$ngx_bin" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log"
wait_listening 127.0.0.1 "$port" || { log "nginx does not answer; see $ngx/error.log"; exit 1; }
url="http://127.0.0.1:$port/"

# record the archives now (the launcher does it on its first run of a new jar)
./keepalive get "$url" >/dev/null
[[ -n $java25 ]] && JAVA_HOME="$java25" ./keepalive get "$url" >/dev/null

stamp="$(date +%Y%m%d-%H%M%S)"
out="$root/bench/results/startup-$stamp"
mkdir -p "$out"
cmds=("curl -s $url")
[[ -n $before ]] && cmds+=("java -jar $before get $url")
cmds+=("java -jar $jar get $url" "./keepalive get $url")
[[ -n $java25 ]] && cmds+=("env JAVA_HOME=$java25 ./keepalive get $url")
cmds+=("java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -version")
log "hyperfine, $runs runs each (load average $(cut -d' ' -f1-3 /proc/loadavg))"
hyperfine -N -w 3 -r "$runs" --export-json "$out/hyperfine.json" "${cmds[@]}" >"$out/hyperfine.txt" 2>&1
{
  echo "# bench/run-startup.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# java: $(java -version 2>&1 | head -1)${java25:+; Java 25: $java25}"
  printf '%-8s %-8s %-8s %-9s %s\n' min_ms med_ms mean_ms cpu_ms command
  # hyperfine's user and system are the means over the runs
  python3 - "$out/hyperfine.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%-8.0f %-8.0f %-8.0f %-9.0f %s" % (r["min"] * 1e3, r["median"] * 1e3, r["mean"] * 1e3,
          (r["user"] + r["system"]) * 1e3, r["command"]))
PY
} | tee "$out/summary.txt"
log "results in $out"
