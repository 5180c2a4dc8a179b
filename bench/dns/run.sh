#!/usr/bin/env bash
# Loopback DNS load benchmark: Meridian vs gdnsd, same zone, same queries, same CPU pinning.
# Usage: npm run bench:dns      (or: bash bench/dns/run.sh)
# See bench/dns/README.md. All traffic goes to 127.0.0.1; every dnsperf run is bounded by -l and `timeout`.
#
# Env (defaults in brackets):
#   BENCH_SECONDS [10]      length of each measured dnsperf run
#   BENCH_WARMUP [2]        unmeasured warm-up run before the measured ones (JIT, caches); 0 = none
#   BENCH_OUTSTANDING [100] dnsperf -q: queries in flight in the saturation run
#   BENCH_RATE [5000]       dnsperf -Q for the fixed-rate (latency) run; 0 = skip that run
#   BENCH_SERVERS ["meridian gdnsd dns2"]  which servers, in order (dns2 = bench/dns/dns2-server.mjs,
#                           a naive dns2 3.1.1 server, included when that file exists)
#   BENCH_SERVER_CPU [0] / BENCH_CLIENT_CPU [1]   taskset CPUs
#   BENCH_OUT [unset]       also write the markdown table to this file
#   BENCH_KEEP [unset]      1 = keep the work dir (raw dnsperf output, server logs)
#   MERIDIAN_CMD            command prefix for Meridian ("serve --config <file>" is appended);
#                           default: node dist/cli.js after `npm run build` (tsx from src/ if the build fails)
#   MERIDIAN_SERVER=nsd     put NSD in the Meridian slot (stand-in, to check this script)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SECONDS_RUN="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-2}"
OUTSTANDING="${BENCH_OUTSTANDING:-100}"
RATE="${BENCH_RATE:-5000}"
DEFAULT_SERVERS="meridian gdnsd"
[[ -f "$HERE/dns2-server.mjs" ]] && DEFAULT_SERVERS+=" dns2"
SERVERS="${BENCH_SERVERS:-$DEFAULT_SERVERS}"
SCPU="${BENCH_SERVER_CPU:-0}"
CCPU="${BENCH_CLIENT_CPU:-1}"
ORIGIN=gslb.example.com
ZONE="$HERE/gslb.example.com.zone"
QUERIES="$HERE/queries.txt"

die() { echo "bench:dns: $*" >&2; exit 1; }
for n in "$SECONDS_RUN" "$WARMUP" "$OUTSTANDING" "$RATE"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_* values must be integers (got '$n')"
done
(( SECONDS_RUN >= 1 && SECONDS_RUN <= 600 )) || die "BENCH_SECONDS must be 1..600"
(( WARMUP <= 60 )) || die "BENCH_WARMUP must be 0..60"
for tool in dnsperf dig taskset awk; do command -v "$tool" >/dev/null || die "$tool not found (apt-get install dnsperf bind9-dnsutils util-linux)"; done

NCPU="$(nproc)"
PIN_S=(taskset -c "$SCPU")
PIN_C=(taskset -c "$CCPU")
if (( NCPU < 2 )); then
  echo "bench:dns: only $NCPU CPU: running without pinning (server and client share the CPU)" >&2
  PIN_S=(); PIN_C=()
fi

WORK="$(mktemp -d /tmp/bench-dns.XXXXXX)"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
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

start_server() { # name port -> sets SERVER_PID, LABEL
  local name="$1" port="$2" dir="$WORK/$1"
  mkdir -p "$dir"
  case "$name" in
    gdnsd)
      command -v gdnsd >/dev/null || die "gdnsd not found (apt-get install gdnsd)"
      mkdir -p "$dir/etc/zones" "$dir/run" "$dir/state"
      sed -e "s|@PORT@|$port|" -e "s|@RUN_DIR@|$dir/run|" -e "s|@STATE_DIR@|$dir/state|" \
        "$HERE/gdnsd/config" >"$dir/etc/config"
      cp "$ZONE" "$dir/etc/zones/$ORIGIN"
      "${PIN_S[@]}" gdnsd -c "$dir/etc" start >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="gdnsd $( (gdnsd -h 2>&1 || true) | sed -n 's/^gdnsd version \([^ ]*\).*/\1/p' | head -1)"
      ;;
    meridian)
      cp "$ZONE" "$dir/$ORIGIN.zone"
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
        cat >"$dir/meridian.yaml" <<EOF
dns:
  listen: ["127.0.0.1:$port"]
  udpSize: 1232
  tcp: { idleTimeoutMs: 10000, ioTimeoutMs: 2000, maxConnections: 256 }
  chaos: false
zones:
  - origin: $ORIGIN
    file: $ORIGIN.zone
EOF
        local cmd
        if [[ -n "${MERIDIAN_CMD:-}" ]]; then
          # shellcheck disable=SC2206 # intentional word splitting of the command prefix
          cmd=(${MERIDIAN_CMD})
        elif (cd "$REPO" && npm run -s build >/dev/null 2>&1) && [[ -f "$REPO/dist/cli.js" ]]; then
          # Benchmark what production runs: the compiled build, freshly rebuilt from src/.
          cmd=(node "$REPO/dist/cli.js")
        elif [[ -f "$REPO/src/cli.ts" ]]; then
          cmd=(node --import tsx "$REPO/src/cli.ts")
        else
          die "Meridian entry point not found (src/cli.ts); set MERIDIAN_CMD or MERIDIAN_SERVER=nsd"
        fi
        (cd "$REPO" && exec "${PIN_S[@]}" "${cmd[@]}" serve --config "$dir/meridian.yaml") >"$dir/server.log" 2>&1 &
        SERVER_PID=$!
        LABEL="meridian $(node -p "require('$REPO/package.json').version" 2>/dev/null) (node $(node -v))"
      fi
      ;;
    dns2)
      [[ -f "$HERE/dns2-server.mjs" ]] || die "bench/dns/dns2-server.mjs not found"
      (cd "$REPO" && exec "${PIN_S[@]}" node "$HERE/dns2-server.mjs" "$port") >"$dir/server.log" 2>&1 &
      SERVER_PID=$!
      LABEL="dns2 $(node -p "require('$REPO/node_modules/dns2/package.json').version" 2>/dev/null) (naive reference)"
      ;;
    *) die "unknown server '$name' (want meridian, gdnsd or dns2)" ;;
  esac
  wait_ready "$port" "$dir/server.log" || die "$name did not start"
}

# dnsperf run -> raw file; prints "qps lost_pct p50_ms p99_ms completed sent"
perf() { # port outfile extra-args...
  local port="$1" out="$2"; shift 2
  timeout $(( SECONDS_RUN + 30 )) "${PIN_C[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" \
    -c 1 -T 1 -t 2 -v "$@" >"$out" 2>&1 || { echo "dnsperf failed:" >&2; tail -20 "$out" >&2; return 1; }
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

declare -A SAT_QPS
ROWS=()
for name in $SERVERS; do
  port="$(pick_port)"
  start_server "$name" "$port"
  echo "bench:dns: $LABEL on 127.0.0.1:$port (server CPU ${SCPU}, dnsperf CPU ${CCPU})" >&2
  if (( WARMUP > 0 )); then
    SECONDS_SAVE=$SECONDS_RUN; SECONDS_RUN=$WARMUP
    perf "$port" "$WORK/$name/warmup.txt" -l "$WARMUP" -q "$OUTSTANDING" >/dev/null
    SECONDS_RUN=$SECONDS_SAVE
  fi
  echo "bench:dns:   saturation run: ${SECONDS_RUN}s, ${OUTSTANDING} in flight" >&2
  read -r qps lost p50 p99 done sent < <(perf "$port" "$WORK/$name/saturation.txt" -l "$SECONDS_RUN" -q "$OUTSTANDING")
  SAT_QPS[$name]=$qps
  ROWS+=("| $LABEL | max (-q $OUTSTANDING) | $qps | $p50 | $p99 | $lost | $done/$sent |")
  if (( RATE > 0 )); then
    echo "bench:dns:   fixed-rate run: ${SECONDS_RUN}s at ${RATE} qps" >&2
    read -r qps lost p50 p99 done sent < <(perf "$port" "$WORK/$name/rate.txt" -l "$SECONDS_RUN" -q "$OUTSTANDING" -Q "$RATE")
    ROWS+=("| $LABEL | fixed (-Q $RATE) | $qps | $p50 | $p99 | $lost | $done/$sent |")
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then die "$name died during the run; log: $(tail -5 "$WORK/$name/server.log")"; fi
  stop_server
done

{
  echo
  echo "### DNS load, loopback UDP ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $NCPU CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r);" \
    "$( (dnsperf -h 2>&1 || true) | sed -n 's/^Version /dnsperf /p' | head -1); server on CPU $SCPU, dnsperf on CPU $CCPU" \
    "(-c 1 -T 1); ${SECONDS_RUN}s per run after ${WARMUP}s warm-up; queries: $(wc -l <"$QUERIES") static A names."
  echo
  echo "| server | load | qps | p50 ms | p99 ms | lost % | completed/sent |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  if [[ -n "${SAT_QPS[meridian]:-}" && -n "${SAT_QPS[gdnsd]:-}" && "${SAT_QPS[gdnsd]}" != 0 ]]; then
    echo
    awk -v m="${SAT_QPS[meridian]}" -v g="${SAT_QPS[gdnsd]}" \
      'BEGIN { printf "Meridian/gdnsd max qps: **%.3f** (%d / %d)\n", m / g, m, g }'
  fi
  if [[ -n "${SAT_QPS[meridian]:-}" && -n "${SAT_QPS[dns2]:-}" && "${SAT_QPS[dns2]}" != 0 ]]; then
    echo
    awk -v m="${SAT_QPS[meridian]}" -v d="${SAT_QPS[dns2]}" \
      'BEGIN { printf "Meridian/dns2 max qps: %.3f (%d / %d)\n", m / d, m, d }'
  fi
  echo
  echo "p50/p99: per-query latency from dnsperf -v (1 µs buckets); in the max run it includes queueing behind $OUTSTANDING in-flight queries."
} | tee "${BENCH_OUT:-/dev/null}"
