#!/usr/bin/env bash
# CSRF cost: POST /api/items with a valid token (header + cookie) against the same binary
# (tests/fixture-app, whose /api/items was the example's until issue #15) with ROUTEKIT_CSRF=off, sending identical requests, in one run (goal: >= 0.9x).
# Servers on CPU 0, wrk on CPU 1; medians of ROUNDS rounds. It never fails on a timing.
#
#   bench/csrf.sh
#   ROUNDS=5 DURATION=10s bench/csrf.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh

cargo build --release --quiet -p routekit-fixture-app
bin=${CARGO_TARGET_DIR:-target}/release/routekit-fixture-app

item='{"name":"Widget","quantity":3,"tags":["a","b"]}'
declare -A RPS P50 P99
for round in $(seq 1 "$ROUNDS"); do
    for mode in on off; do
        start env ROUTEKIT_CSRF="$mode" "$bin"
        if [ "$mode" = on ]; then
            # A token and its cookie, as a page receives them.
            headers=$(mktemp)
            token=$(curl -s -D "$headers" "$URL/_routekit/csrf" | sed -E 's/.*"csrfToken":"([^"]+)".*/\1/')
            cookie=$(grep -i '^set-cookie:' "$headers" | sed -E 's/^[^:]*: *([^;]*).*/\1/' | tr -d '\r')
            rm -f "$headers"
            # One request first: the benchmark must measure accepted requests, not 403s.
            status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/items" \
                -H 'content-type: application/json' -H "x-csrf-token: $token" -H "cookie: $cookie" \
                -d '{"name":"Widget","quantity":3,"tags":["a","b"]}')
            [ "$status" = 201 ] || { echo "POST /api/items answered $status, not 201" >&2; exit 1; }
        fi
        read -r rps p50 p99 < <(BODY=$item CSRF_TOKEN=$token CSRF_COOKIE=$cookie load /api/items -s bench/post_json.lua)
        RPS[$mode]+="$rps "; P50[$mode]+="$p50 "; P99[$mode]+="$p99 "
        kill "$PID"; wait "$PID" 2>/dev/null || true
    done
done

printf '\nPOST /api/items, CSRF checked vs switched off: %s rounds x %s, %s connections (medians)\n' "$ROUNDS" "$DURATION" "$CONNECTIONS"
printf '%-10s %12s %10s %10s\n' csrf req/s p50_ms p99_ms
for mode in on off; do
    printf '%-10s %12s %10s %10s\n' "$mode" "$(median "${RPS[$mode]}")" "$(median "${P50[$mode]}")" "$(median "${P99[$mode]}")"
done
on=$(median "${RPS[on]}"); off=$(median "${RPS[off]}")
printf 'ratio on/off: %.3f (goal >= 0.9)\n' "$(echo "$on / $off" | bc -l)"
