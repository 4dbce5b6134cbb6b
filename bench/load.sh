#!/usr/bin/env bash
# Load benchmark: the example app against a hand-written axum server with the same handlers,
# in one run. The servers run on CPU 0, wrk on CPU 1. Prints req/s, p50/p99 latency, peak
# RSS and the ratios. It measures; it never fails on a timing.
#
#   bench/load.sh                 # 3 rounds × 5 s per scenario and server
#   ROUNDS=5 DURATION=10s bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

cargo build --release --quiet -p saas -p routekit-bench
target=${CARGO_TARGET_DIR:-target}/release

pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# start NAME CMD...: starts a server on a random port pinned to CPU 0; sets PID and URL.
start() {
    local log; log=$(mktemp)
    # taskset execs the server, so $! is the server itself (for its peak RSS).
    PORT=0 NO_COLOR=1 RUST_LOG=${SERVER_LOG:-warn,routekit::serve=info} taskset -c 0 "$@" >"$log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do
        URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -n1 || true)
        [ -n "$URL" ] && return 0
        kill -0 "$PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    echo "server did not start" >&2; cat "$log" >&2; exit 1
}

# load PATH: runs wrk and prints "req_per_s p50_ms p99_ms".
load() {
    pin 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$URL$1" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        END { printf "%.0f %.3f %.3f\n", rps, ms(p50), ms(p99) }'
}

peak_rss_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

declare -A RPS P50 P99 RSS
scenarios=("/hello" "/users/42" "/no/such/page")
servers=("routekit:$target/saas" "axum:$target/bare-axum")

for round in $(seq 1 "$ROUNDS"); do
    for entry in "${servers[@]}"; do
        name=${entry%%:*}; bin=${entry#*:}
        start "$bin"
        for path in "${scenarios[@]}"; do
            read -r rps p50 p99 < <(load "$path")
            RPS[$name,$path]+="$rps "; P50[$name,$path]+="$p50 "; P99[$name,$path]+="$p99 "
        done
        RSS[$name]+="$(peak_rss_kib "$PID") "
        kill "$PID"; wait "$PID" 2>/dev/null || true
    done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '\nroutekit example vs hand-written axum: %s rounds x %s, %s connections, wrk on CPU 1, servers on CPU 0 (medians)\n' "$ROUNDS" "$DURATION" "$CONNECTIONS"
printf '%-16s %12s %12s %8s %10s %10s %10s %10s\n' scenario routekit/s axum/s ratio p50_rk_ms p50_ax_ms p99_rk_ms p99_ax_ms
for path in "${scenarios[@]}"; do
    rk=$(median "${RPS[routekit,$path]}"); ax=$(median "${RPS[axum,$path]}")
    printf '%-16s %12s %12s %8.3f %10s %10s %10s %10s\n' "GET $path" "$rk" "$ax" "$(echo "$rk / $ax" | bc -l)" \
        "$(median "${P50[routekit,$path]}")" "$(median "${P50[axum,$path]}")" \
        "$(median "${P99[routekit,$path]}")" "$(median "${P99[axum,$path]}")"
done
rk=$(median "${RSS[routekit]}"); ax=$(median "${RSS[axum]}")
printf 'peak RSS under load: routekit %s KiB, axum %s KiB, ratio %.3f\n' "$rk" "$ax" "$(echo "$rk / $ax" | bc -l)"
