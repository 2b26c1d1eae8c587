# Sourced by run-pool-bench.sh and run-idle-bench.sh: what both do around a run.

# Where things are, and the options both have (--no-build, --jfr, --pin), with their defaults.
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
results="$here/results"
build=1
[[ "${BENCH_NO_BUILD:-0}" == 1 ]] && build=0
jfr=0
pin="${BENCH_PIN:-}"

# bench_java [CPUS]: sets java (JAVA_HOME's, else the one on the PATH) and run, the command that
# starts it: java, or `taskset -c CPUS java` when CPUS are given.
bench_java() {
  java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  run=("$java")
  if [[ -n "${1:-}" ]]; then run=(taskset -c "$1" "$java"); fi
}

# private_copy JAR NAME: sets run_jar to a copy of JAR in TMPDIR, removed at exit; the run uses
# the copy, since a build of the repo meanwhile (./mvnw verify) rewrites target/.
private_copy() {
  [[ -f "$1" ]] || { echo "no $1: build first (drop --no-build)" >&2; exit 1; }
  run_jar="$(mktemp "${TMPDIR:-/tmp}/$2.XXXXXX.jar")"
  trap 'rm -f "$run_jar"' EXIT
  cp "$1" "$run_jar"
}

# run_header COMMAND...: the first lines of a run's log: date, machine, JDK, commit (dirty or
# not), descriptor limit, load average before, and the command.
run_header() {
  echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cpus, $("$java" -version 2>&1 | head -1)"
  echo "# git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)'); ulimit -n $(ulimit -n)"
  echo "# load average before: $(cat /proc/loadavg 2>/dev/null)"
  echo "# $*"
}
