#!/usr/bin/env bash
# Runs the store conformance suite (events/eventstest: appends, expected
# versions, idempotent retries, hash chains, reads, catch-up and live
# subscriptions) against YOUR KurrentDB cluster, so that whoever runs one
# can prove dangol's adapter (events/kurrentdb) before going live with
# `dangol serve --store kurrentdb`. This project's CI has no KurrentDB
# server: until this has passed on your cluster, the adapter is unproven.
#
#   ops/conformance.sh --url 'esdb://localhost:2113?tls=false'
#   ops/conformance.sh --url 'esdb://admin:changeit@node1:2113,node2:2113?tls=true'
#   ops/conformance.sh --build kurrentdb-conformance   # a binary to run elsewhere:
#     DANGOL_KURRENTDB_URL='esdb://...' ./kurrentdb-conformance -test.run '^TestConformance$' -test.v
#
# The URL may also come from DANGOL_KURRENTDB_URL. It needs the Go toolchain
# and this source tree (go.mod's Go version). The suite writes test streams,
# each run under its own prefix conformance-<ULID>- that no ledger reads (a
# ledger reads only its --kurrentdb-prefix, dangol- by default); it deletes
# nothing. Run it against a staging cluster of the production one's
# version and topology, or accept those streams in production.
# Exit status: 0 passed, 1 failed (or did not run), 2 bad usage.
set -euo pipefail

usage() {
	sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"
}

url="${DANGOL_KURRENTDB_URL:-}"
build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--url) url="${2:-}"; shift 2 || shift ;;
	--url=*) url="${1#--url=}"; shift ;;
	--build) build="${2:-}"; shift 2 || shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "ops/conformance.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if ! command -v go >/dev/null 2>&1; then
	echo "ops/conformance.sh: needs the Go toolchain (go.mod's version) and this source tree" >&2
	exit 2
fi
case "$build" in
"" | /*) ;;
*) build="$PWD/$build" ;; # named from where the script was run
esac
cd "$(dirname "$0")/.."

if [ -n "$build" ]; then
	go test -c -o "$build" ./events/kurrentdb
	echo "built $build: DANGOL_KURRENTDB_URL='esdb://...' $build -test.run '^TestConformance\$' -test.v"
	exit 0
fi
if [ -z "$url" ]; then
	echo "ops/conformance.sh: name the cluster: --url 'esdb://host:2113?tls=false' (or DANGOL_KURRENTDB_URL)" >&2
	exit 2
fi

# The URL may hold credentials: never print them.
shown=$(printf %s "$url" | sed -E 's#//[^@/]*@#//***@#')
echo "== store conformance suite on $shown"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
DANGOL_KURRENTDB_URL="$url" go test -count=1 -v -run '^TestConformance$' ./events/kurrentdb 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ] && grep -q 'cannot reach a KurrentDB node' "$log"; then
	echo "FAILED: cannot reach a KurrentDB node at $shown; nothing was tested" >&2
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	echo "FAILED: the KurrentDB adapter does not conform on $shown (the failing cases are above)" >&2
	exit 1
fi
if ! grep -q '^--- PASS: TestConformance ' "$log"; then
	echo "FAILED: the suite did not run on $shown (skipped?)" >&2
	exit 1
fi
echo "PASSED: the KurrentDB adapter conforms on $shown"
