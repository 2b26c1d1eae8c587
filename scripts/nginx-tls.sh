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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_nginx() {
  nginx_bin >/dev/null && return 0
  apt_install nginx || return
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
  mkdir -p "$DIR/temp"
  cat >"$DIR/nginx.conf" <<EOF
# written by scripts/nginx-tls.sh for NginxTlsTest
$(nginx_user_line)
worker_processes 1;
pid $PID;
error_log $DIR/error.log warn;

events {
  worker_connections 128;
}

http {
  access_log $DIR/access.log;
$(nginx_temp_paths "$DIR/temp")
  default_type text/plain;
  keepalive_timeout 65s;
  keepalive_requests 1000;

  server {
    listen 127.0.0.1:$HTTP_PORT;
    listen 127.0.0.1:$HTTPS_PORT ssl;
    server_name localhost;

$(nginx_ssl_lines "$DIR" keepalive:1m)

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
    wait_exit "$pid" || kill -9 "$pid" 2>/dev/null || true
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
    elif listening 127.0.0.1 "$HTTPS_PORT"; then
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
