#!/usr/bin/env bash
# A real nginx on 127.0.0.1 for NginxTlsTest: http on 18080, https on 18443, keep-alive 65 s,
# with a CA and a server certificate (SAN DNS:localhost, IP:127.0.0.1) made here by openssl.
#
#   scripts/nginx-tls.sh start   installs nginx if missing (apt-get), writes the config and
#                                certificates into $KEEPALIVE_NGINX_DIR, starts nginx, checks it
#                                answers, and prints the CA file's path
#   scripts/nginx-tls.sh stop    stops that nginx (the directory stays for inspection)
#   scripts/nginx-tls.sh ca      prints the CA file's path
#   scripts/nginx-tls.sh certs   only writes a new CA (ca.crt) and server certificate
#                                (server.crt, server.key) into $KEEPALIVE_NGINX_DIR, for an
#                                nginx configured elsewhere (bench/run-e2e.sh)
#
# Then: KEEPALIVE_NGINX=1 KEEPALIVE_NGINX_CA=<the CA path> ./mvnw -B verify
#
# Environment: KEEPALIVE_NGINX_DIR (default /tmp/keepalive-nginx), KEEPALIVE_NGINX_HTTP_PORT
# (18080), KEEPALIVE_NGINX_HTTPS_PORT (18443). Runs as root or not: as root the workers run as
# nobody; every path nginx writes (pid, logs, temp) is in the directory, never under /var.
set -euo pipefail

DIR="${KEEPALIVE_NGINX_DIR:-/tmp/keepalive-nginx}"
HTTP_PORT="${KEEPALIVE_NGINX_HTTP_PORT:-18080}"
HTTPS_PORT="${KEEPALIVE_NGINX_HTTPS_PORT:-18443}"
CA="$DIR/ca.crt"
PID="$DIR/nginx.pid"

log() { echo "nginx-tls: $*" >&2; }

nginx_bin() {
  command -v nginx 2>/dev/null && return 0
  for b in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
    if [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}

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

install_nginx() {
  if nginx_bin >/dev/null; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "nginx is not installed and there is no apt-get: install nginx yourself"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # update the package lists only when they do not know nginx yet
  local policy_out
  policy_out="$(apt-cache policy nginx 2>/dev/null || true)"
  if ! grep -q 'Candidate: [0-9]' <<<"$policy_out"; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  # keep the package's own service from starting (port 80) where no init system runs it:
  # a temporary policy-rc.d, only if the system has none
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  log "apt-get install nginx"
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx >/dev/null || rc=$?
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
  if [ "$rc" -ne 0 ]; then
    log "apt-get install nginx failed ($rc)"
    return "$rc"
  fi
  nginx_bin >/dev/null
}

make_certificates() {
  local ext="$DIR/server.ext"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$DIR/ca.key" -out "$CA" -days 30 -subj "/CN=keepalive nginx test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$DIR/server.key" -out "$DIR/server.csr" -subj "/CN=localhost" 2>/dev/null
  cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
  openssl x509 -req -in "$DIR/server.csr" -CA "$CA" -CAkey "$DIR/ca.key" -CAcreateserial \
    -out "$DIR/server.crt" -days 30 -extfile "$ext" 2>/dev/null
  chmod 600 "$DIR/ca.key" "$DIR/server.key"
  chmod 644 "$CA" "$DIR/server.crt"
}

write_config() {
  local user_line=""
  if [ "$(id -u)" -eq 0 ]; then
    local group=nogroup
    getent group nogroup >/dev/null 2>&1 || group=nobody
    user_line="user nobody $group;"
  fi
  mkdir -p "$DIR/temp"
  cat >"$DIR/nginx.conf" <<EOF
# written by scripts/nginx-tls.sh for NginxTlsTest
$user_line
worker_processes 1;
pid $PID;
error_log $DIR/error.log warn;

events {
  worker_connections 128;
}

http {
  access_log $DIR/access.log;
  client_body_temp_path $DIR/temp/client_body;
  proxy_temp_path $DIR/temp/proxy;
  fastcgi_temp_path $DIR/temp/fastcgi;
  uwsgi_temp_path $DIR/temp/uwsgi;
  scgi_temp_path $DIR/temp/scgi;
  default_type text/plain;
  keepalive_timeout 65s;
  keepalive_requests 1000;

  server {
    listen 127.0.0.1:$HTTP_PORT;
    listen 127.0.0.1:$HTTPS_PORT ssl;
    server_name localhost;

    ssl_certificate $DIR/server.crt;
    ssl_certificate_key $DIR/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:keepalive:1m;
    ssl_session_timeout 10m;

    location = /session {
      return 200 "reused=\$ssl_session_reused protocol=\$ssl_protocol\n";
    }
    location / {
      return 200 "keepalive nginx ok\n";
    }
  }
}
EOF
}

running() {
  [ -s "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null
}

stop() {
  local bin
  if running; then
    local pid
    pid="$(cat "$PID")"
    if bin="$(nginx_bin)"; then
      "$bin" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" -s quit 2>/dev/null \
        || kill "$pid" 2>/dev/null || true
    else
      kill "$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped nginx (pid $pid)"
  else
    log "no nginx running from $DIR"
  fi
  rm -f "$PID"
}

check() {
  local url="https://localhost:$HTTPS_PORT/"
  for _ in $(seq 1 50); do
    if command -v curl >/dev/null 2>&1; then
      if curl -fsS --cacert "$CA" --resolve "localhost:$HTTPS_PORT:127.0.0.1" "$url" >/dev/null 2>&1 \
          && curl -fsS "http://127.0.0.1:$HTTP_PORT/" >/dev/null 2>&1; then
        return 0
      fi
    elif (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "nginx does not answer on 127.0.0.1:$HTTPS_PORT; see $DIR/error.log"
  return 1
}

start() {
  install_nginx
  local bin
  bin="$(nginx_bin)"
  mkdir -p "$DIR"
  stop >/dev/null 2>&1 || true
  chmod 755 "$DIR"
  make_certificates
  write_config
  "$bin" -t -q -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
  "$bin" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
  check
  log "nginx $("$bin" -v 2>&1 | sed 's/^nginx version: //') on http://127.0.0.1:$HTTP_PORT and https://127.0.0.1:$HTTPS_PORT (pid $(cat "$PID"))"
  log "CA file: $CA"
  echo "KEEPALIVE_NGINX_CA=$CA"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  ca) echo "$CA" ;;
  certs) mkdir -p "$DIR" && make_certificates ;;
  *)
    echo "usage: $0 start|stop|ca|certs" >&2
    exit 2
    ;;
esac
