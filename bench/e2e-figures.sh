#!/usr/bin/env bash
# Prints the median requests/s and peak RSS per case and client of one bench/run-e2e.sh results
# directory, and each client's ratio to wrk's median in the same case: the figures of the
# "Cold start", "-c 10000" and "https at c=64" sections of docs/BENCHMARKS.md, for runs whose
# clients the e2e report does not chart (--launcher, --cold, -c 10000).
#   bench/e2e-figures.sh bench/results/e2e-<stamp>
#   bench/e2e-figures.sh --help
# Needs only bash, awk and sort. The RSS column is GNU time's peak (runs/*.out.rss, kB), "-" when
# the run did not record it; "CPU s" the client's user + system CPU seconds for the whole run
# (start-up and warm-up included) and "us/req" that over the requests measured: unlike req/s,
# neither depends much on how busy the machine was, so they show what a cold start costs.
set -euo pipefail

log() { echo "e2e-figures: $*" >&2; }
# usage
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

[[ $# -eq 1 && $1 != -h && $1 != --help ]] || usage
dir="$1"
[[ -f $dir/runs.tsv ]] || { log "no $dir/runs.tsv"; exit 1; }

# one line per run: proto body c client rps rss_kB cpu_s requests, rounds in order
while IFS=$'\t' read -r proto body c round order client file load1 rc ccpu rest; do
  [[ $proto == \#* ]] && continue
  rps="$(grep -o -E '"requestsPerSecond": ?[0-9.]+|Requests/sec: *[0-9.]+|Requests per second: *[0-9.]+' \
    "$dir/$file" 2>/dev/null | grep -o -E '[0-9.]+$' | head -1 || true)"
  rss="$(cat "$dir/$file.rss" 2>/dev/null | tail -1 || true)"
  [[ $rc == 0 && -n $rps ]] || rps=NaN
  # requests measured: keepalive's JSON, wrk's and ab's summary lines
  reqs="$(grep -o -E '"requests": ?[0-9]+|[0-9]+ requests in|Complete requests: *[0-9]+' \
    "$dir/$file" 2>/dev/null | grep -o -E '[0-9]+' | head -1 || true)"
  echo "$proto $body $c $client $rps ${rss:--} ${ccpu:--1} ${reqs:-0}"
done <"$dir/runs.tsv" | sort -s -k1,1 -k2,2 -k3,3n -k4,4 | awk '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function flush(   m, r) {
    if (key == "") return
    m = median(v, n); r = nr ? median(s, nr) : -1
    med[key] = m; rssm[key] = r; order[++k] = key
    cpum[key] = nc ? median(cp, nc) : -1; usm[key] = nu ? median(us, nu) : -1
  }
  { cur = $1 " " $2 " " $3 " " $4
    if (cur != key) { flush(); key = cur; n = 0; nr = 0; nc = 0; nu = 0; runs[cur] = "" }
    if ($5 != "NaN") v[++n] = $5 + 0
    if ($6 != "-") s[++nr] = $6 / 1024
    if ($7 >= 0) { cp[++nc] = $7 + 0; if ($8 > 0) us[++nu] = $7 * 1e6 / $8 }
    runs[cur] = runs[cur] (runs[cur] == "" ? "" : " ") sprintf("%.0f", $5) }
  END {
    flush()
    printf "%-6s %-5s %6s %-10s %10s %8s %9s %7s %7s  %s\n", "proto", "body", "c", "client", "req/s", "x wrk", "RSS MiB", "CPU s", "us/req", "runs (req/s)"
    for (i = 1; i <= k; i++) {
      split(order[i], f, " ")
      w = f[1] " " f[2] " " f[3] " wrk"
      ratio = (w in med && med[w] > 0) ? sprintf("%.2f", med[order[i]] / med[w]) : "-"
      printf "%-6s %-5s %6s %-10s %10.0f %8s %9s %7s %7s  %s\n", f[1], f[2], f[3], f[4], med[order[i]], ratio,
        rssm[order[i]] < 0 ? "-" : sprintf("%.0f", rssm[order[i]]),
        cpum[order[i]] < 0 ? "-" : sprintf("%.2f", cpum[order[i]]),
        usm[order[i]] < 0 ? "-" : sprintf("%.0f", usm[order[i]]), runs[order[i]]
    }
  }'
