#!/usr/bin/env bash
# The example's notes API under load (issue #15): GET /api/notes for a user with 100 notes,
# with the @supabase/ssr session cookie a browser sends, against GET /api/me on the same
# server with the same cookie, on SQLite (servers on CPU 0, wrk on CPU 1, medians of ROUNDS
# rounds). The difference is what listing 100 rows and serialising them costs. It never fails
# on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh

cargo build --release --quiet -p saas
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$work"' EXIT

declare -A RPS P50 P99
record() { RPS[$1]+="$2 "; P50[$1]+="$3 "; P99[$1]+="$4 "; }
for round in $(seq 1 "$ROUNDS"); do
    start env DATABASE_URL="sqlite://$work/round$round.db" ROUTEKIT_AUTH_RATE_LIMIT_SIGNUP=0 \
        ROUTEKIT_AUTH_AUTOCONFIRM=true "$target/saas"
    signup=$(curl -s -X POST "$URL/auth/v1/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"notes$round@example.com\",\"password\":\"correct horse battery staple\"}")
    jwt=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$signup")
    # The cookie @supabase/ssr writes on 127.0.0.1: sb-127-auth-token=base64-<base64url(session)>.
    ssr=$(python3 -c 'import base64,sys; print("sb-127-auth-token=base64-" + base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$signup")
    # 100 notes through the API (Bearer: no CSRF token needed), each about 120 bytes of text.
    for i in $(seq 1 100); do
        status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/notes" \
            -H 'content-type: application/json' -H "authorization: Bearer $jwt" \
            -d "{\"title\":\"Note $i\",\"body\":\"Remember to check item $i of the list, and write down what was decided.\"}")
        [ "$status" = 201 ] || { echo "POST /api/notes answered $status" >&2; exit 1; }
    done
    count=$(curl -s "$URL/api/notes" -H "cookie: $ssr" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["notes"]))')
    [ "$count" = 100 ] || { echo "GET /api/notes listed $count notes" >&2; exit 1; }
    # Alternate which goes first, so that drift over a round does not favour one.
    for path in $( [ $((round % 2)) = 1 ] && echo "/api/me /api/notes" || echo "/api/notes /api/me"); do
        read -r r a b < <(load "$path" -H "Cookie: $ssr"); record "$path" "$r" "$a" "$b"
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true
done

printf '\nNotes API: %s rounds x %s, %s connections, session cookie (medians)\n' "$ROUNDS" "$DURATION" "$CONNECTIONS"
printf '%-36s %10s %10s %10s\n' scenario req/s p50_ms p99_ms
for s in /api/me /api/notes; do
    case $s in
        /api/me) label="GET /api/me";; /api/notes) label="GET /api/notes (100 notes)";;
    esac
    printf '%-36s %10s %10s %10s\n' "$label" "$(median "${RPS[$s]}")" "$(median "${P50[$s]}")" "$(median "${P99[$s]}")"
done
printf 'GET /api/notes / GET /api/me: %.3f req/s ratio; p99 %.3f vs %.3f ms\n' \
    "$(echo "$(median "${RPS[/api/notes]}") / $(median "${RPS[/api/me]}")" | bc -l)" \
    "$(median "${P99[/api/notes]}")" "$(median "${P99[/api/me]}")"
