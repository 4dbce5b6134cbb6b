#!/usr/bin/env bash
# Auth benchmarks, in one run:
# - POST /auth/v1/token?grant_type=refresh_token on the example server (release), SQLite with
#   synchronous=FULL and the local PostgreSQL, each session always refreshed with its newest
#   token (bench/refresh_load.rs). Goals: >= 1,500/s on SQLite, >= 2,000/s on PostgreSQL.
# - the disk's fsyncs per second, measured here as the baseline SQLite's figure depends on.
# Server on CPU 0, load generator on CPU 1; medians of ROUNDS rounds. Never fails on a timing.
#
#   bench/auth.sh                    # ROUNDS=3 DURATION=5 SESSIONS=32
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh
SESSIONS=${SESSIONS:-32}
SECONDS_PER_RUN=${DURATION%s}

cargo build --release --quiet -p saas -p routekit-bench
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The disk: fsyncs per second of an 8-byte append (what a durable SQLite commit needs).
fsyncs=$(python3 - "$work/fsync" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
n, end = 0, time.time() + 2
while time.time() < end:
    os.write(fd, b"12345678"); os.fsync(fd); n += 1
print(n // 2)
PY
)

pg_url=${ROUTEKIT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
declare -A RPS P50 P99
for round in $(seq 1 "$ROUNDS"); do
    for backend in sqlite postgres; do
        if [ "$backend" = sqlite ]; then
            url="sqlite://$work/round$round.db"
        else
            db="routekit_bench_${round}_$$"
            psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
            url="${pg_url%/*}/$db"
        fi
        start env DATABASE_URL="$url" ROUTEKIT_AUTH_RATE_LIMIT_TOKEN=0 ROUTEKIT_AUTH_RATE_LIMIT_SIGNUP=0 \
            ROUTEKIT_AUTH_AUTOCONFIRM=true ROUTEKIT_AUTH_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "$target/saas"
        read -r rps p50 p99 < <(pin 1 "$target/refresh-load" "$URL" "$SESSIONS" "$SECONDS_PER_RUN")
        RPS[$backend]+="$rps "; P50[$backend]+="$p50 "; P99[$backend]+="$p99 "
        kill "$PID"; wait "$PID" 2>/dev/null || true
        [ "$backend" = postgres ] && psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    done
done

printf '\nPOST /auth/v1/token?grant_type=refresh_token: %s rounds x %ss, %s sessions (medians)\n' "$ROUNDS" "$SECONDS_PER_RUN" "$SESSIONS"
printf '%-10s %10s %10s %10s %8s\n' backend req/s p50_ms p99_ms goal
for backend in sqlite postgres; do
    goal=$([ "$backend" = sqlite ] && echo 1500 || echo 2000)
    printf '%-10s %10s %10s %10s %8s\n' "$backend" "$(median "${RPS[$backend]}")" \
        "$(median "${P50[$backend]}")" "$(median "${P99[$backend]}")" "$goal"
done
printf 'disk baseline: %s fsyncs/s (8-byte appends); SQLite refreshes per fsync: %.2f\n' \
    "$fsyncs" "$(echo "$(median "${RPS[sqlite]}") / $fsyncs" | bc -l)"
