#!/usr/bin/env bash
# Peak memory under a flood of wrong-password sign-ins (issue #11: 64 concurrent ones took the
# example from 31 MB to 5.2 GB). In one run, each scenario on a freshly started server:
# - idle: the server started, one request, nothing else (the baseline);
# - one client, 64 connections: what one address's burst costs (the per-IP limit applies);
# - 64 and 256 connections, every request from another address through a trusted proxy
#   header, so every one reaches the password hasher.
# Prints peak RSS (VmHWM) per scenario, how many requests were checked, rate-limited (429) or
# told to retry (503), and the goal: 64 MiB + hashing slots x 19 MiB. Never fails on a figure.
#
#   bench/sign_in_flood.sh       # DURATION=5s; ROUTEKIT_AUTH_HASH_CONCURRENCY to change the bound
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh
SECONDS_PER_RUN=${DURATION%s}
slots=${ROUTEKIT_AUTH_HASH_CONCURRENCY:-$((2 * $(nproc)))}

cargo build --release --quiet -p saas -p routekit-bench
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { # NAME CONNECTIONS MODE
    start env DATABASE_URL="sqlite://$work/$1.db" ROUTEKIT_AUTH_HASH_CONCURRENCY="$slots" \
        ROUTEKIT_AUTH_RATE_LIMIT_HEADER=x-forwarded-for \
        ROUTEKIT_AUTH_AUTOCONFIRM=true ROUTEKIT_AUTH_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "$target/saas"
    local counts="0 0 0 0 0"
    if [ "$2" = 0 ]; then
        curl -s -o /dev/null "$URL/hello" || true
    else
        counts=$(pin 1 "$target/sign-in-flood" "$URL" "$2" "$SECONDS_PER_RUN" "$3")
    fi
    local rss; rss=$(peak_rss_kib "$PID")
    kill "$PID"; wait "$PID" 2>/dev/null || true
    local sent checked limited busy other
    read -r sent checked limited busy other <<<"$counts"
    printf '%-28s %7s %8s %7s %7s %6s %9s\n' "$1" "$sent" "$checked" "$limited" "$busy" "$other" \
        "$(awk -v kib="$rss" 'BEGIN { printf "%.1f", kib / 1024 }')"
}

printf '\nWrong-password sign-ins for %ss, %s hashing slots; goal: peak RSS <= %s MiB\n' \
    "$SECONDS_PER_RUN" "$slots" "$((64 + slots * 19))"
printf '%-28s %7s %8s %7s %7s %6s %9s\n' scenario sent checked 429 503 other peak_MiB
run idle 0 one
run one-client-64-connections 64 one
run spread-64-connections 64 spread
run spread-256-connections 256 spread
