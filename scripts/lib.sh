# shellcheck shell=bash
# Functions the scripts share (scripts/*.sh, bench/run-e2e.sh): source it after defining log(),
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets nothing and runs nothing by itself.

# usage: prints the script's help (its opening comment) and exits with status 2
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
}

# services_main ARG...: the command line of a script that runs services (scripts/proxies.sh,
# scripts/servers.sh), which defines start, stop and print_env: start, stop, env (prints the
# environment again), anything else the help
services_main() {
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    *) usage ;;
  esac
}

# as_root COMMAND...: runs it as root: directly when root, else through sudo (no password prompt)
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    log "need root (or sudo) to run: $*"
    return 1
  fi
}

# apt_install PACKAGE...: installs them with apt-get (updating the package lists only when they do
# not know a package yet); returns apt-get's status. The packages' own services are kept from
# starting where no init system runs them: a temporary policy-rc.d, only if the system has none.
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing $* and no apt-get: install them yourself"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local rc=0
  if ! apt-cache policy "$@" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq || rc=$?
    [ "$rc" -eq 0 ] || { log "apt-get update failed ($rc)"; return "$rc"; }
  fi
  local policy=/usr/sbin/policy-rc.d made=0
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
    --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "$@" >/dev/null || rc=$?
  if [ "$made" -eq 1 ]; then rm -f "$policy"; fi
  [ "$rc" -eq 0 ] || log "apt-get install $* failed ($rc)"
  return "$rc"
}

# nginx_bin: prints the path of the nginx binary; fails when there is none
nginx_bin() {
  command -v nginx 2>/dev/null && return 0
  local b
  for b in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
    if [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}

# nginx_user_line: as root, the nginx.conf line that runs the workers as nobody; else nothing
nginx_user_line() {
  [ "$(id -u)" -eq 0 ] || return 0
  local group=nogroup
  getent group nogroup >/dev/null 2>&1 || group=nobody
  echo "user nobody $group;"
}

# nginx_temp_paths DIR: the nginx.conf lines (indented for the http block) that keep nginx's
# temporary files in DIR, never under /var
nginx_temp_paths() {
  local kind
  for kind in client_body proxy fastcgi uwsgi scgi; do
    echo "  ${kind}_temp_path $1/$kind;"
  done
}

# nginx_ssl_lines DIR CACHE: the nginx.conf lines (indented for a server block) that serve the
# certificate scripts/nginx-tls.sh makes in DIR (server.crt, server.key) over TLS 1.2 and 1.3,
# with a session cache CACHE (NAME:SIZE) whose sessions live 10 minutes
nginx_ssl_lines() {
  echo "    ssl_certificate $1/server.crt;"
  echo "    ssl_certificate_key $1/server.key;"
  echo "    ssl_protocols TLSv1.2 TLSv1.3;"
  echo "    ssl_session_cache shared:$2;"
  echo "    ssl_session_timeout 10m;"
}

# listening HOST PORT: whether something accepts TCP connections there
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_listening HOST PORT [STEP]: waits until something accepts connections there (100 tries,
# STEP seconds apart, 0.1 by default); fails when nothing does
wait_listening() {
  local _
  for _ in $(seq 1 100); do
    listening "$1" "$2" && return 0
    sleep "${3:-0.1}"
  done
  return 1
}

# wait_exit PID [STEP]: waits until process PID is gone (100 tries, STEP seconds apart, 0.1 by
# default); fails when it still runs
wait_exit() {
  local _
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep "${2:-0.1}"
  done
  return 1
}

# kill_pid_file FILE...: sends SIGTERM to the process each FILE names (if there is a FILE) and
# removes the FILE
kill_pid_file() {
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    fi
  done
}
