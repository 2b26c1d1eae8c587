#!/usr/bin/env bash
# Real proxies on 127.0.0.1 for the proxy tests (ProxyTest): tinyproxy (CONNECT and forwarding)
# without and with Basic authentication, squid (CONNECT and forwarding) without and with Basic
# authentication, and microsocks (SOCKS5) without and with user name/password. Installs them
# with apt-get when missing. Every file they write is in $KEEPALIVE_PROXY_DIR.
#
#   scripts/proxies.sh start   installs what is missing, writes the configs, starts the proxies,
#                              waits until each accepts connections, and prints the environment
#                              the tests read (eval "$(scripts/proxies.sh start)")
#   scripts/proxies.sh stop    stops them
#   scripts/proxies.sh env     prints that environment again
#
# Ports (fixed, on 127.0.0.1): tinyproxy 18888, tinyproxy with auth 18889, squid 13128, squid with
# auth 13129, microsocks 11080, microsocks with auth 11081. Credentials: keepalive / s3cret.
# Environment: KEEPALIVE_PROXY_DIR (default /tmp/keepalive-proxies).
set -euo pipefail

DIR="${KEEPALIVE_PROXY_DIR:-/tmp/keepalive-proxies}"
USER_NAME=keepalive
PASSWORD=s3cret
TINY=18888
TINY_AUTH=18889
SQUID=13128
SQUID_AUTH=13129
SOCKS=11080
SOCKS_AUTH=11081

log() { echo "proxies: $*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_missing() {
  local missing=()
  command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)
  command -v squid >/dev/null 2>&1 || [ -x /usr/sbin/squid ] || missing+=(squid)
  command -v microsocks >/dev/null 2>&1 || missing+=(microsocks)
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${missing[*]} and cannot apt-get install them (need root and apt-get)"
    return 1
  fi
  apt_install "${missing[@]}"
}

wait_for() { # wait_for NAME PORT
  wait_listening 127.0.0.1 "$2" && return 0
  log "$1 is not listening on 127.0.0.1:$2 (logs in $DIR)"
  return 1
}

tinyproxy_conf() { # tinyproxy_conf PORT NAME [auth]
  cat >"$DIR/$2.conf" <<CONF
Port $1
Listen 127.0.0.1
Timeout 60
MaxClients 512
Allow 127.0.0.1
PidFile "$DIR/$2.pid"
LogFile "$DIR/$2.log"
LogLevel Info
DisableViaHeader Yes
CONF
  if [ "$(id -u)" -eq 0 ]; then
    printf 'User nobody\nGroup nogroup\n' >>"$DIR/$2.conf"
  fi
  if [ "${3:-}" = auth ]; then
    echo "BasicAuth $USER_NAME $PASSWORD" >>"$DIR/$2.conf"
  fi
}

squid_conf() {
  local helper=/usr/lib/squid/basic_ncsa_auth
  printf '%s:%s\n' "$USER_NAME" "$(openssl passwd -apr1 "$PASSWORD")" >"$DIR/squid.passwd"
  chmod 644 "$DIR/squid.passwd"
  cat >"$DIR/squid.conf" <<CONF
http_port 127.0.0.1:$SQUID
http_port 127.0.0.1:$SQUID_AUTH name=authport
auth_param basic program $helper $DIR/squid.passwd
auth_param basic realm keepalive-tests
acl loopback src 127.0.0.1/32
acl authport myportname authport
acl authed proxy_auth REQUIRED
http_access deny authport !authed
http_access allow loopback
http_access deny all
cache deny all
via off
pid_filename $DIR/squid.pid
access_log stdio:$DIR/squid-access.log
cache_log $DIR/squid-cache.log
coredump_dir $DIR
shutdown_lifetime 1 seconds
CONF
}

print_env() {
  echo "export KEEPALIVE_PROXIES=1"
  echo "export KEEPALIVE_PROXY_USER=$USER_NAME"
  echo "export KEEPALIVE_PROXY_PASSWORD=$PASSWORD"
  echo "export KEEPALIVE_TINYPROXY=127.0.0.1:$TINY"
  echo "export KEEPALIVE_TINYPROXY_AUTH=127.0.0.1:$TINY_AUTH"
  echo "export KEEPALIVE_SQUID=127.0.0.1:$SQUID"
  echo "export KEEPALIVE_SQUID_AUTH=127.0.0.1:$SQUID_AUTH"
  echo "export KEEPALIVE_SOCKS5=127.0.0.1:$SOCKS"
  echo "export KEEPALIVE_SOCKS5_AUTH=127.0.0.1:$SOCKS_AUTH"
}

stop() {
  local name port
  for name in tinyproxy tinyproxy-auth squid microsocks microsocks-auth; do
    kill_pid_file "$DIR/$name.pid"
  done
  # and any left from an earlier run whose pid file is gone (squid forks and may outlive a stale
  # pid file): only processes started with this directory's configs or these ports
  pkill -f -- "-f $DIR/squid.conf" 2>/dev/null || true
  pkill -f -- "-c $DIR/tinyproxy" 2>/dev/null || true
  pkill -f -- "microsocks -i 127.0.0.1 -p ($SOCKS|$SOCKS_AUTH)( |$)" 2>/dev/null || true
  for port in $TINY $TINY_AUTH $SQUID $SQUID_AUTH $SOCKS $SOCKS_AUTH; do
    for _ in $(seq 1 50); do
      listening 127.0.0.1 "$port" || break
      sleep 0.1
    done
  done
}

start() {
  install_missing
  stop
  mkdir -p "$DIR"
  chmod 777 "$DIR" # the proxies drop root for nobody / proxy and write their logs here
  for port in $TINY $TINY_AUTH $SQUID $SQUID_AUTH $SOCKS $SOCKS_AUTH; do
    if listening 127.0.0.1 "$port"; then
      log "127.0.0.1:$port is taken by another program"
      return 1
    fi
  done
  tinyproxy_conf "$TINY" tinyproxy
  tinyproxy_conf "$TINY_AUTH" tinyproxy-auth auth
  squid_conf
  tinyproxy -c "$DIR/tinyproxy.conf"
  tinyproxy -c "$DIR/tinyproxy-auth.conf"
  local squid_bin
  squid_bin="$(command -v squid || echo /usr/sbin/squid)"
  "$squid_bin" -f "$DIR/squid.conf"
  nohup microsocks -i 127.0.0.1 -p "$SOCKS" >"$DIR/microsocks.log" 2>&1 &
  echo $! >"$DIR/microsocks.pid"
  nohup microsocks -i 127.0.0.1 -p "$SOCKS_AUTH" -u "$USER_NAME" -P "$PASSWORD" \
    >"$DIR/microsocks-auth.log" 2>&1 &
  echo $! >"$DIR/microsocks-auth.pid"
  wait_for tinyproxy "$TINY"
  wait_for "tinyproxy (auth)" "$TINY_AUTH"
  wait_for squid "$SQUID"
  wait_for "squid (auth)" "$SQUID_AUTH"
  wait_for microsocks "$SOCKS"
  wait_for "microsocks (auth)" "$SOCKS_AUTH"
  log "started in $DIR"
  print_env
}

services_main "$@"
