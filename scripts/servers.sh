#!/usr/bin/env bash
# Real HTTP/1.1 servers on 127.0.0.1 for RealServersTest (keepalive get and bench against each):
# nginx, apache2, lighttpd, caddy, h2o, haproxy (in front of the node server), a node http server
# and python's http.server (HTTP/1.1), all serving one document root: /hello.txt (21 bytes),
# /big.bin (1,000,000 bytes, byte i = i mod 251) and, on node, haproxy and python, /chunked (the
# same 1,000,000 bytes sent chunked). Installs what is missing with apt-get (node: the nodejs
# package). Every file they write is in $KEEPALIVE_SERVERS_DIR.
#
#   scripts/servers.sh start   installs, configures and starts them, waits until each answers,
#                              and prints the environment the test reads
#                              (eval "$(scripts/servers.sh start)")
#   scripts/servers.sh stop    stops them
#   scripts/servers.sh env     prints that environment again
#
# nginx also listens on the Unix domain socket $KEEPALIVE_SERVERS_DIR/run/nginx.sock.
# Ports: nginx 19081, apache2 19082, lighttpd 19083, caddy 19084, h2o 19085, haproxy 19086,
# node 19087, python 19088. A server that cannot be installed or started is left out (said on
# stderr), the others still run. Environment: KEEPALIVE_SERVERS_DIR (default
# /tmp/keepalive-servers).
set -euo pipefail

DIR="${KEEPALIVE_SERVERS_DIR:-/tmp/keepalive-servers}"
WWW="$DIR/www"
# logs and pid files of the servers that drop root before writing them
RUN="$DIR/run"
declare -A PORT=([nginx]=19081 [apache2]=19082 [lighttpd]=19083 [caddy]=19084 [h2o]=19085
  [haproxy]=19086 [node]=19087 [python]=19088)
ORDER=(nginx apache2 lighttpd caddy h2o haproxy node python)
declare -A PACKAGE=([nginx]=nginx [apache2]=apache2 [lighttpd]=lighttpd [caddy]=caddy [h2o]=h2o
  [haproxy]=haproxy [node]=nodejs [python]=python3)
declare -A BINARY=([nginx]=nginx [apache2]=apache2 [lighttpd]=lighttpd [caddy]=caddy [h2o]=h2o
  [haproxy]=haproxy [node]=node [python]=python3)

log() { echo "servers: $*" >&2; }
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

found() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

install_missing() {
  local missing=() s
  for s in "${ORDER[@]}"; do
    found "${BINARY[$s]}" || missing+=("${PACKAGE[$s]}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${missing[*]}: need root and apt-get to install them"
    return 0
  fi
  apt_install "${missing[@]}" || true
  return 0
}

content() {
  mkdir -p "$WWW"
  printf 'hello from keepalive\n' >"$WWW/hello.txt"
  python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(1000000)))' \
    >"$WWW/big.bin"
  chmod -R a+rX "$DIR"
}

conf_nginx() {
  cat >"$DIR/nginx.conf" <<CONF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
$([ "$(id -u)" -eq 0 ] && echo "user nobody nogroup;")
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-tmp;
  proxy_temp_path $DIR/nginx-tmp;
  fastcgi_temp_path $DIR/nginx-tmp;
  uwsgi_temp_path $DIR/nginx-tmp;
  scgi_temp_path $DIR/nginx-tmp;
  keepalive_timeout 65s;
  keepalive_requests 100000;
  types { text/plain txt; application/octet-stream bin; }
  server { listen 127.0.0.1:${PORT[nginx]}; root $WWW; }
  server { listen unix:$RUN/nginx.sock; root $WWW; }
}
CONF
  mkdir -p "$DIR/nginx-tmp"
  chmod 777 "$DIR/nginx-tmp"
}

start_nginx() {
  conf_nginx
  "$(command -v nginx || echo /usr/sbin/nginx)" -c "$DIR/nginx.conf" -p "$DIR"
}

start_apache2() {
  local mods=/usr/lib/apache2/modules
  cat >"$DIR/apache2.conf" <<CONF
ServerRoot "$DIR"
ServerName 127.0.0.1
Listen 127.0.0.1:${PORT[apache2]}
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule dir_module $mods/mod_dir.so
LoadModule mime_module $mods/mod_mime.so
PidFile $DIR/apache2.pid
ErrorLog $DIR/apache2-error.log
DefaultRuntimeDir $DIR
Mutex file:$DIR
$([ "$(id -u)" -eq 0 ] && printf 'User nobody\nGroup nogroup')
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 65
TypesConfig /dev/null
AddType text/plain .txt
AddType application/octet-stream .bin
DocumentRoot "$WWW"
<Directory "$WWW">
  Require all granted
</Directory>
CONF
  apache2 -f "$DIR/apache2.conf" -k start
}

start_lighttpd() {
  cat >"$DIR/lighttpd.conf" <<CONF
server.document-root = "$WWW"
server.bind = "127.0.0.1"
server.port = ${PORT[lighttpd]}
server.pid-file = "$RUN/lighttpd.pid"
server.errorlog = "$RUN/lighttpd-error.log"
server.max-keep-alive-requests = 100000
server.max-keep-alive-idle = 65
mimetype.assign = (".txt" => "text/plain", ".bin" => "application/octet-stream")
$([ "$(id -u)" -eq 0 ] && printf 'server.username = "nobody"\nserver.groupname = "nogroup"')
CONF
  lighttpd -f "$DIR/lighttpd.conf"
}

start_caddy() {
  cat >"$DIR/Caddyfile" <<CONF
{
  admin off
  auto_https off
}
http://127.0.0.1:${PORT[caddy]} {
  root * $WWW
  file_server
}
CONF
  HOME="$DIR" XDG_DATA_HOME="$DIR/caddy-data" XDG_CONFIG_HOME="$DIR/caddy-config" \
    nohup caddy run --config "$DIR/Caddyfile" --adapter caddyfile >"$DIR/caddy.log" 2>&1 &
  echo $! >"$DIR/caddy.pid"
}

start_h2o() {
  cat >"$DIR/h2o.conf" <<CONF
$([ "$(id -u)" -eq 0 ] && echo "user: nobody")
pid-file: $RUN/h2o.pid
error-log: $RUN/h2o-error.log
listen:
  host: 127.0.0.1
  port: ${PORT[h2o]}
hosts:
  default:
    paths:
      /:
        file.dir: $WWW
CONF
  nohup h2o -c "$DIR/h2o.conf" >"$DIR/h2o.log" 2>&1 &
}

start_haproxy() {
  cat >"$DIR/haproxy.cfg" <<CONF
global
  log stderr format short local0 notice
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  timeout http-keep-alive 65s
frontend web
  bind 127.0.0.1:${PORT[haproxy]}
  default_backend node
backend node
  server node 127.0.0.1:${PORT[node]}
CONF
  haproxy -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid"
}

start_node() {
  cat >"$DIR/server.js" <<'JS'
// static files from the document root, keep-alive on, and /chunked (no Content-Length)
const http = require('http'), fs = require('fs'), path = require('path');
const [root, port] = [process.argv[2], Number(process.argv[3])];
const server = http.createServer((req, res) => {
  if (req.url === '/chunked') {
    const body = fs.readFileSync(path.join(root, 'big.bin'));
    res.writeHead(200, {'Content-Type': 'application/octet-stream'});
    for (let i = 0; i < body.length; i += 65536) res.write(body.subarray(i, i + 65536));
    return res.end();
  }
  const file = path.join(root, path.normalize(req.url).replace(/^(\.\.[\/\\])+/, ''));
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); return res.end('not found\n'); }
    res.writeHead(200, {'Content-Length': data.length});
    res.end(req.method === 'HEAD' ? undefined : data);
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1');
JS
  nohup node "$DIR/server.js" "$WWW" "${PORT[node]}" >"$DIR/node.log" 2>&1 &
  echo $! >"$DIR/node.pid"
}

start_python() {
  cat >"$DIR/server.py" <<'PY'
# http.server speaking HTTP/1.1 (keep-alive), static files, and /chunked
import functools, http.server, os, sys
root, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path != "/chunked":
            return super().do_GET()
        with open(os.path.join(root, "big.bin"), "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(body), 65536):
            part = body[i:i + 65536]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", port), functools.partial(Handler, directory=root))
server.serve_forever()
PY
  nohup python3 "$DIR/server.py" "$WWW" "${PORT[python]}" >"$DIR/python.log" 2>&1 &
  echo $! >"$DIR/python.pid"
}

running=()

print_env() {
  local list=() s
  for s in "${ORDER[@]}"; do
    if listening 127.0.0.1 "${PORT[$s]}"; then
      list+=("$s=http://127.0.0.1:${PORT[$s]}")
    fi
  done
  echo "export KEEPALIVE_SERVERS='${list[*]}'"
  echo "export KEEPALIVE_SERVERS_WWW=$WWW"
  if [ -S "$RUN/nginx.sock" ]; then
    echo "export KEEPALIVE_SERVERS_UNIX=$RUN/nginx.sock" # nginx on a Unix domain socket too
  fi
}

stop() {
  local s
  for s in "${ORDER[@]}"; do
    kill_pid_file "$DIR/$s.pid" "$RUN/$s.pid"
  done
}

start() {
  install_missing
  stop
  sleep 0.2
  mkdir -p "$DIR" "$RUN"
  chmod 755 "$DIR"
  chmod 777 "$RUN"
  content
  local s
  for s in "${ORDER[@]}"; do
    if ! found "${BINARY[$s]}"; then
      log "$s: not installed, left out"
      continue
    fi
    if listening 127.0.0.1 "${PORT[$s]}"; then
      log "$s: 127.0.0.1:${PORT[$s]} is taken by another program, left out"
      continue
    fi
    "start_$s" || log "$s: failed to start (logs in $DIR)"
  done
  for s in "${ORDER[@]}"; do
    wait_listening 127.0.0.1 "${PORT[$s]}" \
      || log "$s: not listening on 127.0.0.1:${PORT[$s]} (logs in $DIR)"
  done
  print_env
}

services_main "$@"
