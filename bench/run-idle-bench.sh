#!/usr/bin/env bash
# Holds 10,000 idle pooled connections in one ConnectionManager (100,000 with --scale) and
# measures (issues 5 and 17):
#   - heap per idle connection (class histogram after a full GC, minus the manager with none),
#     and which classes the bytes are in; target <= 1 KiB plain, <= 4 KiB https;
#   - the event loop's pauses while all of them expire by keep-alive at once (an allocate of
#     another key every 1 ms, timed); target: none over 10 ms; and that every socket was closed
#     and its descriptor released.
#   - the same while all of them reach their maximum lifetime (maxLifetime, no jitter, keep-alive
#     1 h; issue 12): they come due over the time the opening took; target: none over 10 ms.
# The program is dev.keepalive.tools.idle.IdleHoldBenchmark (module tools/, built here into
# tools/target/keepalive-tools.jar with what it needs); the server ends live in a child JVM
# (dev.keepalive.bench.Sink) on 127.0.0.1. Writes the log with
# the summary (PASS/MISS per target) to bench/results/idle-<stamp>.txt. 15-30 s plus the build
# (most of it the 1,000 https handshakes; `-- --tls 0` skips them).
#
#   - the loop's pauses while the connections are being opened (connects completing: churn).
#
# Usage: bench/run-idle-bench.sh [--no-build] [--jfr] [--pin CPUS] [--scale] [-- PROGRAM ARGS]
#   --scale      issue 17's size: 100,000 plain connections as 1,000 keys of 100 over 1,000
#                loopback addresses (127.1.0.1, 127.1.0.2, ...; the sink listens on each),
#                100,000 https connections (5 sink listeners of 20,000), keep-alive 5 s,
#                lifetime 60 s: the program arguments --connections 100000 --hosts 1000
#                --addresses 1000 --tls 100000 --keep-alive 5s --lifetime 60s, before any given
#                after --. Needs root (or enough limits already): see below. Several minutes
#                (most of it the https handshakes; `-- --tls 10000` makes it shorter).
#   --no-build   use tools/target/keepalive-tools.jar as it is (also BENCH_NO_BUILD=1)
#   --jfr        record a JFR profile (1 ms method sampling) to bench/results/idle-<stamp>.jfr and
#                print the loop thread's hot methods next to it (idle-<stamp>-hot-loop.txt)
#   --pin CPUS   run under `taskset -c CPUS`
#   -- ARGS      passed to IdleHoldBenchmark: --connections N (10000), --hosts N (100 keys),
#                --keep-alive 3s, --tick 1ms, --tls N (idle https connections measured too;
#                1000, 0 to skip), --top N (classes listed, 15), --lifetime 6s,
#                --addresses N (destination addresses the keys are spread over; 1: 127.0.0.1),
#                --only heap|expiry|lifetime
# BENCH_JVM_ARGS adds JVM options, e.g. BENCH_JVM_ARGS=-Ddev.keepalive.expireBatch=1000000 (expire
# every due socket in one loop turn, as before the batches).
# Needs about connections + 500 descriptors: the soft and hard `ulimit -n` are raised to 30000
# (IDLE_BENCH_NOFILE), or to the largest of --connections and --tls plus 10,000; if that is
# refused, the hard limit is used when it is enough, else it fails. As root, when more than 20,000
# connections are asked for, it also raises fs.nr_open (to the descriptor limit, if lower) and
# widens net.ipv4.ip_local_port_range to 10000-65535 (more client ports per destination; the
# https phase has 20,000 connections per sink listener), and puts both back as they were when it
# ends.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
jar="$root/tools/target/keepalive-tools.jar"
args=()
scale=0
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --jfr) jfr=1 ;;
    --pin) shift; pin="${1:?--pin needs a CPU list, e.g. 1}" ;;
    --scale) scale=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; args=("$@"); break ;;
    *) echo "unknown option $1 (program arguments go after --)" >&2; exit 2 ;;
  esac
  shift
done

# 10,000 client sockets here, 10,000 server ends in the sink (a child: same limit)
if ((scale)); then
  args=(--connections 100000 --hosts 1000 --addresses 1000 --tls 100000 --keep-alive 5s
    --lifetime 60s "${args[@]}")
fi
most=10000
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == --connections || "${args[i]}" == --tls ]] && ((i + 1 < ${#args[@]})); then
    if ((args[i + 1] > most)); then most=${args[i + 1]}; fi
  fi
done
need=$((most + 1000))
want="${IDLE_BENCH_NOFILE:-$((most + 10000 > 30000 ? most + 10000 : 30000))}"

# more than 20,000: as root, raise the kernel's limits for this run and put them back at the end
restore=() # "file value" pairs under /proc/sys
restore_limits() {
  local kv
  for kv in "${restore[@]}"; do
    echo "${kv#* }" >"/proc/sys/${kv%% *}" || echo "run-idle-bench: could not restore ${kv%% *}" >&2
  done
  restore=()
}
if ((most > 20000)) && [[ "$(id -u)" -eq 0 ]]; then
  nr_open="$(cat /proc/sys/fs/nr_open)"
  if ((nr_open < want)); then
    restore+=("fs/nr_open $nr_open")
    echo "$want" >/proc/sys/fs/nr_open
  fi
  range="$(tr -s '\t ' ' ' </proc/sys/net/ipv4/ip_local_port_range)"
  if [[ "$range" != "10000 65535" ]]; then
    restore+=("net/ipv4/ip_local_port_range $range")
    echo "10000 65535" >/proc/sys/net/ipv4/ip_local_port_range
  fi
  echo "run-idle-bench: for this run fs.nr_open $(cat /proc/sys/fs/nr_open)," \
    "net.ipv4.ip_local_port_range $(tr -s '\t ' ' ' </proc/sys/net/ipv4/ip_local_port_range)" \
    "(put back at the end)" >&2
  ulimit -Hn "$want" 2>/dev/null || true
fi
trap restore_limits EXIT
if ! ulimit -n "$want" 2>/dev/null; then
  hard="$(ulimit -Hn)"
  if [[ "$hard" != unlimited ]] && ((hard < need)); then
    echo "run-idle-bench: cannot raise ulimit -n to $want (hard limit $hard, need at least $need):" \
      "raise the hard limit (e.g. /etc/security/limits.conf, or run as root; a root without" \
      "CAP_SYS_RESOURCE, as in some containers, cannot raise it either)" >&2
    exit 1
  fi
  ulimit -n "$hard"
  echo "run-idle-bench: ulimit -n $want refused; using the hard limit $hard" >&2
fi

if ((build)); then
  (cd "$root" && ./mvnw -B -q -pl tools -am package -DskipTests)
fi
private_copy "$jar" keepalive-idle-bench
trap 'rm -f "$run_jar"; restore_limits' EXIT # private_copy's trap, and the limits
bench_java "$pin"

mkdir -p "$results"
stamp="$(date +%Y%m%d-%H%M%S)"
txt="$results/idle-$stamp.txt"
if ((most > 20000)); then
  jvm=(-Xms2g -Xmx2g -XX:+UseG1GC) # 100,000 https connections: about 1 GB
else
  jvm=(-Xms512m -Xmx512m -XX:+UseG1GC)
fi
if [[ -n "${BENCH_JVM_ARGS:-}" ]]; then
  read -r -a more <<<"$BENCH_JVM_ARGS"
  jvm+=("${more[@]}")
fi
if ((jfr)); then
  jvm+=("-XX:StartFlightRecording=filename=$results/idle-$stamp.jfr,settings=$here/jfr/sampling-1ms.jfc")
fi

run_header "${run[*]} ${jvm[*]} -cp $jar dev.keepalive.tools.idle.IdleHoldBenchmark ${args[*]}" \
  | tee "$txt"

set +e
"${run[@]}" "${jvm[@]}" -cp "$run_jar" dev.keepalive.tools.idle.IdleHoldBenchmark "${args[@]}" 2>&1 \
  | tee -a "$txt"
status=${PIPESTATUS[0]}
set -e
echo "# load average after: $(cat /proc/loadavg 2>/dev/null)" | tee -a "$txt"

if ((jfr)) && [[ -f "$results/idle-$stamp.jfr" ]]; then
  "$java" -cp "$run_jar" dev.keepalive.tools.JfrHot "$results/idle-$stamp.jfr" keepalive-loop 25 \
    >"$results/idle-$stamp-hot-loop.txt" || true
  echo "jfr: $results/idle-$stamp.jfr -> $results/idle-$stamp-hot-loop.txt" | tee -a "$txt"
fi
echo "results: $txt"
exit "$status"
