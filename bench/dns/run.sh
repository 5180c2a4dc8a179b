#!/usr/bin/env bash
# Loopback DNS load benchmark: Meridian vs gdnsd, same zone, same queries, same CPU pinning.
# Scenarios: "static" (static A names from the zone), "geo" (a geo+weighted service in Meridian vs
# gdnsd's geoip plugin with a weighted datacenter, both on geodb/test-city.mmdb) and "cold" (the demo's
# www, geo + sticky, under a random ECS subnet per query from calidns, vs gdnsd's weighted plugin and a
# bare node:dgram responder: the decision cache's miss path), and "workers" (the static names against
# `meridian serve --workers W` for each W in BENCH_WORKERS and each runtime in BENCH_NODES, and gdnsd with
# 1 and W threads: what the extra cores give, and Node 20 against Node 24).
# Usage: npm run bench:dns      (or: bash bench/dns/run.sh)
# See bench/dns/README.md. All traffic goes to 127.0.0.1; every dnsperf run is bounded by -l and `timeout`.
#
# Env (defaults in brackets):
#   BENCH_SCENARIOS ["static geo cold workers"]  which scenarios, in order
#   BENCH_COLD_ECS [0.0.0.0/1]  calidns --ecs range of the cold scenario (a random address per query;
#                           calidns 4.7.3 sends 0.0.0.0/32 on every query for 0.0.0.0/0, see README.md)
#   BENCH_COLD_START [5000] calidns initial qps of the cold scenario's ramp (x1.1 per 1 s step)
#   BENCH_SECONDS [10]      length of each measured dnsperf run
#   BENCH_ROUNDS [3]        interleaved rounds of the max (saturation) runs: each server is started once per
#                           scenario, then every round measures each server in turn (order reversed every
#                           other round); ratios are taken per round and the median, quartiles and range are
#                           reported. For a small difference (RRL on/off) use many short rounds, e.g.
#                           BENCH_ROUNDS=15 BENCH_SECONDS=3 (bench/dns/README.md)
#   BENCH_WARMUP [2]        unmeasured warm-up run after each server's start (JIT, caches); 0 = none
#   BENCH_OUTSTANDING [100] dnsperf -q: queries in flight in the saturation run
#   BENCH_RATE [5000]       dnsperf -Q for the fixed-rate (latency) run; 0 = skip that run
#   BENCH_SERVERS ["meridian meridian-rrl gdnsd dns2"]  which servers, in order (meridian-rrl = Meridian with
#                           dns.rrl on at a rate no bench client reaches, for the cost of RRL's accounting;
#                           dns2 = bench/dns/dns2-server.mjs,
#                           a naive dns2 3.1.1 server, included when that file exists; static scenario only)
#   BENCH_SERVER_CPU [0] / BENCH_CLIENT_CPU [1]   taskset CPUs
#   BENCH_WORKERS ["1 2"]    workers scenario: the worker counts (a server with W workers, or gdnsd with W threads,
#                           is pinned to CPUs 0..W-1; dnsperf stays on BENCH_CLIENT_CPU, so on a 2-CPU machine the
#                           second worker shares its CPU with the load generator: see README.md)
#   BENCH_NODES ["node"]     workers scenario: node binaries to run Meridian's build with, e.g.
#                           BENCH_NODES="node $(npx -y -p node@24.21.0 -- node -p process.execPath)" for Node 20 and 24
#   BENCH_WORKERS_CLIENTS [16]  workers scenario: dnsperf -c (sockets, so source ports: SO_REUSEPORT spreads
#                           queries over the workers by source port, and one socket would reach one worker)
#   BENCH_OUT [unset]       also write the markdown table to this file
#   BENCH_KEEP [unset]      1 = keep the work dir (raw dnsperf output, server logs)
#   MERIDIAN_CMD            command prefix for Meridian ("serve --config <file>" is appended);
#                           default: node dist/cli.js after `npm run build` (tsx from src/ if the build fails)
#   MERIDIAN_SERVER=nsd     put NSD in the Meridian slot (stand-in, to check this script; static scenario only)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SECONDS_RUN="${BENCH_SECONDS:-10}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-2}"
OUTSTANDING="${BENCH_OUTSTANDING:-100}"
RATE="${BENCH_RATE:-5000}"
DEFAULT_SERVERS="meridian meridian-rrl gdnsd"
[[ -f "$HERE/dns2-server.mjs" ]] && DEFAULT_SERVERS+=" dns2"
SERVERS="${BENCH_SERVERS:-$DEFAULT_SERVERS}"
SCPU="${BENCH_SERVER_CPU:-0}"
CCPU="${BENCH_CLIENT_CPU:-1}"
ORIGIN=gslb.example.com
ZONE="$HERE/gslb.example.com.zone"
QUERIES="$HERE/queries.txt"      # set per scenario below
SCENARIOS="${BENCH_SCENARIOS:-static geo cold workers}"
COLD_ECS="${BENCH_COLD_ECS:-0.0.0.0/1}"
COLD_START="${BENCH_COLD_START:-5000}"
COLD_SERVERS="meridian gdnsd bare"   # cold: fixed set (Meridian, the gdnsd reference, the socket's ceiling)
SCENARIO=static
GEO_DB="$REPO/geodb/test-city.mmdb"
GEO_NAME="geo.$ORIGIN"
GEO_ECS_NET=81.2.69.0            # London (EU) in the fixture -> the weighted eu-west/eu-central pair
GEO_ECS_LEN=24

die() { echo "bench:dns: $*" >&2; exit 1; }
for n in "$SECONDS_RUN" "$ROUNDS" "$WARMUP" "$OUTSTANDING" "$RATE" "$COLD_START"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_* values must be integers (got '$n')"
done
(( SECONDS_RUN >= 1 && SECONDS_RUN <= 600 )) || die "BENCH_SECONDS must be 1..600"
(( ROUNDS >= 1 && ROUNDS <= 60 )) || die "BENCH_ROUNDS must be 1..60"
(( WARMUP <= 60 )) || die "BENCH_WARMUP must be 0..60"
for sc in $SCENARIOS; do [[ "$sc" == static || "$sc" == geo || "$sc" == cold || "$sc" == workers ]] || die "unknown scenario '$sc' (want static, geo, cold, workers)"; done
WORKER_COUNTS="${BENCH_WORKERS:-1 2}"
read -r -a NODES <<<"${BENCH_NODES:-node}"
WCLIENTS="${BENCH_WORKERS_CLIENTS:-16}"
CLIENTS=1                        # dnsperf -c; the workers scenario sets WCLIENTS
for w in $WORKER_COUNTS; do [[ "$w" =~ ^[0-9]+$ ]] && (( w >= 1 && w <= 64 )) || die "BENCH_WORKERS must be counts from 1 to 64 (got '$w')"; done
[[ "$WCLIENTS" =~ ^[0-9]+$ ]] && (( WCLIENTS >= 1 && WCLIENTS <= 256 )) || die "BENCH_WORKERS_CLIENTS must be 1..256"
if [[ " $SCENARIOS " == *" workers "* ]]; then
  for n in "${NODES[@]}"; do "$n" -e 0 2>/dev/null || die "BENCH_NODES: '$n' does not run"; done
fi
if [[ " $SCENARIOS " == *" cold "* ]]; then
  if ! command -v calidns >/dev/null && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench:dns: installing pdns-tools (calidns) for the cold scenario" >&2
    { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends pdns-tools; } >/dev/null 2>&1 || true
  fi
  command -v calidns >/dev/null || die "calidns not found (cold scenario: apt-get update && apt-get install pdns-tools)"
  [[ "$COLD_ECS" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] || die "BENCH_COLD_ECS must be an IPv4 prefix (got '$COLD_ECS')"
  (( COLD_START >= 100 )) || die "BENCH_COLD_START must be at least 100"
fi
if [[ " $SCENARIOS " == *" geo "* ]]; then [[ -f "$GEO_DB" ]] || die "$GEO_DB not found (geo scenario)"; fi
for tool in dnsperf dig taskset awk; do command -v "$tool" >/dev/null || die "$tool not found (apt-get install dnsperf bind9-dnsutils util-linux)"; done

NCPU="$(nproc)"
PIN_S=(taskset -c "$SCPU")
PIN_C=(taskset -c "$CCPU")
if (( NCPU < 2 )); then
  echo "bench:dns: only $NCPU CPU: running without pinning (server and client share the CPU)" >&2
  PIN_S=(); PIN_C=()
fi

WORK="$(mktemp -d /tmp/bench-dns.XXXXXX)"
T_START="$(date +%s)"
SERVER_PID=""                  # the server start_server just started
declare -A PIDS=() PORTS=() LABELS=()   # per server name, for the servers of the current scenario
declare -A MPORTS=()                    # workers scenario: /metrics port of each Meridian server with workers
stop_pid() { # pid
  local pid="$1"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
stop_servers() { # every server of the current scenario (and one still starting)
  local n
  for n in "${!PIDS[@]}"; do stop_pid "${PIDS[$n]}"; done
  stop_pid "$SERVER_PID"
  PIDS=(); PORTS=(); LABELS=(); SERVER_PID=""
}
cleanup() {
  stop_servers
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then echo "bench:dns: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

port_free() { # port -> 0 if nothing listens on it (UDP or TCP) on any address
  ! ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . && ! ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}
pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM % 30000 ))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

wait_ready() { # port logfile
  local i
  for i in $(seq 1 300); do # at most ~60 s (tsx start-up is a few seconds)
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server exited; log:" >&2; tail -30 "$2" >&2; return 1; fi
    if dig +norec +time=1 +tries=1 -p "$1" @127.0.0.1 "www.$ORIGIN" A 2>/dev/null | grep -q 'status: NOERROR'; then return 0; fi
    sleep 0.2
  done
  echo "server not ready after 60 s; log:" >&2; tail -30 "$2" >&2
  return 1
}

# The benchmark zone without www's records (the cold scenario's www is dynamic in both servers).
zone_without_www() { # dst
  awk '/^www[ \t]/ { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' "$ZONE" >"$1"
}

# taskset for a server using n CPUs: n = 1 -> BENCH_SERVER_CPU; n > 1 -> CPUs 0..n-1 (as many as there are)
pin_for() { # n -> PIN
  local n="$1"
  if (( NCPU < 2 )); then PIN=()
  elif (( n <= 1 )); then PIN=(taskset -c "$SCPU")
  else PIN=(taskset -c "0-$(( n < NCPU ? n - 1 : NCPU - 1 ))"); fi
}
cpus_of() { pin_for "$1"; echo "${PIN[2]:-any}"; } # n -> the CPU list a server of n workers runs on

BUILT=0
build_once() { # the compiled build from src/, once per script run (the workers scenario runs it on each BENCH_NODES runtime)
  (( BUILT )) && return 0
  (cd "$REPO" && npm run -s build >"$WORK/build.log" 2>&1) && [[ -f "$REPO/dist/cli.js" ]] || { tail -20 "$WORK/build.log" >&2; die "npm run build failed"; }
  BUILT=1
}

MERIDIAN_RUN=()
start_server() { # name port -> sets SERVER_PID, LABEL (config per $SCENARIO)
  local name="$1" port="$2" dir="$WORK/$SCENARIO/$1"
  mkdir -p "$dir"
  case "$name" in
    gdnsd|gdnsd-t*)
      command -v gdnsd >/dev/null || die "gdnsd not found (apt-get install gdnsd)"
      mkdir -p "$dir/etc/zones" "$dir/run" "$dir/state"
      local tpl="$HERE/gdnsd/config" threads=1
      [[ "$name" == gdnsd-t* ]] && threads="${name#gdnsd-t}"
      [[ "$SCENARIO" == geo ]] && tpl="$HERE/gdnsd/config-geo"
      [[ "$SCENARIO" == cold ]] && tpl="$HERE/gdnsd/config-cold"
      sed -e "s|@PORT@|$port|" -e "s|@RUN_DIR@|$dir/run|" -e "s|@STATE_DIR@|$dir/state|" -e "s|@GEO_DB@|$GEO_DB|" \
        -e "s|udp_threads => 1|udp_threads => $threads|" "$tpl" >"$dir/etc/config"
      if [[ "$SCENARIO" == cold ]]; then
        zone_without_www "$dir/etc/zones/$ORIGIN"
        printf 'www     30 DYNA  weighted!www\n' >>"$dir/etc/zones/$ORIGIN"
      else
        cp "$ZONE" "$dir/etc/zones/$ORIGIN"
      fi
      # geo: the dynamic name (Meridian's service owns geo.<origin>; the shared zone has no records for it)
      [[ "$SCENARIO" == geo ]] && printf 'geo     30 DYNA  geoip!geo\n' >>"$dir/etc/zones/$ORIGIN"
      pin_for "$threads"
      "${PIN[@]}" gdnsd -c "$dir/etc" start >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="gdnsd $( (gdnsd -h 2>&1 || true) | sed -n 's/^gdnsd version \([^ ]*\).*/\1/p' | head -1)"
      if [[ "$SCENARIO" == workers ]]; then LABEL+=", $threads UDP thread$( ((threads > 1)) && echo s), CPU $(cpus_of "$threads")"; fi
      ;;
    mw-*) # the workers scenario: mw-<workers>-<index into BENCH_NODES, from 1>
      local rest="${name#mw-}" workers nodebin
      workers="${rest%%-*}"; nodebin="${NODES[$(( ${rest#*-} - 1 ))]}"
      cp "$ZONE" "$dir/$ORIGIN.zone"
      # /metrics for the per-worker query counts (how the port-sharing mechanism spread the load)
      local mport=null
      if (( workers > 1 )); then mport="$(pick_port)"; MPORTS[$name]=$mport; mport="127.0.0.1:$mport"; fi
      printf 'dns:\n  listen: ["127.0.0.1:%s"]\n  workers: %s\nmetrics: { listen: %s }\nzones:\n  - origin: %s\n    file: %s.zone\n' \
        "$port" "$workers" "$mport" "$ORIGIN" "$ORIGIN" >"$dir/meridian.yaml"
      build_once
      pin_for "$workers"
      # dns.workers from the generated config: an inherited MERIDIAN_WORKERS would win over it.
      (cd "$REPO" && exec env -u MERIDIAN_WORKERS "${PIN[@]}" "$nodebin" "$REPO/dist/cli.js" serve --config "$dir/meridian.yaml") >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="meridian $(node -p "require('$REPO/package.json').version" 2>/dev/null) (node $("$nodebin" -v)), $workers worker$( ((workers > 1)) && echo s), CPU $(cpus_of "$workers")"
      ;;
    meridian|meridian-rrl)
      if [[ "$SCENARIO" == cold ]]; then zone_without_www "$dir/$ORIGIN.zone"; else cp "$ZONE" "$dir/$ORIGIN.zone"; fi
      if [[ "${MERIDIAN_SERVER:-meridian}" == nsd ]]; then
        command -v nsd >/dev/null || die "nsd not found"
        cat >"$dir/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$port
  port: $port
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  pidfile: "$dir/nsd.pid"
  server-count: 1
  do-ip6: no
  hide-version: yes
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "$ORIGIN"
  zonefile: "$ORIGIN.zone"
EOF
        "${PIN_S[@]}" nsd -d -c "$dir/nsd.conf" >"$dir/server.log" 2>&1 &
        SERVER_PID=$!
        LABEL="nsd $( (nsd -v 2>&1 || true) | sed -n 's/^NSD version //p') (stand-in for meridian)"
      else
        # meridian-rrl: RRL on, at a rate dnsperf cannot reach (5 names at < 100k qps from one /24): every
        # response is accounted and sent, so its difference to "meridian" is the accounting's cost.
        local rrl_line=""
        if [[ "$name" == meridian-rrl ]]; then rrl_line="  rrl: { responsesPerSecond: 1000000, slip: 2, window: 15 }"; fi
        cat >"$dir/meridian.yaml" <<EOF
dns:
  listen: ["127.0.0.1:$port"]
  udpSize: 1232
  tcp: { idleTimeoutMs: 10000, ioTimeoutMs: 2000, maxConnections: 256 }
  chaos: false
$rrl_line
zones:
  - origin: $ORIGIN
    file: $ORIGIN.zone
EOF
        if [[ "$SCENARIO" == geo ]]; then
          # The same routing as gdnsd/config-geo (see README.md for the mapping).
          cat >>"$dir/meridian.yaml" <<EOF
geo: { database: "$GEO_DB" }
regions:
  - { id: us-east, location: { lat: 39.04, lon: -77.49, continent: NA, country: US }, addresses: { ipv4: [192.0.2.10] }, weight: 100 }
  - { id: eu-west, location: { lat: 53.35, lon: -6.26, continent: EU, country: IE }, addresses: { ipv4: [198.51.100.10] }, weight: 100 }
  - { id: eu-central, location: { lat: 50.11, lon: 8.68, continent: EU, country: DE }, addresses: { ipv4: [198.51.100.20] }, weight: 50 }
  - { id: ap-southeast, location: { lat: 1.35, lon: 103.82, continent: AS, country: SG }, addresses: { ipv4: [203.0.113.10] }, weight: 100 }
services:
  - name: $GEO_NAME
    ttl: 30
    regions: [us-east, eu-west, eu-central, ap-southeast]
    policy:
      geo: { continents: { EU: [[eu-west, eu-central], us-east], NA: [us-east, eu-west], AS: [ap-southeast, us-east] }, default: [us-east, eu-west] }
      weighted: {}
EOF
        fi
        if [[ "$SCENARIO" == cold ]]; then
          # A DNS-only node serving the demo's www (cold-routing.yaml, shared with cold.bench.ts): no
          # metrics or admin listener.
          echo 'metrics: { listen: null }' >>"$dir/meridian.yaml"
          cat "$HERE/cold-routing.yaml" >>"$dir/meridian.yaml"
        fi
        if (( ${#MERIDIAN_RUN[@]} == 0 )); then
          if [[ -n "${MERIDIAN_CMD:-}" ]]; then
            # shellcheck disable=SC2206 # intentional word splitting of the command prefix
            MERIDIAN_RUN=(${MERIDIAN_CMD})
          elif (cd "$REPO" && npm run -s build >"$WORK/build.log" 2>&1) && [[ -f "$REPO/dist/cli.js" ]]; then
            # Benchmark what production runs: the compiled build, freshly rebuilt from src/ (once per script run).
            MERIDIAN_RUN=(node "$REPO/dist/cli.js")
          elif [[ -f "$REPO/src/cli.ts" ]]; then
            echo "bench:dns: npm run build failed (running src/ through tsx instead):" >&2; tail -20 "$WORK/build.log" >&2
            MERIDIAN_RUN=(node --import tsx "$REPO/src/cli.ts")
          else
            die "Meridian entry point not found (src/cli.ts); set MERIDIAN_CMD or MERIDIAN_SERVER=nsd"
          fi
        fi
        # One DNS process on one CPU, as these scenarios have always measured (the workers scenario runs more).
        (cd "$REPO" && exec env MERIDIAN_WORKERS=1 "${PIN_S[@]}" "${MERIDIAN_RUN[@]}" serve --config "$dir/meridian.yaml") >"$dir/server.log" 2>&1 &
        SERVER_PID=$!
        LABEL="meridian $(node -p "require('$REPO/package.json').version" 2>/dev/null) (node $(node -v))"
        if [[ "$name" == meridian-rrl ]]; then LABEL+=" RRL on"; fi
      fi
      ;;
    dns2)
      [[ -f "$HERE/dns2-server.mjs" ]] || die "bench/dns/dns2-server.mjs not found"
      (cd "$REPO" && exec "${PIN_S[@]}" node "$HERE/dns2-server.mjs" "$port") >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="dns2 $(node -p "require('$REPO/node_modules/dns2/package.json').version" 2>/dev/null) (naive reference)"
      ;;
    bare)
      (cd "$REPO" && exec "${PIN_S[@]}" node "$HERE/bare-responder.mjs" "$port") >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="bare node:dgram responder, 4 MB buffers (node $(node -v))"
      ;;
    *) die "unknown server '$name' (want meridian, meridian-rrl, gdnsd, dns2 or bare)" ;;
  esac
  wait_ready "$port" "$dir/server.log" || die "$name did not start"
  # How a node with workers shares its port (the primary logs it): reuseport (Node >= 22.12) or cluster.
  local sharing
  sharing="$(grep -o '"sharing":"[a-z]*"' "$dir/server.log" 2>/dev/null | head -1 | cut -d'"' -f4 || true)"
  if [[ -n "$sharing" ]]; then LABEL+=", $sharing"; fi
}

# dnsperf run -> raw file; prints "qps lost_pct p50_ms p99_ms completed sent"
perf() { # port outfile extra-args...
  local port="$1" out="$2"; shift 2
  timeout $(( SECONDS_RUN + 30 )) "${PIN_C[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" \
    -c "$CLIENTS" -T 1 -t 2 -v "$@" >"$out" 2>&1 || { echo "dnsperf failed:" >&2; tail -20 "$out" >&2; return 1; }
  awk '
    /^> / && $2 != "T" && $2 != "I" && $NF ~ /^[0-9.]+$/ {
      us = int($NF * 1000000 + 0.5); h[us]++; n++; if (us > max) max = us
    }
    /Queries sent:/ { sent = $3 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $3 }
    /Queries per second:/ { qps = $4 }
    END {
      if (n == 0 || sent == 0) { print "0 100 - - 0 " sent + 0; exit }
      t50 = n * 0.50; t99 = n * 0.99; c = 0; p50 = -1; p99 = -1
      for (i = 0; i <= max; i++) if (i in h) {
        c += h[i]
        if (p50 < 0 && c >= t50) p50 = i
        if (p99 < 0 && c >= t99) { p99 = i; break }
      }
      printf "%.0f %.3f %.3f %.3f %d %d\n", qps, 100 * lost / sent, p50 / 1000, p99 / 1000, done, sent
    }' "$out"
}

# EDNS Client Subnet option value (RFC 7871 §6) for dnsperf -E 8:<hex>: FAMILY (1 = IPv4), SOURCE PREFIX,
# SCOPE PREFIX 0, then the first ceil(SOURCE/8) address octets. 81.2.69.0/24 -> 0001 18 00 510245.
ecs_hex() { # a.b.c.d prefix
  local -a o; IFS=. read -r -a o <<<"$1"
  local i hex; hex="$(printf '0001%02x00' "$2")"
  for (( i = 0; i < ($2 + 7) / 8; i++ )); do hex+="$(printf '%02x' "${o[$i]}")"; done
  echo "$hex"
}
GEO_ECS=(-E "8:$(ecs_hex "$GEO_ECS_NET" "$GEO_ECS_LEN")")

# geo: both servers must route the fixture's networks the same way before they are measured.
check_geo() { # port name
  local port="$1" name="$2" ecs want got bad=0
  for ecs in "$GEO_ECS_NET/$GEO_ECS_LEN:198.51.100.10 198.51.100.20" "2.0.0.0/24:198.51.100.10 198.51.100.20" \
             "3.0.0.0/24:192.0.2.10" "24.48.0.0/24:192.0.2.10" "43.224.0.0/24:203.0.113.10" "-:192.0.2.10"; do
    want="${ecs#*:}"; ecs="${ecs%%:*}"
    local opt=(+subnet="$ecs"); [[ "$ecs" == - ]] && opt=()
    got="$(dig +norec +short +time=2 +tries=1 -p "$port" @127.0.0.1 "$GEO_NAME" A "${opt[@]}" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
    if [[ " $want " == *" $got "* && -n "$got" ]]; then
      echo "bench:dns:   check $name ${ecs/-/no ECS} -> $got" >&2
    else
      echo "bench:dns:   check $name ${ecs/-/no ECS} -> '$got', want one of: $want" >&2; bad=1
    fi
  done
  return "$bad"
}

declare -A SAT_QPS=()   # scenario:key:server:round -> qps of a max run
declare -A ROUND_LOAD=() # scenario:round -> 1-minute load average when the round started
declare -A ROWS=()      # scenario -> per-run table rows, in the order they ran
declare -A RAN=()       # scenario -> servers measured in it, in order
declare -A MAX_KEYS=()  # scenario -> its max-run keys
declare -A LABELS_ALL=() # scenario:server -> label (LABELS is cleared when a scenario's servers stop)
declare -A LOAD_LBL=()  # scenario:key -> load column text
declare -A SPLIT=()     # workers:server:round -> queries each worker answered in that round's max run
worker_counts() { # metrics port -> "n1 n2 ..." (meridian_dns_worker_queries_total by worker slot)
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
    sed -n 's/^meridian_dns_worker_queries_total{worker="\([0-9]*\)"} \([0-9.e+]*\)$/\1 \2/p' | sort -n | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $2 }'
}
run_load() { # name round load-label key extra-args...
  local name="$1" round="$2" load="$3" key="$4"; shift 4
  local raw="$WORK/$SCENARIO/$name/$key${round/-/}.txt" before="" after
  [[ -n "${MPORTS[$name]:-}" ]] && before="$(worker_counts "${MPORTS[$name]}")"
  read -r qps lost p50 p99 done sent < <(perf "${PORTS[$name]}" "$raw" -l "$SECONDS_RUN" -q "$OUTSTANDING" "$@")
  if [[ -n "$before" ]]; then
    after="$(worker_counts "${MPORTS[$name]}")"
    SPLIT[$SCENARIO:$name:$round]="$(paste -d' ' <(tr ' ' '\n' <<<"$after") <(tr ' ' '\n' <<<"$before") | awk '{ printf "%s%d", (NR > 1 ? " / " : ""), $1 - $2 }')"
  fi
  [[ "$key" == max* ]] && SAT_QPS[$SCENARIO:$key:$name:$round]=$qps
  ROWS[$SCENARIO]+="| $round | ${LABELS[$name]} | $load | $qps | $p50 | $p99 | $lost | $done/$sent |"$'\n'
  if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then die "$name died during the run; log: $(tail -5 "$WORK/$SCENARIO/$name/server.log")"; fi
}
max_args() { # key -> LOAD_ARGS (extra dnsperf args of that max run in $SCENARIO)
  case "$SCENARIO:$1" in
    static:max) LOAD_ARGS=() ;;
    geo:max) LOAD_ARGS=("${GEO_ECS[@]}") ;;
    geo:max-noecs) LOAD_ARGS=(-e) ;;
  esac
}

# cold: calidns ramps (x1.1 per 1 s step from BENCH_COLD_START) until fewer than 95 % of a step's queries are
# answered; the result is the highest rate answered at >= 95 % ("final rate reached before failing").
# Every query carries an ECS option with a random address from BENCH_COLD_ECS.
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A COLD_LOAD=()  # round -> load average when the round started
cold_ramp() { # name round
  local name="$1" round="$2" raw="$WORK/cold/$1/ramp$2.txt" rate
  # A ramp from 5,000 to 500,000 qps takes under 50 s; calidns 4.7.3 has been seen to stay for
  # minutes after printing its result, so 120 s bounds a ramp and the result is read from the log.
  timeout 120 "${PIN_C[@]}" calidns --ecs "$COLD_ECS" --minimum-success-rate 95 --increment 1.1 \
    "$WORK/cold-queries.txt" "127.0.0.1:${PORTS[$name]}" "$COLD_START" 100 >"$raw" 2>&1 || true
  rate="$(sed -n 's/^The final rate reached before failing was \([0-9.]*\) qps.*/\1/p' "$raw" | tail -1)"
  if [[ -n "$rate" ]]; then SAT_QPS[cold:ramp:$name:$round]="$(printf '%.0f' "$rate")"; else echo "bench:dns:   $name: no result (log: $raw)" >&2; fi
  if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then die "$name died during the ramp; log: $(tail -5 "$WORK/cold/$name/server.log")"; fi
}
check_cold() { # port name: www answers one of the three regions' addresses with an ECS option
  local got
  got="$(dig +norec +short +time=2 +tries=1 -p "$1" @127.0.0.1 "www.$ORIGIN" A +subnet=81.2.69.0/24 2>&1 | head -1)"
  echo "bench:dns:   check $2 www +subnet=81.2.69.0/24 -> $got" >&2
  [[ "$2" == bare || " 192.0.2.10 198.51.100.10 203.0.113.10 " == *" $got "* ]]
}
run_cold() {
  # calidns takes one "unknown" query from the file per 1 s step (hit rate 100 %): one line per step
  local i name ran=() order
  for (( i = 0; i < 4000; i++ )); do echo "www.$ORIGIN A"; done >"$WORK/cold-queries.txt"
  for name in $COLD_SERVERS; do
    port="$(pick_port)"
    start_server "$name" "$port"
    PIDS[$name]=$SERVER_PID; PORTS[$name]=$port; LABELS[$name]=$LABEL; LABELS_ALL[cold:$name]=$LABEL; SERVER_PID=""
    echo "bench:dns: $LABEL on 127.0.0.1:$port (server CPU ${SCPU}, calidns CPU ${CCPU})" >&2
    check_cold "$port" "$name" || die "$name: unexpected answer for www"
    if (( WARMUP > 0 )); then # the miss path under load, so that V8 has compiled it
      timeout "$WARMUP" "${PIN_C[@]}" calidns --ecs "$COLD_ECS" --maximum-qps "$COLD_START" "$WORK/cold-queries.txt" \
        "127.0.0.1:$port" "$COLD_START" 100 >/dev/null 2>&1 || true
    fi
    ran+=("$name")
  done
  RAN[cold]="${ran[*]}"
  for (( r = 1; r <= ROUNDS; r++ )); do
    COLD_LOAD[$r]="$(cut -d' ' -f1-3 /proc/loadavg)"
    ROUND_LOAD[cold:$r]="${COLD_LOAD[$r]%% *}"
    order=("${ran[@]}")
    if (( r % 2 == 0 )); then order=(); for (( i = ${#ran[@]} - 1; i >= 0; i-- )); do order+=("${ran[$i]}"); done; fi
    for name in "${order[@]}"; do
      echo "bench:dns:   round $r/$ROUNDS, calidns ramp --ecs $COLD_ECS: $name" >&2
      cold_ramp "$name" "$r"
    done
  done
}

for SCENARIO in $SCENARIOS; do
  if [[ "$SCENARIO" == cold ]]; then
    echo "bench:dns: scenario cold" >&2
    run_cold
    stop_servers
    continue
  fi
  ecs_label="ECS $GEO_ECS_NET/$GEO_ECS_LEN"
  SC_SERVERS="$SERVERS"; CLIENTS=1
  case "$SCENARIO" in
    static) QUERIES="$HERE/queries.txt"; WARM_ARGS=(); MAX_KEYS[static]="max"
            LOAD_LBL[static:max]="max (-q $OUTSTANDING)" ;;
    workers) QUERIES="$HERE/queries.txt"; WARM_ARGS=(); MAX_KEYS[workers]="max"; CLIENTS="$WCLIENTS"
             LOAD_LBL[workers:max]="max (-c $WCLIENTS -q $OUTSTANDING)"
             # gdnsd with one thread and with the most workers' count of threads, then each runtime's servers
             MAXW=1; for w in $WORKER_COUNTS; do if (( w > MAXW )); then MAXW=$w; fi; done
             SC_SERVERS="gdnsd"; if (( MAXW > 1 )); then SC_SERVERS+=" gdnsd-t$MAXW"; fi
             for (( i = 1; i <= ${#NODES[@]}; i++ )); do for w in $WORKER_COUNTS; do SC_SERVERS+=" mw-$w-$i"; done; done ;;
    geo) QUERIES="$HERE/queries-geo.txt"; WARM_ARGS=("${GEO_ECS[@]}"); MAX_KEYS[geo]="max max-noecs"
         LOAD_LBL[geo:max]="max (-q $OUTSTANDING), $ecs_label"; LOAD_LBL[geo:max-noecs]="max (-q $OUTSTANDING), no ECS" ;;
  esac
  echo "bench:dns: scenario $SCENARIO" >&2
  # 1. Start every server of the scenario once. They stay up (idle, on the same CPU) until the scenario ends,
  #    and only the one being measured gets load.
  ran=()
  for name in $SC_SERVERS; do
    if [[ "$SCENARIO" == geo && "$name" == dns2 ]]; then
      echo "bench:dns:   dns2 skipped in geo (it has no routing)" >&2; continue
    fi
    if [[ "$name" == meridian-rrl && "${MERIDIAN_SERVER:-meridian}" == nsd ]]; then
      echo "bench:dns:   meridian-rrl skipped (the nsd stand-in has no RRL setting here)" >&2; continue
    fi
    if [[ "$SCENARIO" == geo && "$name" == meridian && "${MERIDIAN_SERVER:-meridian}" == nsd ]]; then
      echo "bench:dns:   nsd stand-in skipped in geo (it has no routing)" >&2; continue
    fi
    [[ -z "${PIDS[$name]:-}" ]] || die "server '$name' listed twice in BENCH_SERVERS"
    port="$(pick_port)"
    start_server "$name" "$port"
    PIDS[$name]=$SERVER_PID; PORTS[$name]=$port; LABELS[$name]=$LABEL; LABELS_ALL[$SCENARIO:$name]=$LABEL; SERVER_PID=""
    echo "bench:dns: $LABEL on 127.0.0.1:$port ($([[ "$SCENARIO" == workers ]] || echo "server CPU ${SCPU}, ")dnsperf CPU ${CCPU})" >&2
    if [[ "$SCENARIO" == geo ]]; then check_geo "$port" "$name" || die "$name: geo answers differ from the expected routing"; fi
    if (( WARMUP > 0 )); then
      SECONDS_SAVE=$SECONDS_RUN; SECONDS_RUN=$WARMUP
      perf "$port" "$WORK/$SCENARIO/$name/warmup.txt" -l "$WARMUP" -q "$OUTSTANDING" "${WARM_ARGS[@]}" >/dev/null
      SECONDS_RUN=$SECONDS_SAVE
    fi
    ran+=("$name")
  done
  RAN[$SCENARIO]="${ran[*]}"
  # 2. Interleaved rounds of the max runs: round 1 in BENCH_SERVERS order, round 2 reversed, and so on, so
  #    that the runs compared within a round are neighbours in time and no server always goes first.
  for (( r = 1; r <= ROUNDS; r++ )); do
    ROUND_LOAD[$SCENARIO:$r]="$(cut -d' ' -f1 /proc/loadavg)"
    order=("${ran[@]}")
    if (( r % 2 == 0 )); then order=(); for (( i = ${#ran[@]} - 1; i >= 0; i-- )); do order+=("${ran[$i]}"); done; fi
    for key in ${MAX_KEYS[$SCENARIO]}; do
      max_args "$key"
      for name in "${order[@]}"; do
        echo "bench:dns:   round $r/$ROUNDS, ${LOAD_LBL[$SCENARIO:$key]}, ${SECONDS_RUN}s: $name" >&2
        run_load "$name" "$r" "${LOAD_LBL[$SCENARIO:$key]}" "$key" "${LOAD_ARGS[@]}"
      done
    done
  done
  # 3. One fixed-rate (latency) run per server, after the rounds (not in workers: it measures throughput only).
  if (( RATE > 0 )) && [[ "$SCENARIO" != workers ]]; then
    for name in "${ran[@]}"; do
      echo "bench:dns:   fixed-rate run, ${SECONDS_RUN}s at ${RATE} qps: $name" >&2
      if [[ "$SCENARIO" == static ]]; then
        run_load "$name" - "fixed (-Q $RATE)" rate -Q "$RATE"
      else
        run_load "$name" - "fixed (-Q $RATE), $ecs_label" rate -Q "$RATE" "${GEO_ECS[@]}"
      fi
    done
  fi
  stop_servers
done

# median / min / max of the numbers given as arguments: "median min max" (median of an even count = mean
# of the two middle values)
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s %s %s\n", m, v[1], v[NR] }'
}
# quartiles of the numbers given as arguments: "p25 median p75 min max" (linear interpolation between ranks)
quartiles() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    function q(p,   h, i) { h = (NR - 1) * p + 1; i = int(h); return (i >= NR) ? v[NR] : v[i] + (h - i) * (v[i + 1] - v[i]) }
    END { if (NR == 0) exit; printf "%s %s %s %s %s\n", q(0.25), q(0.5), q(0.75), v[1], v[NR] }'
}
# per-round ratios of server a to server b in one scenario and max-run key:
# sets RATIO_LIST ("0.55, 0.58, 0.61"; n/a for a round where b answered nothing), RATIO_MED ("" if none),
# RATIO_VALUES (the numbers) and RATIO_SPREAD ("quartiles 0.97–1.05, range 0.91–1.12" over the rounds)
round_ratios() { # scenario key a b
  local r a b rs=() x p25 p75 lo hi
  RATIO_LIST=""; RATIO_MED=""; RATIO_VALUES=(); RATIO_SPREAD=""
  for (( r = 1; r <= ROUNDS; r++ )); do
    a="${SAT_QPS[$1:$2:$3:$r]:-}"; b="${SAT_QPS[$1:$2:$4:$r]:-}"
    if [[ -n "$a" && -n "$b" && "$b" != 0 ]]; then
      x="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f", a / b }')"; rs+=("$x")
      RATIO_LIST+="${RATIO_LIST:+, }$(printf '%.2f' "$x")"
    else
      RATIO_LIST+="${RATIO_LIST:+, }n/a"
    fi
  done
  if (( ${#rs[@]} > 0 )); then
    read -r RATIO_MED _ _ < <(stats "${rs[@]}"); RATIO_MED="$(printf '%.2f' "$RATIO_MED")"
    read -r p25 _ p75 lo hi < <(quartiles "${rs[@]}")
    RATIO_SPREAD="$(printf 'quartiles %.2f–%.2f, range %.2f–%.2f' "$p25" "$p75" "$lo" "$hi")"
    RATIO_VALUES=("${rs[@]}")
  fi
}
has() { [[ " ${RAN[$1]:-} " == *" $2 "* ]]; } # scenario server
print_cold() {
  local name r v vals list med lo hi rl rm loads=""
  for (( r = 1; r <= ROUNDS; r++ )); do loads+="${loads:+; }round $r: ${COLD_LOAD[$r]:-?}"; done
  echo "#### cold: www.$ORIGIN A, a random ECS address per query (calidns --ecs $COLD_ECS)"
  echo
  echo "Meridian serves the demo's www (geo on the embedded country database, then sticky) as a DNS-only node;"
  echo "gdnsd answers www from its weighted plugin (the demo's regions and weights); the bare responder only"
  echo "sets QR and sends the query back. calidns ramps from $COLD_START qps by x1.1 per 1 s step until fewer than"
  echo "95 % of a step's queries are answered; the figure is the highest rate answered at >= 95 %. Server on CPU $SCPU,"
  echo "calidns on CPU $CCPU. Load average (1, 5, 15 min) at the start of the benchmark: $LOADAVG_START; $loads."
  echo
  echo "| server | max qps at >= 95 % per round | median | ratio to gdnsd per round | median ratio |"
  echo "|---|---:|---:|---:|---:|"
  for name in ${RAN[cold]:-}; do
    vals=(); list=""
    for (( r = 1; r <= ROUNDS; r++ )); do
      v="${SAT_QPS[cold:ramp:$name:$r]:-}"; list+="${list:+, }${v:-n/a}"; [[ -n "$v" ]] && vals+=("$v")
    done
    med="n/a"; (( ${#vals[@]} > 0 )) && { read -r med lo hi < <(stats "${vals[@]}"); med="$(printf '%.0f' "$med")"; }
    rl="—"; rm="—"
    if [[ "$name" != gdnsd ]]; then round_ratios cold ramp "$name" gdnsd; rl="$RATIO_LIST"; rm="${RATIO_MED:-n/a}"; fi
    echo "| ${LABELS_ALL[cold:$name]:-$name} | $list | $med | $rl | $rm |"
  done
  ratio_line cold ramp meridian gdnsd 'Meridian/gdnsd cold path (random ECS) max qps' 1 " (issue 17 target: at least 0.40)"
  ratio_line cold ramp bare gdnsd 'bare node:dgram/gdnsd max qps' 0
  ratio_line cold ramp meridian bare 'Meridian/bare node:dgram max qps' 0
}
print_workers() { # the workers scenario's headline ratios, per runtime and worker count, and the split over workers
  local i w v a b name r list
  echo
  echo "How each server with workers spread the max runs' queries over them (queries answered per worker, per round):"
  echo
  echo "| server | per round |"
  echo "|---|---|"
  for name in ${RAN[workers]}; do
    [[ "$name" == mw-* && "${name#mw-1-}" == "$name" ]] || continue
    list=""
    for (( r = 1; r <= ROUNDS; r++ )); do list+="${list:+; }${SPLIT[workers:$name:$r]:-n/a}"; done
    echo "| ${LABELS_ALL[workers:$name]} | $list |"
  done
  for (( i = 1; i <= ${#NODES[@]}; i++ )); do
    v="$("${NODES[$((i - 1))]}" -v)"
    for w in $WORKER_COUNTS; do
      (( w > 1 )) || continue
      ratio_line workers max "mw-$w-$i" "mw-1-$i" "Meridian $w workers / 1 worker, node $v" 1
      ratio_line workers max "mw-$w-$i" "gdnsd-t$w" "Meridian $w workers / gdnsd $w threads, node $v" 0
    done
  done
  for w in $WORKER_COUNTS; do
    (( w > 1 )) || continue
    ratio_line workers max "gdnsd-t$w" gdnsd "gdnsd $w threads / 1 thread" 0
  done
  for (( i = 2; i <= ${#NODES[@]}; i++ )); do
    a="$("${NODES[$((i - 1))]}" -v)"; b="$("${NODES[0]}" -v)"
    for w in $WORKER_COUNTS; do ratio_line workers max "mw-$w-$i" "mw-$w-1" "node $a / node $b, $w worker$( ((w > 1)) && echo s)" 0; done
  done
}
ratio_line() { # scenario key a b prefix bold(1/0) [suffix]
  round_ratios "$1" "$2" "$3" "$4"
  [[ -n "$RATIO_MED" ]] || return 0
  local med="$RATIO_MED" r loads=""; [[ "$6" == 1 ]] && med="**$RATIO_MED**"
  for (( r = 1; r <= ROUNDS; r++ )); do loads+="${loads:+, }${ROUND_LOAD[$1:$r]:-?}"; done
  echo
  echo "$5: $med (median of ${#RATIO_VALUES[@]} round$( ((${#RATIO_VALUES[@]} > 1)) && echo s); $RATIO_SPREAD; per round: $RATIO_LIST; load average at each round's start: $loads)${7:-}"
}

{
  echo
  echo "### DNS load, loopback UDP ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $NCPU CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r);" \
    "$( (dnsperf -h 2>&1 || true) | sed -n 's/^Version /dnsperf /p' | head -1); server on CPU $SCPU, dnsperf on CPU $CCPU" \
    "(-c 1 -T 1); ${SECONDS_RUN}s per run. Each server is started once per scenario and warmed up for ${WARMUP}s;" \
    "the max runs then go in $ROUNDS interleaved rounds (one server under load at a time, order reversed every" \
    "other round), followed by one fixed-rate run per server (none in the workers scenario, which pins and loads as its" \
    "heading says)."
  for SCENARIO in $SCENARIOS; do
    echo
    if [[ "$SCENARIO" == cold ]]; then print_cold; continue; fi
    case "$SCENARIO" in
      static) echo "#### static: $(wc -l <"$HERE/queries.txt") static A names" ;;
      workers) echo "#### workers: $(wc -l <"$HERE/queries.txt") static A names, \`serve --workers W\` for W in $WORKER_COUNTS on each runtime, gdnsd with 1 and $MAXW UDP threads;" \
                    "dnsperf -c $WCLIENTS (sockets: SO_REUSEPORT spreads queries by source port) -T 1 on CPU $CCPU; one worker (or gdnsd thread) on CPU $SCPU," \
                    "W of them on CPUs 0..W-1;" \
                    "with $NCPU CPUs the load generator shares CPU $CCPU with a worker, so 2 workers cannot show 2x here (bench/dns/README.md)" ;;
      geo) echo "#### geo: $GEO_NAME A (geo + weighted; gdnsd geoip -> weighted), geodb/test-city.mmdb;" \
                "ECS runs send $GEO_ECS_NET/$GEO_ECS_LEN (EU -> weighted eu-west/eu-central), no-ECS run sends EDNS from 127.0.0.1 (default list)" ;;
    esac
    echo
    echo "Runs, in the order they ran:"
    echo
    echo "| round | server | load | qps | p50 ms | p99 ms | lost % | completed/sent |"
    echo "|---:|---|---|---:|---:|---:|---:|---:|"
    printf '%s' "${ROWS[$SCENARIO]:-}"
    echo
    echo "Max runs over $ROUNDS round$( ((ROUNDS > 1)) && echo s) (ratio: this server's qps / gdnsd's qps in the same round):"
    echo
    echo "| server | load | median qps | min–max qps | qps per round | ratio to gdnsd per round | median ratio |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for key in ${MAX_KEYS[$SCENARIO]}; do
      for name in ${RAN[$SCENARIO]}; do
        vals=(); list=""
        for (( r = 1; r <= ROUNDS; r++ )); do
          v="${SAT_QPS[$SCENARIO:$key:$name:$r]:-}"; [[ -n "$v" ]] || continue
          vals+=("$v"); list+="${list:+, }$v"
        done
        (( ${#vals[@]} > 0 )) || continue
        read -r med lo hi < <(stats "${vals[@]}")
        rl="—"; rm="—"
        if [[ "$name" != gdnsd ]] && has "$SCENARIO" gdnsd; then
          round_ratios "$SCENARIO" "$key" "$name" gdnsd; rl="$RATIO_LIST"; rm="${RATIO_MED:-n/a}"
        fi
        printf '| %s | %s | %.0f | %s–%s | %s | %s | %s |\n' "${LABELS_ALL[$SCENARIO:$name]:-$name}" \
          "${LOAD_LBL[$SCENARIO:$key]}" "$med" "$lo" "$hi" "$list" "$rl" "$rm"
      done
    done
    if [[ "$SCENARIO" == workers ]]; then
      print_workers
    elif [[ "$SCENARIO" == static ]]; then
      ratio_line static max meridian gdnsd 'Meridian/gdnsd max qps' 1
      ratio_line static max meridian dns2 'Meridian/dns2 max qps' 0
      ratio_line static max meridian-rrl meridian 'Meridian RRL on/off max qps' 1 " (issue 16 budget: at least 0.90)"
    else
      ratio_line geo max meridian gdnsd 'Meridian/gdnsd geo max qps' 1 ", ECS $GEO_ECS_NET/$GEO_ECS_LEN"
      ratio_line geo max-noecs meridian gdnsd 'Meridian/gdnsd geo max qps, no ECS' 0
      ratio_line geo max meridian-rrl meridian 'Meridian RRL on/off geo max qps' 1 ", ECS $GEO_ECS_NET/$GEO_ECS_LEN"
    fi
  done
  echo
  echo "p50/p99: per-query latency from dnsperf -v (1 µs buckets); in the max run it includes queueing behind $OUTSTANDING in-flight queries."
  echo "Ratios are taken within a round (runs next to each other in time share the machine's state) and the"
  echo "median over the rounds is reported; min–max shows how much one server's qps moved between rounds."
} | tee "${BENCH_OUT:-/dev/null}"
echo "bench:dns: done in $(( $(date +%s) - T_START )) s" >&2
