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

# The console's browser tests (api/browser_*_test.go) drive Debian's headless
# Chromium; a Hangul font makes Korean pages render (and their screenshots
# readable). Without a browser they skip, except under CI=true, where they fail.
have_chromium() {
	[ -n "${DANGOL_CHROMIUM:-}" ] && return 0
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1
}
have_hangul_font() {
	command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko family 2>/dev/null)" ]
}
if ! have_chromium || ! have_hangul_font; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing chromium and fonts-nanum (the console's browser tests)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null
	elif [ "${CI:-}" = true ]; then
		echo "Chromium and a Hangul font are required under CI=true (the console's browser tests) and cannot be installed here" >&2
		exit 1
	elif ! have_chromium; then
		echo "note: no Chromium; the console's browser tests will be skipped" >&2
	fi
fi

# docker-compose.yml must render for both profiles. Compose interpolates
# every service's variables, even a profile's that is not started, so the
# default profile is rendered with an empty environment (what a newcomer's
# `docker compose up` gets). Debian's docker-compose needs no Docker engine
# for this.
if ! command -v docker-compose >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing docker-compose (to validate docker-compose.yml)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
	elif [ "${CI:-}" = true ]; then
		echo "docker-compose is required under CI=true and cannot be installed here" >&2
		exit 1
	fi
fi
if command -v docker-compose >/dev/null 2>&1; then
	echo "== docker-compose config (default profile with no environment; postgres and kurrentdb profiles)"
	env -i PATH="$PATH" docker-compose config -q
	env -i PATH="$PATH" POSTGRES_PASSWORD=ci DANGOL_MASTER_KEY="$(head -c32 /dev/zero | base64)" \
		docker-compose --profile postgres config -q
	env -i PATH="$PATH" POSTGRES_PASSWORD=ci DANGOL_MASTER_KEY="$(head -c32 /dev/zero | base64)" \
		docker-compose --profile kurrentdb config -q
else
	echo "note: no docker-compose; docker-compose.yml not validated" >&2
fi

# The served OpenAPI document passes Redocly's lint (.ci/redocly.yaml says
# which rules and why), with a pinned CLI installed once into a cache dir.
redocly_version=2.77.0
redocly_dir="${XDG_CACHE_HOME:-$HOME/.cache}/dangol-redocly"
redocly="$redocly_dir/node_modules/.bin/redocly"
if ! command -v npm >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "npm is required under CI=true (to lint api/openapi.json)" >&2
		exit 1
	fi
	echo "note: no npm; api/openapi.json not linted" >&2
else
	if [ "$("$redocly" --version 2>/dev/null)" != "$redocly_version" ]; then
		echo "== installing @redocly/cli@$redocly_version into $redocly_dir"
		npm install --prefix "$redocly_dir" --save-exact --no-audit --no-fund --loglevel=error \
			"@redocly/cli@$redocly_version" >/dev/null
	fi
	echo "== redocly lint api/openapi.json"
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		"$redocly" lint --config .ci/redocly.yaml --format=summary api/openapi.json
fi

export GOFLAGS="${GOFLAGS:-} -mod=readonly"
echo "== go vet"
go vet ./...
echo "== go test -race (embedded store; PostgreSQL packages on throwaway clusters)"
go test -race -count=1 -timeout 30m ./...
echo "== go test -race ./api ./cmd/dangol again, every API suite on PostgreSQL"
DANGOL_TEST_STORE=postgres go test -race -count=1 -timeout 30m ./api ./cmd/dangol
# Every store's and the server's default clock reads 400 days ahead: a test
# that depends on today's date (an unpinned clock) fails here.
echo "== go test, the system clock 400 days ahead (-tags dangol_clock_ahead)"
go test -count=1 -timeout 30m -tags dangol_clock_ahead ./...
