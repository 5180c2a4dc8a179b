#!/usr/bin/env bash
# Zonemaster NAMESERVER01-13 against Meridian, fully offline (anchors.md B2 recipe, B6.4).
#
# Inside a private network namespace (unshare -n; only loopback exists):
#   127.0.0.1:53, 127.0.0.2:53  server under test, serving gslb.example.com
#                               (NS ns1.gslb.example.com -> 127.0.0.1, ns2.gslb.example.com -> 127.0.0.2)
#   127.0.0.3:53                a tiny root (NSD) serving "." with the delegation + glue
# then: zonemaster-cli --no-ipv6 --hints <local root> --test nameserver --ns ns1/127.0.0.1 --ns ns2/127.0.0.2
#
# Exit: 0 = pass (no WARNING/ERROR/CRITICAL, no silent NO_RESPONSE, all 13 cases ran, expected INFO results);
#       1 = fail; 2 = setup failure;
#       77 = cannot run here (no zonemaster-cli / nsd / network namespace).
#
# Env:
#   MERIDIAN_SERVER=meridian|nsd  server under test (default meridian; nsd = self-check of this recipe)
#   MERIDIAN_CMD="node dist/cli.js"  command prefix for Meridian; "serve --config <file>" is appended
#                                    (default: node --import tsx <repo>/src/cli.ts)
#   ZM_ZONE=<file>                zone file to serve instead of the built-in one (origin gslb.example.com)
#   ZM_LEVEL=INFO|DEBUG           what to print (INFO and above, or everything)
#   ZM_SAVE=<file>                also save the full raw DEBUG output there
#   ZM_KEEP=1                     keep the temp dir (logs, configs)
#   ZM_FAIL_LEVEL=WARNING         lowest level that fails the run (WARNING; NOTICE is stricter)
#   ZM_EXTRA_ARGS='...'           extra zonemaster-cli args (negative control: '--ns ns3.gslb.example.com/127.0.0.9')
#   ZM_NSD_ZONE_EXTRA='...'       (nsd only) extra line in the SUT zone: block, for negative controls
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ORIGIN=gslb.example.com

if [[ -z "${ZM_IN_NETNS:-}" ]]; then
  for tool in zonemaster-cli nsd dig ip unshare; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool not installed (apt-get install zonemaster-cli nsd bind9-dnsutils iproute2)"
      exit 77
    fi
  done
  if unshare -n true 2>/dev/null; then
    exec env ZM_IN_NETNS=1 unshare -n bash "$0" "$@"
  elif unshare -rn true 2>/dev/null; then
    exec env ZM_IN_NETNS=1 unshare -rn bash "$0" "$@"
  else
    echo "SKIP: cannot create a network namespace (unshare -n / unshare -rn both failed; need root or user namespaces)"
    exit 77
  fi
fi

# ---- inside the private network namespace ----
ip link set lo up || { echo "SETUP: ip link set lo up failed"; exit 2; }
ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true

WORK="$(mktemp -d /tmp/zonemaster.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ "${ZM_KEEP:-}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

mkdir -p "$WORK/root" "$WORK/sut"

# ---- the local root (NSD on 127.0.0.3) ----
cat >"$WORK/root/root.zone" <<'EOF'
$TTL 86400
.                      IN SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                      IN NS  a.root-servers.test.
a.root-servers.test.   IN A   127.0.0.3
; delegation of the zone under test, with glue
gslb.example.com.      IN NS  ns1.gslb.example.com.
gslb.example.com.      IN NS  ns2.gslb.example.com.
ns1.gslb.example.com.  IN A   127.0.0.1
ns2.gslb.example.com.  IN A   127.0.0.2
EOF

nsd_conf() { # dir, ip-address lines..., then "zone name file" triples via globals
  local dir="$1"; shift
  {
    echo "server:"
    for a in "$@"; do echo "  ip-address: $a"; done
    cat <<EOF
  port: 53
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
  ipv4-edns-size: 1232
  hide-version: yes
  rrl-ratelimit: 0
  verbosity: 1
remote-control:
  control-enable: no
EOF
  }
}

{ nsd_conf "$WORK/root" 127.0.0.3; printf 'zone:\n  name: "."\n  zonefile: "root.zone"\n'; } >"$WORK/root/nsd.conf"
nsd -d -c "$WORK/root/nsd.conf" >"$WORK/root/nsd.log" 2>&1 &
PIDS+=($!)

# ---- the zone under test ----
if [[ -n "${ZM_ZONE:-}" ]]; then
  cp "$ZM_ZONE" "$WORK/sut/$ORIGIN.zone"
else
  cat >"$WORK/sut/$ORIGIN.zone" <<'EOF'
$ORIGIN gslb.example.com.
$TTL 300
@       3600 IN SOA  ns1.gslb.example.com. hostmaster.example.com. 2026112301 7200 3600 1209600 300
        3600 IN NS   ns1
        3600 IN NS   ns2
        IN MX    10 mail
        IN TXT   "v=spf1 -all"
ns1     IN A     127.0.0.1
ns2     IN A     127.0.0.2
mail    IN A     192.0.2.25
www     IN A     192.0.2.10
        IN A     198.51.100.10
        IN AAAA  2001:db8::10
api     IN CNAME www
EOF
fi

SUT="${MERIDIAN_SERVER:-meridian}"
case "$SUT" in
  nsd)
    { nsd_conf "$WORK/sut" 127.0.0.1 127.0.0.2; printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$ORIGIN" "$ORIGIN"
      # negative control for the recipe itself, e.g. ZM_NSD_ZONE_EXTRA='provide-xfr: 0.0.0.0/0 NOKEY'
      [[ -n "${ZM_NSD_ZONE_EXTRA:-}" ]] && printf '  %s\n' "$ZM_NSD_ZONE_EXTRA"; } >"$WORK/sut/nsd.conf"
    SUT_CMD=(nsd -d -c "$WORK/sut/nsd.conf")
    ;;
  meridian)
    cat >"$WORK/sut/meridian.yaml" <<EOF
dns:
  listen: ["127.0.0.1:53", "127.0.0.2:53"]
  udpSize: 1232
  tcp: { idleTimeoutMs: 10000, ioTimeoutMs: 2000, maxConnections: 256 }
  chaos: false
zones:
  - origin: $ORIGIN
    file: $ORIGIN.zone
EOF
    if [[ -n "${MERIDIAN_CMD:-}" ]]; then
      # shellcheck disable=SC2206 # intentional word splitting of the command prefix
      SUT_CMD=(${MERIDIAN_CMD} serve --config "$WORK/sut/meridian.yaml")
    elif [[ -f "$REPO/src/cli.ts" ]]; then
      SUT_CMD=(node --import tsx "$REPO/src/cli.ts" serve --config "$WORK/sut/meridian.yaml")
    elif [[ -f "$REPO/dist/cli.js" ]]; then
      SUT_CMD=(node "$REPO/dist/cli.js" serve --config "$WORK/sut/meridian.yaml")
    else
      echo "SKIP: Meridian entry point not found ($REPO/src/cli.ts); set MERIDIAN_CMD or MERIDIAN_SERVER=nsd"
      exit 77
    fi
    ;;
  *) echo "SETUP: MERIDIAN_SERVER must be meridian or nsd"; exit 2 ;;
esac
(cd "$REPO" && exec "${SUT_CMD[@]}") >"$WORK/sut/server.log" 2>&1 &
PIDS+=($!)

# ---- wait (bounded) until the root and both SUT addresses answer ----
wait_soa() { # ip zone
  local i
  for i in $(seq 1 150); do # 150 x (<=0.2 s) = at most ~60 s including tsx start-up
    if dig +norec +time=1 +tries=1 @"$1" "$2" SOA 2>/dev/null | grep -q 'status: NOERROR'; then return 0; fi
    sleep 0.2
  done
  return 1
}
for target in "127.0.0.3 ." "127.0.0.1 $ORIGIN" "127.0.0.2 $ORIGIN"; do
  # shellcheck disable=SC2086
  if ! wait_soa $target; then
    echo "SETUP: no answer from $target"
    echo "--- root log ---"; cat "$WORK/root/nsd.log"
    echo "--- server under test ($SUT) log ---"; tail -50 "$WORK/sut/server.log"
    exit 2
  fi
done

printf '. 3600000 IN NS a.root-servers.test.\na.root-servers.test. 3600000 IN A 127.0.0.3\n' >"$WORK/hints.txt"

echo "zonemaster.sh: zonemaster-cli $(zonemaster-cli --version 2>/dev/null | tr '\n' ' ' | tr -s ' \t' ' ')"
echo "zonemaster.sh: server under test: $SUT (${SUT_CMD[*]})"
# One run at DEBUG level with raw tags, so we can also see failures the default profile only logs at DEBUG
# (e.g. NO_RESPONSE from a silent server). The INFO-and-above part is what gets printed.
# shellcheck disable=SC2086 # ZM_EXTRA_ARGS is a list of words
timeout 300 zonemaster-cli --no-ipv6 --hints "$WORK/hints.txt" --test nameserver \
  --ns "ns1.$ORIGIN/127.0.0.1" --ns "ns2.$ORIGIN/127.0.0.2" \
  --level DEBUG --raw --show-testcase --no-progress --count --elapsed \
  ${ZM_EXTRA_ARGS:-} "$ORIGIN" >"$WORK/zonemaster.out" 2>&1
zm_rc=$?
cp "$WORK/zonemaster.out" "${ZM_SAVE:-/dev/null}" 2>/dev/null || true

LINE_RE='^[[:space:]]*[0-9]+\.[0-9]+[[:space:]]+'
show_re="${LINE_RE}(INFO|NOTICE|WARNING|ERROR|CRITICAL)[[:space:]]"
[[ "${ZM_LEVEL:-INFO}" == DEBUG ]] && show_re="${LINE_RE}[A-Z]"
echo "Seconds Level     Testcase       Tag   arguments"
grep -E "$show_re" "$WORK/zonemaster.out" || true
sed -n '/Level[[:space:]]*Number of log entries/,$p' "$WORK/zonemaster.out"

fail=0
problem() { echo "FAIL: $*"; fail=1; }

if [[ $zm_rc -ne 0 ]]; then
  problem "zonemaster-cli exited $zm_rc"; tail -20 "$WORK/zonemaster.out"
fi

case "${ZM_FAIL_LEVEL:-WARNING}" in
  NOTICE) levels='NOTICE|WARNING|ERROR|CRITICAL' ;;
  WARNING) levels='WARNING|ERROR|CRITICAL' ;;
  ERROR) levels='ERROR|CRITICAL' ;;
  *) echo "SETUP: ZM_FAIL_LEVEL must be NOTICE, WARNING or ERROR"; exit 2 ;;
esac
bad="$(grep -E "${LINE_RE}(${levels})[[:space:]]" "$WORK/zonemaster.out" || true)"
[[ -n "$bad" ]] && problem "Zonemaster reported messages at level ${ZM_FAIL_LEVEL:-WARNING} or above:"$'\n'"$bad"
notices="$(grep -E "${LINE_RE}NOTICE[[:space:]]" "$WORK/zonemaster.out" || true)"
[[ -n "$notices" && -z "$bad" ]] && echo "zonemaster.sh: NOTE: NOTICE lines present (not failing at ZM_FAIL_LEVEL=${ZM_FAIL_LEVEL:-WARNING})"

# The default profile logs an unresponsive server only at DEBUG: treat it as a failure.
silent="$(grep -E "${LINE_RE}[A-Z]+[[:space:]]+NAMESERVER[0-9]+[[:space:]]+(NO_RESPONSE|LOOKUP_ERROR|NO_EDNS_SUPPORT|NS_ERROR|MISSING_OPT_IN_TRUNCATED)[[:space:]]" "$WORK/zonemaster.out" || true)"
[[ -n "$silent" ]] && problem "a name server did not answer properly:"$'\n'"$silent"

# Every test case 01-13 must have run.
for n in 01 02 03 04 05 06 07 08 09 10 11 12 13; do
  grep -qE "NAMESERVER$n[[:space:]]+TEST_CASE_END" "$WORK/zonemaster.out" || problem "NAMESERVER$n did not run"
done

# The positive results we expect from a healthy authoritative pair (Nameserver module v1.0.27 tags).
expect() { # testcase tag [argument-substring]
  grep -E "${LINE_RE}INFO[[:space:]]+$1[[:space:]]+$2([[:space:]]|$)" "$WORK/zonemaster.out" | grep -qF -- "${3:-}" \
    || problem "expected INFO $1 $2 ${3:-}"
}
for ip in 127.0.0.1 127.0.0.2; do
  expect NAMESERVER01 NO_RECURSOR "/$ip"
  expect NAMESERVER03 AXFR_FAILURE "/$ip"
  expect NAMESERVER08 QNAME_CASE_SENSITIVE "/$ip"
done
expect NAMESERVER02 EDNS0_SUPPORT
expect NAMESERVER04 SAME_SOURCE_IP
expect NAMESERVER06 CAN_BE_RESOLVED
expect NAMESERVER07 NO_UPWARD_REFERRAL
expect NAMESERVER09 CASE_QUERIES_RESULTS_OK

if [[ $fail -ne 0 ]]; then
  echo "--- server under test ($SUT) log (tail) ---"; tail -20 "$WORK/sut/server.log"
  exit 1
fi
echo "PASS: Zonemaster NAMESERVER01-13: no WARNING/ERROR/CRITICAL, no silent failures ($SUT)"
exit 0
