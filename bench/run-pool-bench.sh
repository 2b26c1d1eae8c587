#!/usr/bin/env bash
# Builds the benchmarks jar and runs the keepalive pool benchmarks (JMH), writing
# bench/results/<stamp>.json (JMH JSON), <stamp>.txt (the whole log) and <stamp>-summary.txt
# (cycles/s per benchmark and parameter, cost ratios, targets; when peer benchmarks ran, the
# comparison with httpcore5's StrictConnPool/LaxConnPool and Netty's FixedChannelPool).
#
# Usage: bench/run-pool-bench.sh [--quick] [--no-build] [--jfr] [--wait-idle] [--pin CPUS] [REGEX ...]
#                                [-- JMH ARGS]
#   REGEX        which benchmarks (JMH include regexes); also BENCH="regex ..." in the environment.
#                Default: all. E.g. 'loopCached$', 'ThreadCached', 'newConnection', 'TlsBenchmark'
#                (the TLS benchmarks alone: pooled http vs https, new https resumed vs full),
#                'ThreadCached peers' (keepalive from plain threads vs the peers: the summary's
#                peer section and targets), 'peers' (the peers alone), 'peers.Netty'.
#   --quick      1 warmup + 2 measurement iterations of 1 s (iteration speed, rougher figures);
#                also BENCH_QUICK=1.
#   --no-build   use the jar as it is (also BENCH_NO_BUILD=1).
#   --jfr        record a JFR profile per benchmark (1 ms method sampling, bench/jfr/sampling-1ms.jfc)
#                into bench/results/<stamp>-jfr/, with the hot methods of the loop thread and of
#                the benchmark thread next to each recording (hot-loop.txt, hot-worker.txt, by
#                dev.keepalive.tools.JfrHot: tools/target/keepalive-tools.jar, built too).
#   --wait-idle  first wait (up to 10 min) until the 1-minute load average is below 0.5: other
#                builds on a 2-core machine skew every figure (also BENCH_WAIT_IDLE=1).
#   --pin CPUS   run everything (JMH, the forked JVM, the sink) under `taskset -c CPUS`, e.g.
#                --pin 1: on one CPU a request/response round trip costs the CPU time of both
#                sides and no cross-CPU wake-ups, so the TLS figures vary far less (also BENCH_PIN).
#   -- ARGS      passed to JMH as they are, e.g. -- -p keys=1,10000 -f 2
# Full run (39 configurations; each 1 fork x 3 warmup + 5 measurement 1 s iterations, TlsBenchmark
# 6 warmup iterations, of 2 s for newTlsRequest): about 7 min 30 s plus the build; TlsBenchmark
# alone about 90 s; 'ThreadCached peers' (28 configurations) about 4 min 30 s, 'peers' alone about
# 3 min 30 s. --quick is too short for the TLS handshake code to be compiled: its figures are low.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
jar="$here/target/benchmarks.jar"
quick="${BENCH_QUICK:-0}"
wait_idle="${BENCH_WAIT_IDLE:-0}"
filters=()
extra=()
while (($#)); do
  case "$1" in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --jfr) jfr=1 ;;
    --pin) shift; pin="${1:?--pin needs a CPU list, e.g. 1}" ;;
    --wait-idle) wait_idle=1 ;;
    --) shift; extra=("$@"); break ;;
    *) filters+=("$1") ;;
  esac
  shift
done
if ((${#filters[@]} == 0)) && [[ -n "${BENCH:-}" ]]; then
  read -r -a filters <<<"$BENCH"
fi

tools_jar="$root/tools/target/keepalive-tools.jar"
if ((build)); then
  modules=bench
  ((jfr)) && modules=bench,tools # the JFR reader
  (cd "$root" && ./mvnw -B -q -pl "$modules" -am package -DskipTests)
fi
if ((jfr)) && [[ ! -f "$tools_jar" ]]; then
  echo "no $tools_jar for --jfr: build first (drop --no-build)" >&2
  exit 1
fi
private_copy "$jar" keepalive-benchmarks

# keys=10000 holds 10,000 client sockets in the benchmark JVM (the sink is another process):
# raise the soft fd limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 12000 )); then
  echo "warning: ulimit -n is $(ulimit -n); keys=10000 (loopCached, threadCached, peers)" \
    "needs about 10,100" >&2
fi

load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0; }
if ((wait_idle)); then
  for ((i = 0; i < 120; i++)); do
    awk -v l="$(load)" 'BEGIN { exit !(l < 0.5) }' && break
    ((i == 0)) && echo "waiting for the machine to go idle (load $(load))..." >&2
    sleep 5
  done
fi

bench_java "$pin"

mkdir -p "$results"
stamp="$(date +%Y%m%d-%H%M%S)"
json="$results/$stamp.json"
txt="$results/$stamp.txt"
summary="$results/$stamp-summary.txt"

jmh=(-rf json -rff "$json")
((quick)) && jmh+=(-wi 1 -i 2 -w 1s -r 1s)
if ((jfr)); then
  mkdir -p "$results/$stamp-jfr"
  jmh+=(-prof "jfr:dir=$results/$stamp-jfr;configName=$here/jfr/sampling-1ms.jfc")
fi

run_header "${run[*]} -Dsummary.file=$summary -cp $jar dev.keepalive.bench.BenchMain" \
  "${jmh[*]} ${extra[*]} ${filters[*]}" | tee "$txt"

set +e
"${run[@]}" -Dsummary.file="$summary" -cp "$run_jar" dev.keepalive.bench.BenchMain \
  "${jmh[@]}" "${extra[@]}" "${filters[@]}" 2>&1 | tee -a "$txt"
status=${PIPESTATUS[0]}
set -e
# JMH reports a benchmark that threw (e.g. a failed self-check) and goes on with the others.
if grep -q '<failure>' "$txt"; then
  echo "# FAILED: a benchmark threw (see <failure> in $txt); its figures are missing" | tee -a "$txt"
  ((status == 0)) && status=1
fi
echo "# load average after: $(cat /proc/loadavg 2>/dev/null)" | tee -a "$txt"

# The peer comparison (keepalive's ThreadCachedBenchmark vs httpcore5's and Netty's pools), when
# a peer benchmark ran: appended to the summary and the log.
if [[ -s "$json" ]] && grep -q '"dev.keepalive.bench.peers.' "$json"; then
  if ! "$java" -cp "$run_jar" dev.keepalive.bench.peers.PeerSummary "$json" \
      | tee -a "$txt" "$summary"; then
    echo "# FAILED: the peer summary" | tee -a "$txt"
    status=1
  fi
fi

if ((jfr)); then
  # hot methods of the event-loop thread and of the benchmark thread, per recording
  while IFS= read -r rec; do
    dir="$(dirname "$rec")"
    for t in keepalive-loop:hot-loop jmh-worker:hot-worker; do
      "$java" -cp "$tools_jar" dev.keepalive.tools.JfrHot "$rec" "${t%%:*}" 25 >"$dir/${t#*:}.txt" || true
    done
    echo "jfr: $rec -> $dir/hot-loop.txt, $dir/hot-worker.txt" | tee -a "$txt"
  done < <(find "$results/$stamp-jfr" -name '*.jfr' | sort)
fi

ln -sfn "$(basename "$json")" "$results/latest.json"
ln -sfn "$(basename "$txt")" "$results/latest.txt"
[[ -f "$summary" ]] && ln -sfn "$(basename "$summary")" "$results/latest-summary.txt"
echo
echo "results: $json, $txt${summary:+, $summary}"
exit "$status"
