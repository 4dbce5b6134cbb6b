#!/usr/bin/env bash
# Load benchmark: routekit serving the routing conventions (tests/fixture-app, whose /hello
# and /users/42 were the example's until issue #15) against a hand-written axum server with the
# same handlers, in one run. The servers run on CPU 0, wrk on CPU 1. Prints req/s, p50/p99 latency, peak
# RSS and the ratios. It measures; it never fails on a timing.
#
#   bench/load.sh                 # 3 rounds × 5 s per scenario and server
#   ROUNDS=5 DURATION=10s bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh

cargo build --release --quiet -p routekit-fixture-app -p routekit-bench
target=${CARGO_TARGET_DIR:-target}/release

declare -A RPS P50 P99 RSS
scenarios=("/hello" "/users/42" "/no/such/page")
servers=("routekit:$target/routekit-fixture-app" "axum:$target/bare-axum")

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
