#!/usr/bin/env bash
# The fault lab (issue 16): a small network of network namespaces and a veth pair, real servers
# in it, and faults made by the kernel's own tools (nftables; iptables' NFQUEUE for delay), for the
# faultlab module's tests.
#
#   root namespace  ka-lab0 10.77.0.1/24   (the test JVM stays here)
#        |  veth pair
#   namespace ka-lab  ka-lab1 10.77.0.2/24 and 10.77.0.3/24, lo
#        nginx      10.77.0.2:80, 10.77.0.3:80  (keep-alive 65 s; / "faultlab ok\n",
#                   /64k.bin 64 KiB, /big.bin 1 MiB, /slow/big.bin the same 1 MiB at 128 KiB/s,
#                   /post answers any method, POST included, 200 "posted\n")
#        tinyproxy  10.77.0.2:8888              (CONNECT tunnels, for the proxy cases)
#
# Both ends of the veth pair send every TCP segment as its own packet (gso_max_segs 1), so a
# rule that drops "a packet" drops one segment, as on a real link.
#
#   scripts/faultlab.sh up              builds the lab (removes an earlier one first), starts nginx
#                                       and tinyproxy, checks both answer, prints the environment
#   scripts/faultlab.sh down            stops what runs in the namespace, removes everything
#   scripts/faultlab.sh env             prints the environment the tests read
#   scripts/faultlab.sh fault loss PCT          drops PCT % of the packets, each direction
#   scripts/faultlab.sh fault delay MS  holds every packet from the client to the servers MS ms
#                                       before the servers' stack sees it (round trip + MS ms):
#                                       an iptables NFQUEUE rule and a small user-space program
#                                       (python3, raw nfnetlink) that accepts each packet MS ms
#                                       after it arrived; see "delay" below
#   scripts/faultlab.sh fault blackhole ADDR    drops every SYN to ADDR (10.77.0.2 or .3)
#   scripts/faultlab.sh fault drop-flows PORT...  drops every packet of those client ports, both
#                                       directions, with no FIN or RST: a NAT or firewall that
#                                       forgot those flows
#   scripts/faultlab.sh fault reset-after BYTES  a client packet of a connection whose replies
#                                       passed BYTES is answered with a TCP reset (the client
#                                       gets an RST in the middle of the response)
#   scripts/faultlab.sh clear           removes every fault
#   scripts/faultlab.sh faults          lists the fault rules in force
#   scripts/faultlab.sh syns            SYNs from the client to nginx since the last clear (how
#                                       many connections it opened, retransmitted SYNs included)
#   scripts/faultlab.sh restart-nginx [SECONDS]  stops nginx, waits SECONDS (default 0.5),
#                                       starts it again
#   scripts/faultlab.sh stop-nginx | start-nginx
#   scripts/faultlab.sh kill-proxy      kills tinyproxy (SIGKILL: its tunnels die at once)
#   scripts/faultlab.sh start-proxy     starts it again
#   scripts/faultlab.sh test [MAVEN ARGS...]  up; the faultlab module's tests with
#                                       KEEPALIVE_LAB=1 (./mvnw -B -o -pl faultlab -am verify
#                                       -Dtest='FaultLab*Test'); prints their figures; down
#                                       (also on failure or Ctrl-C)
#
# Delay: tc's netem qdisc would make delay, jitter, reordering and duplication; the kernel this
# lab was written on has no sch_netem (nor nft's queue statement), so `fault delay` holds packets
# in user space instead, through the NFQUEUE target of iptables: a fixed delay of the client's
# packets, in arrival order, with no jitter. Jitter, reordering and duplication are not made.
# Needs root, ip (iproute2), nft and iptables (installed here with apt-get when missing), python3,
# nginx and tinyproxy (installed like scripts/nginx-tls.sh and scripts/proxies.sh do). Only
# 10.77.0.0/24 inside the lab and its veth pair are used. Every command is bounded in time.
# Environment: KEEPALIVE_LAB_DIR (default /tmp/keepalive-faultlab).
set -euo pipefail

NS=ka-lab
HOST_IF=ka-lab0
LAB_IF=ka-lab1
HOST_ADDR=10.77.0.1
ADDR_A=10.77.0.2
ADDR_B=10.77.0.3
HTTP_PORT=80
PROXY_PORT=8888
DIR="${KEEPALIVE_LAB_DIR:-/tmp/keepalive-faultlab}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
T=10 # seconds: the bound of any one external command

DELAY_QUEUE=7

log() { echo "faultlab: $*" >&2; }
. "$ROOT/scripts/lib.sh"
die() { log "$*"; exit 1; }
inns() { timeout "$T" ip netns exec "$NS" "$@"; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, nftables)"
}

iptables_bin() { # the NFQUEUE target (the delay fault): nft here has no queue statement
  command -v iptables-legacy 2>/dev/null || command -v iptables 2>/dev/null
}

install_missing() {
  local missing=()
  command -v nft >/dev/null 2>&1 || missing+=(nftables)
  nginx_bin >/dev/null || missing+=(nginx)
  command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  iptables_bin >/dev/null || missing+=(iptables)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}" || die "could not install ${missing[*]}"
  fi
}

print_env() {
  echo "export KEEPALIVE_LAB=1"
  echo "export KEEPALIVE_LAB_SCRIPT=$ROOT/scripts/faultlab.sh"
  echo "export KEEPALIVE_LAB_ADDR_A=$ADDR_A"
  echo "export KEEPALIVE_LAB_ADDR_B=$ADDR_B"
  echo "export KEEPALIVE_LAB_HTTP_PORT=$HTTP_PORT"
  echo "export KEEPALIVE_LAB_PROXY=$ADDR_A:$PROXY_PORT"
}

# ---- servers in the namespace ----------------------------------------------------------------

write_nginx_conf() {
  mkdir -p "$DIR/nginx/temp" "$DIR/www/slow"
  echo "faultlab ok" >"$DIR/www/index.txt"
  head -c 65536 /dev/urandom >"$DIR/www/64k.bin"
  head -c 1048576 /dev/urandom >"$DIR/www/big.bin"
  cp "$DIR/www/big.bin" "$DIR/www/slow/big.bin"
  chmod -R a+rX "$DIR/www"
  cat >"$DIR/nginx/nginx.conf" <<EOF
# written by scripts/faultlab.sh
$(nginx_user_line)
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
$(nginx_temp_paths "$DIR/nginx/temp")
  default_type application/octet-stream;
  keepalive_timeout 65s;
  keepalive_requests 100000;
  sendfile on;
  server {
    listen $ADDR_A:$HTTP_PORT;
    listen $ADDR_B:$HTTP_PORT;
    root $DIR/www;
    location = / { default_type text/plain; try_files /index.txt =404; }
    location /slow/ { limit_rate 128k; }
    location = /post { default_type text/plain; return 200 "posted\n"; }
  }
}
EOF
}

nginx_pid() {
  local f="$DIR/nginx/nginx.pid"
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

start_nginx() {
  nginx_pid >/dev/null && return 0
  inns "$(nginx_bin)" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log"
  wait_http "http://$ADDR_A:$HTTP_PORT/" && wait_http "http://$ADDR_B:$HTTP_PORT/"
}

stop_nginx() { # SIGTERM: nginx closes every connection at once (a crash-like restart)
  local pid
  pid="$(nginx_pid)" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_exit "$pid" 0.05 || kill -KILL "$pid" 2>/dev/null || true
  # workers leave with their master; wait until nothing listens on the port any more
  for _ in $(seq 1 100); do
    listening "$ADDR_A" "$HTTP_PORT" || break
    sleep 0.05
  done
  rm -f "$DIR/nginx/nginx.pid"
}

write_proxy_conf() {
  mkdir -p "$DIR/proxy"
  chmod 777 "$DIR/proxy"
  cat >"$DIR/proxy/tinyproxy.conf" <<CONF
Port $PROXY_PORT
Listen $ADDR_A
Timeout 60
MaxClients 256
Allow $HOST_ADDR
PidFile "$DIR/proxy/tinyproxy.pid"
LogFile "$DIR/proxy/tinyproxy.log"
LogLevel Warning
DisableViaHeader Yes
User nobody
Group nogroup
CONF
}

proxy_pid() { # tinyproxy runs as one process (threads); it writes its pid file itself
  local f="$DIR/proxy/tinyproxy.pid"
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

start_proxy() {
  proxy_pid >/dev/null && return 0
  rm -f "$DIR/proxy/tinyproxy.pid"
  inns tinyproxy -c "$DIR/proxy/tinyproxy.conf"
  wait_listening "$ADDR_A" "$PROXY_PORT" 0.05 && return 0
  die "tinyproxy is not listening on $ADDR_A:$PROXY_PORT (see $DIR/proxy/tinyproxy.log)"
}

kill_proxy() {
  local pid
  pid="$(proxy_pid)" || { rm -f "$DIR/proxy/tinyproxy.pid"; return 0; }
  kill -KILL "$pid" 2>/dev/null || true
  wait_exit "$pid" 0.05 || true
  rm -f "$DIR/proxy/tinyproxy.pid"
}

wait_http() {
  for _ in $(seq 1 100); do
    curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  die "$1 does not answer (see $DIR/nginx/error.log)"
}

# ---- delay: packets held in user space ---------------------------------------------------------

# Holds every packet of netfilter queue $1 for $2 ms, then accepts it (raw nfnetlink, no library).
# It runs in the namespace, where an iptables rule queues the packets that reach ka-lab's INPUT
# (the client's packets to the servers): received packets, so TCP small queues do not throttle
# the sender as they would for packets held on their way out.
DELAY_PY=$(cat <<'PY'
# Holds every packet of netfilter queue QUEUE for DELAY_MS, then accepts it (raw nfnetlink, no
# library). Runs in the namespace whose iptables rule queues the packets.
import collections, select, socket, struct, sys, time

QUEUE, DELAY = int(sys.argv[1]), int(sys.argv[2]) / 1000.0
NETLINK_NETFILTER, NFNL_SUBSYS_QUEUE = 12, 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2

def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)

def message(kind, attrs, family=socket.AF_UNSPEC, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", family, 0, socket.htons(QUEUE)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
# bind the queue (command 1 = BIND), copy metadata only (mode 1), queue up to 65536 packets
s.send(message(MSG_CONFIG, [attr(1, struct.pack("!BxH", 1, 0))]))
s.send(message(MSG_CONFIG, [attr(2, struct.pack("!IB", 0, 1) + b"\0\0\0"), attr(3, struct.pack("!I", 65536))]))
held = collections.deque()
while True:
    timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
    readable, _, _ = select.select([s], [], [], timeout)
    if readable:
        data = s.recv(1 << 20)
        now = time.monotonic()
        off = 0
        while off + 16 <= len(data):
            length, kind, flags, seq, pid = struct.unpack_from("=IHHII", data, off)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
                a = off + 20
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x7FFF == 1:  # NFQA_PACKET_HDR: id u32, hw_protocol u16, hook u8
                        held.append((now + DELAY, struct.unpack_from("!I", data, a + 4)[0]))
                        break
                    a += (alen + 3) & ~3
            elif kind == NLMSG_ERROR:
                err = struct.unpack_from("=i", data, off + 16)[0]
                if err:
                    sys.exit("netfilter queue %d: error %d" % (QUEUE, -err))
            off += (length + 3) & ~3
    now = time.monotonic()
    out = []
    while held and held[0][0] <= now:
        out.append(message(MSG_VERDICT, [attr(2, struct.pack("!II", 1, held.popleft()[1]))]))
    for m in out:
        s.send(m)
PY
)

delay_pid() {
  local f="$DIR/delay.pid"
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

stop_delay() {
  local pid
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    inns "$(iptables_bin)" -F INPUT 2>/dev/null || true
  fi
  pid="$(delay_pid)" || { rm -f "$DIR/delay.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  wait_exit "$pid" 0.05 || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/delay.pid"
}

start_delay() { # start_delay MS
  stop_delay
  ip netns exec "$NS" "$(command -v python3)" -c "$DELAY_PY" "$DELAY_QUEUE" "$1" \
    </dev/null >"$DIR/delay.log" 2>&1 &
  echo $! >"$DIR/delay.pid"
  # bound to the queue (listed by the kernel) before the rule sends packets to it
  for _ in $(seq 1 200); do
    if inns cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null \
        | awk -v q="$DELAY_QUEUE" '$1 == q { found = 1 } END { exit !found }'; then
      # --queue-bypass: should the program die, packets pass instead of being dropped
      inns "$(iptables_bin)" -A INPUT -p tcp -j NFQUEUE --queue-num "$DELAY_QUEUE" --queue-bypass
      return 0
    fi
    delay_pid >/dev/null || break
    sleep 0.05
  done
  stop_delay
  die "the delay program did not bind netfilter queue $DELAY_QUEUE (see $DIR/delay.log)"
}

# ---- the network -----------------------------------------------------------------------------

down() {
  need_root
  stop_nginx 2>/dev/null || true
  kill_proxy 2>/dev/null || true
  stop_delay 2>/dev/null || true
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    # anything else still running in the namespace
    local pids
    pids="$(timeout "$T" ip netns pids "$NS" 2>/dev/null || true)"
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    timeout "$T" ip netns del "$NS" || true
  fi
  ip link show "$HOST_IF" >/dev/null 2>&1 && timeout "$T" ip link del "$HOST_IF" || true
  log "down"
}

up() {
  need_root
  install_missing
  down 2>/dev/null || true
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  timeout "$T" ip netns add "$NS"
  timeout "$T" ip link add "$HOST_IF" type veth peer name "$LAB_IF" netns "$NS"
  timeout "$T" ip link set "$HOST_IF" gso_max_segs 1
  inns ip link set "$LAB_IF" gso_max_segs 1
  timeout "$T" ip addr add "$HOST_ADDR/24" dev "$HOST_IF"
  timeout "$T" ip link set "$HOST_IF" up
  inns ip link set lo up
  inns ip addr add "$ADDR_A/24" dev "$LAB_IF"
  inns ip addr add "$ADDR_B/24" dev "$LAB_IF"
  inns ip link set "$LAB_IF" up
  # conntrack byte counters, which reset-after reads
  inns sysctl -qw net.netfilter.nf_conntrack_acct=1
  clear_faults
  write_nginx_conf
  write_proxy_conf
  start_nginx
  start_proxy
  log "up: nginx on $ADDR_A:$HTTP_PORT and $ADDR_B:$HTTP_PORT, tinyproxy on $ADDR_A:$PROXY_PORT (namespace $NS, files in $DIR)"
  print_env
}

# ---- faults (nftables, table inet faultlab in the namespace) ----------------------------------

clear_faults() {
  stop_delay
  inns nft -f - <<EOF
table inet faultlab
delete table inet faultlab
table inet faultlab {
  chain in {
    type filter hook input priority -10; policy accept;
    ip saddr $HOST_ADDR tcp dport $HTTP_PORT tcp flags & (syn | ack) == syn counter comment "syns"
  }
  chain out { type filter hook output priority -10; policy accept; }
}
EOF
}

fault() {
  local kind="${1:-}"
  shift || true
  case "$kind" in
    loss)
      local pct="${1:-}"
      [[ "$pct" =~ ^[0-9]+$ ]] && [ "$pct" -le 100 ] || die "loss PCT: 0..100, was '$pct'"
      inns nft add rule inet faultlab in meta l4proto tcp numgen random mod 100 '<' "$pct" drop
      inns nft add rule inet faultlab out meta l4proto tcp numgen random mod 100 '<' "$pct" drop
      ;;
    delay)
      local ms="${1:-}"
      [[ "$ms" =~ ^[0-9]+$ ]] && [ "$ms" -ge 1 ] && [ "$ms" -le 10000 ] \
        || die "delay MS: 1..10000, was '$ms'"
      [ -z "$(delay_pid)" ] || die "a delay is in force already: clear first"
      start_delay "$ms"
      ;;
    blackhole)
      local addr="${1:-}"
      [ "$addr" = "$ADDR_A" ] || [ "$addr" = "$ADDR_B" ] \
        || die "blackhole ADDR: $ADDR_A or $ADDR_B, was '$addr'"
      inns nft add rule inet faultlab in ip daddr "$addr" tcp flags '& (syn | ack) == syn' drop
      ;;
    drop-flows)
      [ "$#" -gt 0 ] || die "drop-flows PORT...: at least one client port"
      local p set=""
      for p in "$@"; do
        [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] \
          || die "drop-flows PORT: 1..65535, was '$p'"
        set="${set:+$set, }$p"
      done
      inns nft add rule inet faultlab in ip saddr "$HOST_ADDR" tcp sport "{ $set }" drop
      inns nft add rule inet faultlab out ip daddr "$HOST_ADDR" tcp dport "{ $set }" drop
      ;;
    reset-after)
      local bytes="${1:-}"
      [[ "$bytes" =~ ^[0-9]+$ ]] || die "reset-after BYTES: a number, was '$bytes'"
      inns nft add rule inet faultlab in ip saddr "$HOST_ADDR" tcp dport "$HTTP_PORT" \
        ct reply bytes gt "$bytes" reject with tcp reset
      ;;
    *)
      die "fault loss PCT | delay MS | blackhole ADDR | drop-flows PORT... | reset-after BYTES"
      ;;
  esac
  log "fault $kind $*"
}

run_tests() {
  local start rc=0
  start=$(date +%s)
  trap 'down' EXIT
  trap 'exit 130' INT TERM
  local envfile
  envfile="$(mktemp)"
  up >"$envfile"
  # shellcheck disable=SC1090
  . "$envfile"
  rm -f "$envfile"
  cd "$ROOT"
  rm -f faultlab/target/faultlab-figures.txt # this run's figures only
  # the lab's tests only: the modules it depends on are built, their own tests not run
  timeout 900 ./mvnw -B -o -pl faultlab -am verify -Dtest='FaultLab*Test' \
    -Dsurefire.failIfNoSpecifiedTests=false -DKEEPALIVE_LAB=1 "$@" || rc=$?
  [ -f faultlab/target/faultlab-figures.txt ] && cat faultlab/target/faultlab-figures.txt >&2
  log "lab tests took $(($(date +%s) - start)) s (rc $rc)"
  trap - EXIT INT TERM
  down
  return "$rc"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) print_env ;;
  fault) shift; need_root; fault "$@" ;;
  clear) need_root; clear_faults; log "clear" ;;
  faults) need_root; inns nft list table inet faultlab ;;
  syns) # how many connections to nginx the client opened (SYNs seen) since the last clear
    need_root
    inns nft list chain inet faultlab in | sed -n 's/.*counter packets \([0-9]*\) .*"syns".*/\1/p'
    ;;
  restart-nginx)
    need_root
    stop_nginx
    sleep "${2:-0.5}"
    start_nginx
    log "nginx restarted"
    ;;
  stop-nginx) need_root; stop_nginx ;;
  start-nginx) need_root; start_nginx ;;
  kill-proxy) need_root; kill_proxy; log "tinyproxy killed" ;;
  start-proxy) need_root; start_proxy; log "tinyproxy started" ;;
  test) shift; need_root; run_tests "$@" ;;
  *) usage ;;
esac
