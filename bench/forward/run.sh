#!/usr/bin/env bash
# Loopback L4 TCP forwarder benchmark: Meridian's forwarder vs HAProxy (mode tcp, one thread), same backends,
# same load tools, same CPU pinning, in the same run. Figures (issue 7):
#   bulk       iperf3 single-stream throughput through the forwarder (client -> forwarder -> iperf3 -s)
#   keepalive  wrk requests/s over keep-alive connections (forwarder -> HTTP backend)
#   newconn    wrk requests/s with "Connection: close": every request is a new TCP connection through the
#              forwarder (and a new forwarder -> backend connection)
# Usage: npm run bench:forward      (or: bash bench/forward/run.sh)
# See bench/forward/README.md. All traffic goes to 127.0.0.1; every load run is bounded by -t/-d and `timeout`.
#
# Env (defaults in brackets):
#   BENCH_FIGURES ["bulk keepalive newconn"]  which figures, in this order within a round
#   BENCH_SECONDS [5]       length of each measured run (iperf3 adds a 1 s omitted pre-test, -O 1)
#   BENCH_ROUNDS [3]        interleaved rounds: every round measures each figure on each server in turn
#                           (server order reversed every other round); ratios to HAProxy are taken per round
#                           and the median is reported
#   BENCH_WARMUP [1]        unmeasured warm-up seconds per server and figure after the servers start; 0 = none
#   BENCH_CONNS [50]        wrk -c (concurrent connections), wrk runs with one thread (-t 1)
#   BENCH_SERVERS ["meridian naive fast haproxy"]  which forwarders, in order. Besides those four names,
#                           "fast:FLAG+FLAG" runs fast-relay.mjs with --FLAG --FLAG (the relay research ablation,
#                           see README.md), e.g. BENCH_SERVERS="fast fast:pipe fast:no-onread haproxy";
#                           a FLAG "node=OPT" is a node option instead, e.g. fast:node=--max-semi-space-size=16.
#                           "raw" = raw-relay.mjs, the experiment on Node's internal handle bindings
#   FORWARDER [auto]        what runs in the meridian slot: meridian (`meridian forward`, see MERIDIAN_FORWARD_CMD),
#                           naive (bench/forward/naive-pipe.mjs) or fast (bench/forward/fast-relay.mjs) as a
#                           stand-in; auto = meridian when src/cli.ts has the forward subcommand (or
#                           MERIDIAN_FORWARD_CMD is set), else the naive stand-in. A stand-in
#                           in the slot replaces that program's own row (no duplicate runs)
#   MERIDIAN_FORWARD_CMD    command prefix for Meridian's forwarder, subcommand included ("--config <file> --region
#                           bench" is appended); default: "node dist/cli.js forward" after `npm run build` (run once,
#                           and only if `tsc -p tsconfig.build.json --noEmit` passes)
#   NODE_FLAGS [""]         extra node flags for the node forwarders (naive, fast), e.g. --max-semi-space-size=16
#   HAPROXY_SPLICE [0]      1 = "option splice-auto" in the HAProxy under test (kernel splice for bulk data)
#   BENCH_FWD_CPU [0] / BENCH_LOAD_CPU [1]  taskset CPUs: the forwarder under test alone on one CPU; the load tool
#                           (wrk, iperf3 -c) and the backend (HAProxy http, iperf3 -s) on the other
#   BENCH_SPIN [1]          1 = keep both CPUs from going idle with one SCHED_IDLE busy loop each (chrt -i 0): any
#                           normal task preempts it at once, but the vCPU never halts, so a wake-up does not pay the
#                           VM's halt/IPI exit (see README.md: without it, the most efficient forwarder is penalised
#                           most). Their CPU time is left out of the "busy" columns; they add 2 to the load average
#   BENCH_FWD_QUOTA [0]     forwarder-bound mode: cap the forwarder under test at this % of one CPU (CFS quota in a
#                           cgroup of its own; needs root and a writable cgroup cpu controller), so that the forwarder,
#                           not the load side, is the bottleneck. 0 = no cap (the issue-7 setup)
#   BENCH_OUT [unset]       also write the markdown tables to this file
#   BENCH_KEEP [unset]      1 = keep the work dir (raw wrk/iperf3 output, configs, server logs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SECONDS_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-1}"
CONNS="${BENCH_CONNS:-50}"
FIGURES="${BENCH_FIGURES:-bulk keepalive newconn}"
FCPU="${BENCH_FWD_CPU:-0}"
LCPU="${BENCH_LOAD_CPU:-1}"
FORWARDER="${FORWARDER:-auto}"
HAPROXY_SPLICE="${HAPROXY_SPLICE:-0}"
QUOTA="${BENCH_FWD_QUOTA:-0}"
SPIN="${BENCH_SPIN:-1}"
read -r -a NODE_FLAGS_A <<<"${NODE_FLAGS:-}"

die() { echo "bench:forward: $*" >&2; exit 1; }
say() { echo "bench:forward: $*" >&2; }
for n in "$SECONDS_RUN" "$ROUNDS" "$WARMUP" "$CONNS" "$FCPU" "$LCPU" "$QUOTA" "$SPIN"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_* values must be integers (got '$n')"
done
(( SECONDS_RUN >= 1 && SECONDS_RUN <= 120 )) || die "BENCH_SECONDS must be 1..120"
(( ROUNDS >= 1 && ROUNDS <= 20 )) || die "BENCH_ROUNDS must be 1..20"
(( WARMUP <= 30 )) || die "BENCH_WARMUP must be 0..30"
(( CONNS >= 1 && CONNS <= 2000 )) || die "BENCH_CONNS must be 1..2000"
(( QUOTA <= 100 )) || die "BENCH_FWD_QUOTA must be 0..100"
for f in $FIGURES; do [[ "$f" == bulk || "$f" == keepalive || "$f" == newconn ]] || die "unknown figure '$f' (want bulk, keepalive, newconn)"; done
for tool in haproxy iperf3 wrk curl taskset ss awk node; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install haproxy iperf3 wrk curl util-linux iproute2)"
done

NCPU="$(nproc)"
PIN_F=(taskset -c "$FCPU")
PIN_L=(taskset -c "$LCPU")
if (( NCPU < 2 )); then
  say "only $NCPU CPU: running without pinning (forwarder, load tool and backend share the CPU)"
  PIN_F=(); PIN_L=(); FCPU=-; LCPU=-; SPIN=0
fi
if [[ "$SPIN" == 1 ]] && ! command -v chrt >/dev/null; then say "chrt not found: no idle spinners (BENCH_SPIN=0)"; SPIN=0; fi

# The meridian slot.
if [[ "$FORWARDER" == auto ]]; then
  # meridian once the CLI has the `forward` subcommand (or a command is given); until then the naive stand-in
  if [[ -n "${MERIDIAN_FORWARD_CMD:-}" ]] || grep -q "case 'forward'" "$REPO/src/cli.ts" 2>/dev/null; then FORWARDER=meridian
  else FORWARDER=naive; say "src/cli.ts has no 'forward' subcommand yet: the naive pipe stands in for meridian (FORWARDER=naive)"; fi
fi
case "$FORWARDER" in meridian|naive|fast) ;; *) die "FORWARDER must be meridian, naive, fast or auto (got '$FORWARDER')" ;; esac
SERVERS=()
for s in ${BENCH_SERVERS:-meridian naive fast haproxy}; do
  # a stand-in in the meridian slot is that program: skip its own row
  if [[ "$FORWARDER" != meridian && "$s" == "$FORWARDER" && " ${BENCH_SERVERS:-meridian naive fast haproxy} " == *" meridian "* ]]; then continue; fi
  case "$s" in meridian|naive|fast|haproxy|fast:*|raw) ;; *) die "unknown server '$s' (want meridian, naive, fast, fast:FLAGS, raw, haproxy)" ;; esac
  [[ " ${SERVERS[*]:-} " != *" $s "* ]] || die "server '$s' listed twice in BENCH_SERVERS"
  SERVERS+=("$s")
done
(( ${#SERVERS[@]} > 0 )) || die "no servers"
[[ " ${SERVERS[*]} " == *" haproxy "* ]] || say "haproxy not in BENCH_SERVERS: no ratios"

# Forwarder-bound mode: a cgroup with a CFS quota (10 ms period) that every forwarder under test starts in.
CG=""
if (( QUOTA > 0 )); then
  if [[ -w /sys/fs/cgroup/cgroup.subtree_control ]] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
    CG="/sys/fs/cgroup/bench-forward-$$"; mkdir "$CG" || die "cannot create $CG"
    echo "$(( QUOTA * 100 )) 10000" >"$CG/cpu.max" || die "cannot set $CG/cpu.max"
  elif [[ -w /sys/fs/cgroup/cpu/cgroup.procs ]]; then
    CG="/sys/fs/cgroup/cpu/bench-forward-$$"; mkdir "$CG" || die "cannot create $CG"
    echo 10000 >"$CG/cpu.cfs_period_us" && echo "$(( QUOTA * 100 ))" >"$CG/cpu.cfs_quota_us" || die "cannot set the quota in $CG"
  else
    die "BENCH_FWD_QUOTA needs a writable cgroup cpu controller (/sys/fs/cgroup v2 with cpu, or v1 /sys/fs/cgroup/cpu)"
  fi
fi
cg_enter() { [[ -z "$CG" ]] || echo "$BASHPID" >"$CG/cgroup.procs"; } # in a subshell, before exec

WORK="$(mktemp -d /tmp/bench-forward.XXXXXX)"
T_START="$(date +%s)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A PIDS=() PORTS=() LABELS=()  # per server (forwarders of the current scenario)
declare -A SPIN_PID=()                 # per CPU: its SCHED_IDLE busy loop
BACKEND_PIDS=()
SERVER_PID=""
stop_pid() { # pid
  local pid="$1"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
stop_forwarders() {
  local n
  for n in "${!PIDS[@]}"; do stop_pid "${PIDS[$n]}"; done
  stop_pid "$SERVER_PID"
  PIDS=(); PORTS=(); SERVER_PID=""
}
stop_backends() { local p; for p in "${BACKEND_PIDS[@]}"; do stop_pid "$p"; done; BACKEND_PIDS=(); }
cleanup() {
  stop_forwarders; stop_backends
  local c; for c in "${!SPIN_PID[@]}"; do stop_pid "${SPIN_PID[$c]}"; done
  if [[ -n "$CG" ]]; then rmdir "$CG" 2>/dev/null || say "could not remove $CG"; fi
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# Listening ports below the ephemeral range (32768-60999 here), so that they never collide with the
# source ports of the many connections of the newconn figure.
port_free() { ! ss -Hlnt "sport = :$1" 2>/dev/null | grep -q . && ! ss -Hnt "sport = :$1" 2>/dev/null | grep -q .; }
declare -A PICKED=()
pick_port() { # -> PORT (not in a subshell: PICKED remembers the ports handed out in this run)
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if [[ -z "${PICKED[$p]:-}" ]] && port_free "$p"; then PICKED[$p]=1; PORT=$p; return 0; fi
  done
  die "no free port found"
}
wait_listen() { # port pid logfile name
  local i
  for i in $(seq 1 300); do # at most ~60 s
    if ! kill -0 "$2" 2>/dev/null; then say "$4 exited; log:"; tail -30 "$3" >&2; return 1; fi
    if ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.2
  done
  say "$4 not listening on $1 after 60 s; log:"; tail -30 "$3" >&2; return 1
}

# Idle spinners: a vCPU with nothing to run halts, and waking it costs a VM exit and an IPI, tens of µs. A
# SCHED_IDLE loop keeps both vCPUs running; any other task preempts it immediately on wake-up.
if [[ "$SPIN" == 1 ]]; then
  for c in "$FCPU" "$LCPU"; do
    chrt -i 0 taskset -c "$c" sh -c 'while :; do :; done' &
    SPIN_PID[$c]=$!
  done
fi

# ---- backends (on the load CPU) -------------------------------------------------------------------------
HTTP_BACKEND_PORT=""; IPERF_PORT=""
start_http_backend() {
  local dir="$WORK/backend-http" port; pick_port; port=$PORT; mkdir -p "$dir"
  # A fast non-node HTTP backend: HAProxy in mode http answering every request itself (no server behind
  # it), keep-alive on (HAProxy's default http-keep-alive mode), one thread.
  cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout http-request 10s
  timeout http-keep-alive 10s
frontend backend_http
  bind 127.0.0.1:$port
  http-request return status 200 content-type text/plain string ok
EOF
  "${PIN_L[@]}" haproxy -db -f "$dir/haproxy.cfg" >"$dir/log" 2>&1 &
  BACKEND_PIDS+=($!)
  wait_listen "$port" "$!" "$dir/log" "HTTP backend" || die "HTTP backend did not start"
  [[ "$(curl -s --max-time 2 "http://127.0.0.1:$port/")" == ok ]] || die "HTTP backend does not answer 'ok'"
  HTTP_BACKEND_PORT=$port
}
start_iperf_backend() {
  local dir="$WORK/backend-iperf3" port; pick_port; port=$PORT; mkdir -p "$dir"
  "${PIN_L[@]}" iperf3 -s -B 127.0.0.1 -p "$port" --idle-timeout 30 >"$dir/log" 2>&1 &
  BACKEND_PIDS+=($!)
  wait_listen "$port" "$!" "$dir/log" "iperf3 -s" || die "iperf3 server did not start"
  IPERF_PORT=$port
}

# ---- forwarders under test (on the forwarder CPU) --------------------------------------------------------
MERIDIAN_RUN=()
start_forwarder() { # name port backend-port -> SERVER_PID, LABEL
  local name="$1" port="$2" bport="$3" dir="$WORK/$SCENARIO/${1//[:+]/_}"
  mkdir -p "$dir"
  local impl="$name"
  [[ "$name" == meridian && "$FORWARDER" != meridian ]] && impl="$FORWARDER"
  case "$impl" in
    haproxy)
      local splice=""; [[ "$HAPROXY_SPLICE" == 1 ]] && splice="  option splice-auto"
      cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
$splice
frontend fwd
  bind 127.0.0.1:$port
  default_backend pool
backend pool
  server b1 127.0.0.1:$bport
EOF
      (cg_enter; exec "${PIN_F[@]}" haproxy -db -f "$dir/haproxy.cfg") >"$dir/log" 2>&1 &
      SERVER_PID=$!
      LABEL="HAProxy $(haproxy -v 2>/dev/null | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p' | head -1) (tcp, 1 thread${splice:+, splice-auto})"
      ;;
    naive)
      (cg_enter; cd "$REPO" && exec "${PIN_F[@]}" node "${NODE_FLAGS_A[@]}" "$HERE/naive-pipe.mjs" "$port" "127.0.0.1:$bport") >"$dir/log" 2>&1 &
      SERVER_PID=$!
      LABEL="naive node:net pipe"
      ;;
    raw)
      (cg_enter; cd "$REPO" && exec "${PIN_F[@]}" node "${NODE_FLAGS_A[@]}" "$HERE/raw-relay.mjs" "$port" "127.0.0.1:$bport") >"$dir/log" 2>&1 &
      SERVER_PID=$!
      LABEL="raw-relay.mjs (internal bindings, experiment)"
      ;;
    fast|fast:*)
      local flags=() nflags=()
      if [[ "$impl" == fast:* ]]; then
        local f fl; IFS=+ read -r -a fl <<<"${impl#fast:}"
        for f in "${fl[@]}"; do if [[ "$f" == node=* ]]; then nflags+=("${f#node=}"); else flags+=("--$f"); fi; done
      fi
      (cg_enter; cd "$REPO" && exec "${PIN_F[@]}" node "${NODE_FLAGS_A[@]}" "${nflags[@]}" "$HERE/fast-relay.mjs" "${flags[@]}" "$port" "127.0.0.1:$bport") >"$dir/log" 2>&1 &
      SERVER_PID=$!
      LABEL="${nflags[*]:+node ${nflags[*]} }fast-relay.mjs${flags[*]:+ ${flags[*]}}"
      ;;
    meridian)
      # Forwarder config (src/forward/config.ts, src/config/schema.ts): one region "bench" whose one endpoint
      # is the backend, one service, one listener. Embedded health (no Redis), cold start "up", and an hourly
      # TCP check, so that probes do not touch the backend during the runs (an iperf3 server serves one
      # client at a time). The zone is only there because the config needs one.
      cp "$REPO/bench/dns/gslb.example.com.zone" "$dir/gslb.example.com.zone"
      pick_port
      cat >"$dir/meridian.yaml" <<EOF
dns:
  listen: ["127.0.0.1:$PORT"]
zones:
  - origin: gslb.example.com
    file: gslb.example.com.zone
metrics: { listen: null }
health:
  coldStart: up
regions:
  - id: bench
    location: { lat: 53.35, lon: -6.26, continent: EU, country: IE }
    addresses: { ipv4: [127.0.0.1] }
    endpoints:
      - { id: b1, address: 127.0.0.1, port: $bport, check: { type: tcp, intervalMs: 3600000, timeoutMs: 2000 } }
services:
  - name: fwd.gslb.example.com
    regions: [bench]
forward:
  drainDeadlineMs: 1000
  listeners:
    - { name: bench, service: fwd.gslb.example.com, listen: "127.0.0.1:$port", maxConnections: 10000 }
EOF
      if (( ${#MERIDIAN_RUN[@]} == 0 )); then
        if [[ -n "${MERIDIAN_FORWARD_CMD:-}" ]]; then
          # shellcheck disable=SC2206 # intentional word splitting of the command prefix
          MERIDIAN_RUN=(${MERIDIAN_FORWARD_CMD})
        elif (cd "$REPO" && npx tsc -p tsconfig.build.json --noEmit >"$WORK/typecheck.log" 2>&1 && npm run -s build >"$WORK/build.log" 2>&1) \
             && [[ -f "$REPO/dist/cli.js" ]]; then
          MERIDIAN_RUN=(node "$REPO/dist/cli.js" forward)
        else
          say "the build failed; log:"; tail -20 "$WORK/typecheck.log" "$WORK/build.log" >&2 2>/dev/null || true
          die "cannot build Meridian; set MERIDIAN_FORWARD_CMD, or FORWARDER=naive for the stand-in"
        fi
      fi
      (cg_enter; cd "$REPO" && exec "${PIN_F[@]}" "${MERIDIAN_RUN[@]}" --config "$dir/meridian.yaml" --region bench) >"$dir/log" 2>&1 &
      SERVER_PID=$!
      LABEL="meridian forward $(node -p "require('$REPO/package.json').version" 2>/dev/null)"
      ;;
  esac
  if [[ "$name" == meridian && "$impl" != meridian ]]; then LABEL="$LABEL (stand-in for meridian)"; fi
  wait_listen "$port" "$SERVER_PID" "$dir/log" "$name" || die "$name did not start"
}

# ---- measurements ----------------------------------------------------------------------------------------
# CPU accounting: the forwarder process's utime+stime (all threads) and each CPU's busy share (from
# /proc/stat; includes softirq time, which the kernel does not charge to the process).
TCK="$(getconf CLK_TCK)"
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_snap() { # cpu -> "total idle spinner" ticks (the spinner's time counts as idle)
  local sp=0; [[ -n "${SPIN_PID[$1]:-}" ]] && sp="$(proc_ticks "${SPIN_PID[$1]}")"
  awk -v c="cpu$1" -v sp="$sp" '$1 == c { idle = $5 + $6; tot = 0; for (i = 2; i <= 9; i++) tot += $i; print tot, idle, sp }' /proc/stat
}
busy_pct() { # snapshot before, snapshot after
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); dt = y[1] - x[1]; di = y[2] - x[2] + y[3] - x[3];
    if (dt <= 0) print "-"; else { v = 100 * (dt - di) / dt; if (v < 0) v = 0; printf "%.0f", v } }'
}

# One load run: prints "value errors" (value: Gbit/s for bulk, req/s for the others; errors: counted
# failures, see README.md). Raw output in $2.
load_run() { # figure outfile port seconds
  local fig="$1" out="$2" port="$3" secs="$4"
  case "$fig" in
    bulk)
      timeout $(( secs + 20 )) "${PIN_L[@]}" iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -O 1 -J >"$out" 2>&1 || true
      node -e '
        let j; try { j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch { console.log("0 1"); process.exit(0); }
        const r = j.end && j.end.sum_received;
        if (j.error || !r) { console.log("0 1"); } else { console.log((r.bits_per_second / 1e9).toFixed(2), 0); }' "$out"
      ;;
    keepalive|newconn)
      local hdr=(); [[ "$fig" == newconn ]] && hdr=(-H "Connection: close")
      timeout $(( secs + 20 )) "${PIN_L[@]}" wrk -t 1 -c "$CONNS" -d "${secs}s" --timeout 2s "${hdr[@]}" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 || true
      awk '
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { err += $NF }
        END { if (rps == "") print "0 1"; else printf "%.0f %d\n", rps, err }' "$out"
      ;;
  esac
}

declare -A RES=() CPUF=() ERRS=() COST=() ROWS=()
declare -A COSTU=([bulk]="ms/GB" [keepalive]="µs/req" [newconn]="µs/conn")
declare -A UNIT=([bulk]="Gbit/s" [keepalive]="req/s" [newconn]="conn/s")
declare -A TOOL=([bulk]="iperf3 -c, 1 stream, -t $SECONDS_RUN -O 1" [keepalive]="wrk -t 1 -c $CONNS, keep-alive" [newconn]="wrk -t 1 -c $CONNS, Connection: close")
declare -A TARGET=([bulk]=0.95 [keepalive]=0.85 [newconn]=0.7)
declare -A FIGNAME=([bulk]="bulk throughput" [keepalive]="keep-alive requests/s" [newconn]="new connections/s")
measure() { # name figure round(- = warm-up) seconds
  local name="$1" fig="$2" round="$3" secs="$4" pid="${PIDS[$1]}"
  local raw="$WORK/$SCENARIO/${name//[:+]/_}/$fig-$round.txt"
  local la; la="$(cut -d' ' -f1 /proc/loadavg)"
  local t0 c0f c0l p0 t1 c1f c1l p1
  t0="$(date +%s%N)"; c0f="$(cpu_snap "$FCPU")"; c0l="$(cpu_snap "$LCPU")"; p0="$(proc_ticks "$pid")"
  read -r val errs < <(load_run "$fig" "$raw" "${PORTS[$name]}" "$secs")
  t1="$(date +%s%N)"; c1f="$(cpu_snap "$FCPU")"; c1l="$(cpu_snap "$LCPU")"; p1="$(proc_ticks "$pid")"
  kill -0 "$pid" 2>/dev/null || die "$name died during the $fig run; log: $(tail -5 "$WORK/$SCENARIO/${name//[:+]/_}/log")"
  [[ "$round" == - ]] && return 0
  local fcpu; fcpu="$(awk -v d=$(( p1 - p0 )) -v t="$TCK" -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", 100 * d / t / (ns / 1e9) }')"
  # forwarder CPU cost of one unit of work: µs per request (wrk), ms per GB (bulk)
  local cost; cost="$(awk -v c="$fcpu" -v v="$val" -v f="$fig" 'BEGIN { if (v <= 0) { print "-"; exit }
    if (f == "bulk") printf "%.1f", c / 100 / (v / 8) * 1000; else printf "%.1f", c / 100 / v * 1e6 }')"
  RES[$fig/$name/$round]=$val; CPUF[$fig/$name/$round]=$fcpu; ERRS[$fig/$name/$round]=$errs; COST[$fig/$name/$round]=$cost
  ROWS[$fig]+="| $round | ${LABELS[$name]} | $val | $errs | $fcpu | $cost | $(busy_pct "$c0f" "$c1f") | $(busy_pct "$c0l" "$c1l") | $la |"$'\n'
  (( errs == 0 )) || say "  $name $fig round $round: $errs errors (raw: $raw)"
}

# ---- the run ---------------------------------------------------------------------------------------------
# Scenarios by backend: "bulk" (iperf3 -s) and "http" (keepalive, newconn against the HAProxy http backend).
# Each forwarder is started once per scenario, pointing at that scenario's backend, and stays up (idle) while
# the others are measured.
declare -A SCEN_FIGS=()
for f in $FIGURES; do
  if [[ "$f" == bulk ]]; then SCEN_FIGS[bulk]+="$f "; else SCEN_FIGS[http]+="$f "; fi
done
declare -A LABELS_ALL=()
for SCENARIO in bulk http; do
  [[ -n "${SCEN_FIGS[$SCENARIO]:-}" ]] || continue
  say "scenario $SCENARIO (${SCEN_FIGS[$SCENARIO]% })"
  if [[ "$SCENARIO" == bulk ]]; then start_iperf_backend; BPORT=$IPERF_PORT; else start_http_backend; BPORT=$HTTP_BACKEND_PORT; fi
  for name in "${SERVERS[@]}"; do
    pick_port; port=$PORT
    start_forwarder "$name" "$port" "$BPORT"
    PIDS[$name]=$SERVER_PID; PORTS[$name]=$port; LABELS[$name]=$LABEL; LABELS_ALL[$name]=$LABEL; SERVER_PID=""
    say "$LABEL on 127.0.0.1:$port -> 127.0.0.1:$BPORT (forwarder CPU $FCPU; load tool and backend CPU $LCPU)"
    if [[ "$SCENARIO" == http ]]; then
      got="$(curl -s --max-time 2 "http://127.0.0.1:$port/" || true)"
      [[ "$got" == ok ]] || die "$name: GET through the forwarder returned '$got', want 'ok'"
    fi
    if (( WARMUP > 0 )); then for fig in ${SCEN_FIGS[$SCENARIO]}; do measure "$name" "$fig" - "$WARMUP"; done; fi
  done
  for (( r = 1; r <= ROUNDS; r++ )); do
    order=("${SERVERS[@]}")
    if (( r % 2 == 0 )); then order=(); for (( i = ${#SERVERS[@]} - 1; i >= 0; i-- )); do order+=("${SERVERS[$i]}"); done; fi
    for fig in ${SCEN_FIGS[$SCENARIO]}; do
      for name in "${order[@]}"; do
        say "  round $r/$ROUNDS, $fig, ${SECONDS_RUN}s: $name (load avg $(cut -d' ' -f1 /proc/loadavg))"
        measure "$name" "$fig" "$r" "$SECONDS_RUN"
      done
    done
  done
  stop_forwarders; stop_backends
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- tables ----------------------------------------------------------------------------------------------
stats() { # numbers -> "median min max" (median of an even count = mean of the middle two)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s %s %s\n", m, v[1], v[NR] }'
}
# per-round ratios a/b of a figure: RATIO_LIST ("0.55, 0.58"), RATIO_MED ("" if none). With per=cpu, the
# ratio of work per forwarder CPU-second (value / forwarder CPU share).
round_ratios() { # figure a b [cpu]
  local r a b ca cb rs=() x
  RATIO_LIST=""; RATIO_MED=""
  for (( r = 1; r <= ROUNDS; r++ )); do
    a="${RES[$1/$2/$r]:-}"; b="${RES[$1/$3/$r]:-}"; ca="${CPUF[$1/$2/$r]:-0}"; cb="${CPUF[$1/$3/$r]:-0}"
    if [[ -n "$a" && -n "$b" && "$b" != 0 && ( -z "${4:-}" || ( "$ca" != 0 && "$cb" != 0 && "$a" != 0 ) ) ]]; then
      if [[ -n "${4:-}" ]]; then x="$(awk -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" 'BEGIN { printf "%.6f", (a / ca) / (b / cb) }')"
      else x="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f", a / b }')"; fi
      rs+=("$x"); RATIO_LIST+="${RATIO_LIST:+, }$(printf '%.2f' "$x")"
    else
      RATIO_LIST+="${RATIO_LIST:+, }n/a"
    fi
  done
  if (( ${#rs[@]} > 0 )); then read -r RATIO_MED _ _ < <(stats "${rs[@]}"); RATIO_MED="$(printf '%.2f' "$RATIO_MED")"; fi
}
has_haproxy() { [[ " ${SERVERS[*]} " == *" haproxy "* ]]; }
QUOTA_TXT=""; (( QUOTA > 0 )) && QUOTA_TXT=", capped at $QUOTA % of that CPU (BENCH_FWD_QUOTA, forwarder-bound mode)"
declare -A HEAD=() HAPROXY_CPU=()   # figure/server -> median ratio; figure -> HAProxy's median CPU %
{
  echo
  echo "### L4 forwarder, loopback TCP ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $NCPU CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r), node $(node -v);" \
    "$(iperf3 --version 2>/dev/null | head -1 | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')." \
    "Forwarder under test on CPU $FCPU${QUOTA_TXT}; load tool and backend on CPU $LCPU. Backends: iperf3 -s (bulk), HAProxy" \
    "mode http answering \`200 ok\` itself (keepalive, newconn). ${SECONDS_RUN}s per run, $ROUNDS interleaved rounds" \
    "(one forwarder under load at a time, order reversed every other round)." \
    "$( [[ "$SPIN" == 1 ]] && echo "Both CPUs kept from idling by a SCHED_IDLE busy loop each (BENCH_SPIN=1; they add 2 to the load average and are left out of the busy columns).")" \
    "Load average (1/5/15 min) at start $LOAD_START, at end $LOAD_END."
  for fig in $FIGURES; do
    echo
    echo "#### ${FIGNAME[$fig]} (${TOOL[$fig]}), ${UNIT[$fig]}"
    echo
    echo "Runs, in the order they ran (fwd CPU: the forwarder process's CPU time / wall time; CPU $FCPU/$LCPU busy: that CPU's non-idle share, softirq included):"
    echo
    echo "| round | forwarder | ${UNIT[$fig]} | errors | fwd CPU % | fwd CPU ${COSTU[$fig]} | CPU $FCPU busy % | CPU $LCPU busy % | load 1 min |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "${ROWS[$fig]:-}"
    echo
    echo "| forwarder | median ${UNIT[$fig]} | min–max | per round | ratio to HAProxy per round | **median ratio** | target | met | median fwd CPU % | median fwd CPU ${COSTU[$fig]} | CPU-efficiency ratio |"
    echo "|---|---:|---:|---|---|---:|---:|---|---:|---:|---:|"
    for name in "${SERVERS[@]}"; do
      vals=(); list=""
      for (( r = 1; r <= ROUNDS; r++ )); do
        v="${RES[$fig/$name/$r]:-}"; [[ -n "$v" ]] || continue; vals+=("$v"); list+="${list:+, }$v"
      done
      (( ${#vals[@]} > 0 )) || continue
      read -r med lo hi < <(stats "${vals[@]}")
      cpus=(); costs=()
      for (( r = 1; r <= ROUNDS; r++ )); do
        v="${CPUF[$fig/$name/$r]:-}"; [[ -n "$v" ]] && cpus+=("$v")
        v="${COST[$fig/$name/$r]:-}"; [[ -n "$v" && "$v" != - ]] && costs+=("$v")
      done
      mcpu="-"; mcost="-"
      (( ${#cpus[@]} > 0 )) && read -r mcpu _ _ < <(stats "${cpus[@]}")
      (( ${#costs[@]} > 0 )) && read -r mcost _ _ < <(stats "${costs[@]}")
      [[ "$name" == haproxy ]] && HAPROXY_CPU[$fig]=$mcpu
      rl="—"; rm="—"; rc="—"; tg="—"; met="—"
      if [[ "$name" != haproxy ]] && has_haproxy; then
        round_ratios "$fig" "$name" haproxy cpu; rc="${RATIO_MED:-n/a}"
        round_ratios "$fig" "$name" haproxy; rl="$RATIO_LIST"; rm="${RATIO_MED:-n/a}"
        tg="≥ ${TARGET[$fig]}"
        if [[ -n "$RATIO_MED" ]]; then
          HEAD[$fig/$name]=$RATIO_MED
          met="$(awk -v a="$RATIO_MED" -v t="${TARGET[$fig]}" 'BEGIN { print (a + 0 >= t + 0) ? "yes" : "no" }')"
        fi
        rm="**$rm**"
      fi
      printf '| %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${LABELS_ALL[$name]}" "$med" "$lo" "$hi" "$list" "$rl" "$rm" "$tg" "$met" "$mcpu" "$mcost" "$rc"
    done
    hc="${HAPROXY_CPU[$fig]:-}"
    if [[ -n "$hc" && "$hc" != - ]] && awk -v c="$hc" -v q="$QUOTA" 'BEGIN { exit !(c < 0.85 * (q > 0 ? q : 100)) }'; then
      echo
      echo "HAProxy used a median $hc % of its CPU here: the load side, not HAProxy, set the pace, so this figure's"
      echo "throughput ratios are capped near 1 and flatter the slower forwarders. The CPU-efficiency ratio (work per"
      echo "second of forwarder CPU, relative to HAProxy) shows the difference that would appear if the forwarder were the bottleneck."
    fi
  done
  if has_haproxy; then
    echo
    echo "#### Summary: median per-round ratio to HAProxy (target met?)"
    echo
    hdr="| figure | tool | target vs HAProxy |"; sep="|---|---|---:|"
    for name in "${SERVERS[@]}"; do [[ "$name" == haproxy ]] && continue; hdr+=" ${LABELS_ALL[$name]} |"; sep+="---:|"; done
    echo "$hdr"; echo "$sep"
    for fig in $FIGURES; do
      line="| ${FIGNAME[$fig]} | ${TOOL[$fig]%%,*} | ≥ ${TARGET[$fig]}x |"
      for name in "${SERVERS[@]}"; do
        [[ "$name" == haproxy ]] && continue
        v="${HEAD[$fig/$name]:-}"
        if [[ -z "$v" ]]; then line+=" n/a |"
        else line+=" $v ($(awk -v a="$v" -v t="${TARGET[$fig]}" 'BEGIN { print (a + 0 >= t + 0) ? "yes" : "no" }')) |"; fi
      done
      echo "$line"
    done
  fi
  echo
  echo "Ratios are taken within a round (runs next to each other in time share the machine's state) and the median"
  echo "over the rounds is reported. CPU-efficiency ratio: median per round of (work / forwarder CPU time) relative to"
  echo "HAProxy's; fwd CPU is the process's user+system time (softirq work is not charged to it, for any forwarder)."
} | tee "${BENCH_OUT:-/dev/null}"
say "done in $(( $(date +%s) - T_START )) s"
