#!/usr/bin/env bash
# Time to ready of one `dangol serve` start: seconds from the process start
# until /readyz first answers 200 (the read models are caught up) and until
# the server logs "reactors caught up" (the QA sampler and the segmentation
# job have nothing left to append and have folded their own events back);
# "ready" is the later of the two. The server is stopped afterwards.
#
#   ops/bench-ready.sh ./dangol /path/to/data [extra serve flags...]
#
# A first start after `dangol seed` has every reactor decision to make; run
# it on a copy of the seeded data to measure it again (the decisions are
# then in the log, and a second start has nothing left to decide).
set -euo pipefail
bin=$1 data=$2
shift 2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
t0=$(date +%s.%N)
"$bin" serve --data "$data" --addr "127.0.0.1:$port" --metrics-addr off "$@" 2>"$log" &
pid=$!
ready="" idle=""
while [[ -z $ready || -z $idle ]]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "dangol serve exited:" >&2
		tail -5 "$log" >&2
		exit 1
	fi
	now=$(date +%s.%N)
	if [[ -z $ready ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]]; then
		ready=$now
	fi
	if [[ -z $idle ]] && grep -q '"msg":"reactors caught up"' "$log"; then
		idle=$now
	fi
	if [[ " $* " == *" --no-reactors "* ]]; then idle=${idle:-$ready}; fi
	sleep 0.02
done
kill -INT "$pid"
wait "$pid" || true
appended=$(grep -o '"msg":"reactors caught up"[^}]*' "$log" | grep -o '"appended":[0-9]*' | cut -d: -f2 || true)
awk -v t0="$t0" -v r="$ready" -v i="$idle" -v a="${appended:-?}" 'BEGIN {
	m = (r > i) ? r : i
	printf "readyz 200 after %.2fs; reactors caught up after %.2fs (appended %s); ready after %.2fs\n", r - t0, i - t0, a, m - t0
}'
