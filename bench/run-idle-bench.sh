#!/usr/bin/env bash
# Holds 10,000 idle pooled connections in one ConnectionManager and measures (issue 5):
#   - heap per idle connection (class histogram after a full GC, minus the manager with none),
#     and which classes the bytes are in; target <= 2 KiB;
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
# Usage: bench/run-idle-bench.sh [--no-build] [--jfr] [--pin CPUS] [-- PROGRAM ARGS]
#   --no-build   use tools/target/keepalive-tools.jar as it is (also BENCH_NO_BUILD=1)
#   --jfr        record a JFR profile (1 ms method sampling) to bench/results/idle-<stamp>.jfr and
#                print the loop thread's hot methods next to it (idle-<stamp>-hot-loop.txt)
#   --pin CPUS   run under `taskset -c CPUS`
#   -- ARGS      passed to IdleHoldBenchmark: --connections N (10000), --hosts N (100 keys),
#                --keep-alive 3s, --tick 1ms, --tls N (idle https connections measured too;
#                1000, 0 to skip), --top N (classes listed, 15), --lifetime 6s,
#                --only heap|expiry|lifetime
# BENCH_JVM_ARGS adds JVM options, e.g. BENCH_JVM_ARGS=-Ddev.keepalive.expireBatch=1000000 (expire
# every due socket in one loop turn, as before the batches).
# Needs about connections + 500 descriptors: the soft and hard `ulimit -n` are raised to 30000
# (IDLE_BENCH_NOFILE); if that is refused, the hard limit is used when it is enough, else it fails.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
jar="$root/tools/target/keepalive-tools.jar"
args=()
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --jfr) jfr=1 ;;
    --pin) shift; pin="${1:?--pin needs a CPU list, e.g. 1}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; args=("$@"); break ;;
    *) echo "unknown option $1 (program arguments go after --)" >&2; exit 2 ;;
  esac
  shift
done

# 10,000 client sockets here, 10,000 server ends in the sink (a child: same limit)
want="${IDLE_BENCH_NOFILE:-30000}"
need=11000
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == --connections ]] && ((i + 1 < ${#args[@]})); then
    need=$((args[i + 1] + 1000))
  fi
done
if ! ulimit -n "$want" 2>/dev/null; then
  hard="$(ulimit -Hn)"
  if [[ "$hard" != unlimited ]] && ((hard < need)); then
    echo "run-idle-bench: cannot raise ulimit -n to $want (hard limit $hard, need at least $need):" \
      "raise the hard limit (e.g. /etc/security/limits.conf, or run as root)" >&2
    exit 1
  fi
  ulimit -n "$hard"
  echo "run-idle-bench: ulimit -n $want refused; using the hard limit $hard" >&2
fi

if ((build)); then
  (cd "$root" && ./mvnw -B -q -pl tools -am package -DskipTests)
fi
private_copy "$jar" keepalive-idle-bench
bench_java "$pin"

mkdir -p "$results"
stamp="$(date +%Y%m%d-%H%M%S)"
txt="$results/idle-$stamp.txt"
jvm=(-Xms512m -Xmx512m -XX:+UseG1GC)
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
