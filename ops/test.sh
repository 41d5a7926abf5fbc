#!/usr/bin/env bash
# The whole test suite, as the README gives it and .ci/run calls it.
# It installs and starts what tests need, so it works on a fresh machine:
# the PostgreSQL tests start throwaway clusters themselves (ops/pgtest over ops/pgcluster) from
# the machine's PostgreSQL binaries, installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
	[ -n "${PG_BIN:-}" ] && return 0
	command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! have_postgres; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing PostgreSQL (its binaries; the tests start their own clusters)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	elif [ "${CI:-}" = true ]; then
		echo "PostgreSQL binaries are required under CI=true and cannot be installed here" >&2
		exit 1
	else
		echo "note: no PostgreSQL binaries; the PostgreSQL tests will be skipped" >&2
	fi
fi

export GOFLAGS="${GOFLAGS:-} -mod=readonly"
echo "== go vet"
go vet ./...
echo "== go test -race (embedded store; PostgreSQL packages on throwaway clusters)"
go test -race -count=1 -timeout 20m ./...
echo "== go test -race ./cmd/dangol again, every API suite on PostgreSQL"
DANGOL_TEST_STORE=postgres go test -race -count=1 -timeout 20m ./cmd/dangol
# Every store's and the server's default clock reads 400 days ahead: a test
# that depends on today's date (an unpinned clock) fails here.
echo "== go test, the system clock 400 days ahead (-tags dangol_clock_ahead)"
go test -count=1 -timeout 20m -tags dangol_clock_ahead ./...
