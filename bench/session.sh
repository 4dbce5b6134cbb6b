#!/usr/bin/env bash
# Session cost, in one run (servers on CPU 0, wrk on CPU 1, medians of ROUNDS rounds):
# - protected GET /api/me (Bearer session) against public GET /hello (goal >= 0.85x); since
#   issue #15 /hello is served by tests/fixture-app, the same routekit build without sessions;
# - a protected POST (session + CSRF + JSON echo) against bench/bare_axum.rs doing the same
#   work by hand: HS256 verify, HMAC CSRF check, JSON echo, no caching (goal >= 1.0x). The
#   example is served by saas-echo (bench/saas_echo.rs), whose POST /bench/echo-note is that
#   echo. The example's own POST /api/notes also inserts the note into SQLite (and refuses a
#   user's 1,001st note with 409, reached within the first second of load), so it is checked
#   once here and not loaded;
# - the same POST from a browser: routekit reads the `@supabase/ssr` cookie (base64-JSON of the
#   whole session), the baseline an HS256 JWT in a `session` cookie (goal >= 1.0x);
# - the same POST with the CSRF cookie but no token, refused with 403 by both (goal >= 1.0x);
# - RSS right after start, before any request (goal <= 1.5x): the example, and for
#   information the fixture app (routes only) and role-check (sessions, no pages or mail);
# - a role check on a cached session: bench/role_check.rs serves one handler behind
#   `AUTH = Required` and behind `AUTH = Role("super-admin")` (goal: adds < 5%).
# It never fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh

cargo build --release --quiet -p saas -p routekit-fixture-app -p routekit-bench --bins
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
note='{"text":"remember the milk"}'

declare -A RPS P50 P99 RSS
record() { RPS[$1]+="$2 "; P50[$1]+="$3 "; P99[$1]+="$4 "; }
for round in $(seq 1 "$ROUNDS"); do
    start env DATABASE_URL="sqlite://$work/round$round.db" ROUTEKIT_AUTH_RATE_LIMIT_SIGNUP=0 \
        ROUTEKIT_AUTH_AUTOCONFIRM=true ROUTEKIT_AUTH_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "$target/saas-echo"
    RSS[routekit]+="$(rss_kib "$PID") "
    signup=$(curl -s -X POST "$URL/auth/v1/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"bench$round@example.com\",\"password\":\"correct horse battery staple\"}")
    jwt=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$signup")
    # The cookie @supabase/ssr writes on 127.0.0.1: sb-127-auth-token=base64-<base64url(session)>.
    ssr=$(python3 -c 'import base64,sys; print("sb-127-auth-token=base64-" + base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$signup")
    headers=$(mktemp)
    token=$(curl -s -D "$headers" "$URL/_routekit/csrf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrfToken"])')
    cookie=$(grep -i '^set-cookie:' "$headers" | sed -E 's/^[^:]*: *([^;]*).*/\1/' | tr -d '\r'); rm -f "$headers"
    for request in "/api/notes {\"title\":\"remember the milk\"}" "/bench/echo-note $note"; do
        path=${request%% *} body=${request#* }
        status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL$path" -H 'content-type: application/json' \
            -H "authorization: Bearer $jwt" -H "x-csrf-token: $token" -H "cookie: $cookie" -d "$body")
        [ "$status" = 201 ] || { echo "routekit POST $path answered $status" >&2; exit 1; }
    done
    read -r r a b < <(load /api/me -H "Authorization: Bearer $jwt"); record me "$r" "$a" "$b"
    read -r r a b < <(BODY=$note AUTHORIZATION="Bearer $jwt" CSRF_TOKEN=$token CSRF_COOKIE=$cookie \
        load /bench/echo-note -s bench/post_json.lua); record notes_rk "$r" "$a" "$b"
    read -r r a b < <(BODY=$note CSRF_TOKEN=$token CSRF_COOKIE="$cookie; $ssr" \
        load /bench/echo-note -s bench/post_json.lua); record ssr_rk "$r" "$a" "$b"
    read -r r a b < <(BODY=$note AUTHORIZATION="Bearer $jwt" CSRF_COOKIE=$cookie REFUSED=1 \
        load /bench/echo-note -s bench/post_json.lua); record deny_rk "$r" "$a" "$b"
    kill "$PID"; wait "$PID" 2>/dev/null || true

    start "$target/routekit-fixture-app"
    RSS[fixture]+="$(rss_kib "$PID") "
    read -r r a b < <(load /hello); record hello "$r" "$a" "$b"
    kill "$PID"; wait "$PID" 2>/dev/null || true

    start "$target/bare-axum"
    RSS[axum]+="$(rss_kib "$PID") "
    read -r jwt cookie token session < <(curl -s "$URL/bench/credentials" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["jwt"], d["csrf_cookie"], d["csrf_token"], d["session_cookie"])')
    read -r r a b < <(BODY=$note AUTHORIZATION="Bearer $jwt" CSRF_TOKEN=$token CSRF_COOKIE=$cookie \
        load /api/notes -s bench/post_json.lua); record notes_ax "$r" "$a" "$b"
    read -r r a b < <(BODY=$note CSRF_TOKEN=$token CSRF_COOKIE="$cookie; $session" \
        load /api/notes -s bench/post_json.lua); record ssr_ax "$r" "$a" "$b"
    read -r r a b < <(BODY=$note AUTHORIZATION="Bearer $jwt" CSRF_COOKIE=$cookie REFUSED=1 \
        load /api/notes -s bench/post_json.lua); record deny_ax "$r" "$a" "$b"
    kill "$PID"; wait "$PID" 2>/dev/null || true

    start "$target/role-check"
    RSS[roles]+="$(rss_kib "$PID") "
    admin=$(curl -s "$URL/bench/credentials" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jwt"])')
    status=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/admin/me" -H "authorization: Bearer $admin")
    [ "$status" = 200 ] || { echo "role-check GET /api/admin/me answered $status" >&2; exit 1; }
    # Alternate which goes first, so that drift over a round does not favour one.
    for route in $( [ $((round % 2)) = 1 ] && echo "me admin" || echo "admin me"); do
        if [ "$route" = me ]; then
            read -r r a b < <(load /api/me -H "Authorization: Bearer $admin"); record session_only "$r" "$a" "$b"
        else
            read -r r a b < <(load /api/admin/me -H "Authorization: Bearer $admin"); record with_role "$r" "$a" "$b"
        fi
    done
    kill "$PID"; wait "$PID" 2>/dev/null || true
done

printf '\nSession cost: %s rounds x %s, %s connections (medians)\n' "$ROUNDS" "$DURATION" "$CONNECTIONS"
printf '%-34s %10s %10s %10s\n' scenario req/s p50_ms p99_ms
for s in hello me notes_rk notes_ax ssr_rk ssr_ax deny_rk deny_ax session_only with_role; do
    case $s in
        hello) label="routekit GET /hello (public)";; me) label="routekit GET /api/me (session)";;
        notes_rk) label="routekit POST /bench/echo-note";; notes_ax) label="hand-written axum POST /api/notes";;
        ssr_rk) label="routekit POST, @supabase/ssr cookie";; ssr_ax) label="hand-written axum POST, cookie";;
        deny_rk) label="routekit POST, no CSRF token: 403";; deny_ax) label="hand-written axum, no token: 403";;
        session_only) label="GET /api/me, AUTH = Required";; with_role) label="GET /api/admin/me, AUTH = Role";;
    esac
    printf '%-34s %10s %10s %10s\n' "$label" "$(median "${RPS[$s]}")" "$(median "${P50[$s]}")" "$(median "${P99[$s]}")"
done
printf 'GET /api/me / GET /hello: %.3f (goal >= 0.85)\n' "$(echo "$(median "${RPS[me]}") / $(median "${RPS[hello]}")" | bc -l)"
printf 'POST, Bearer session, routekit / axum: %.3f (goal >= 1.0)\n' "$(echo "$(median "${RPS[notes_rk]}") / $(median "${RPS[notes_ax]}")" | bc -l)"
printf 'POST with the session cookie routekit / axum: %.3f (goal >= 1.0)\n' "$(echo "$(median "${RPS[ssr_rk]}") / $(median "${RPS[ssr_ax]}")" | bc -l)"
printf 'POST without a token (403) routekit / axum: %.3f (goal >= 1.0)\n' "$(echo "$(median "${RPS[deny_rk]}") / $(median "${RPS[deny_ax]}")" | bc -l)"
rk=$(median "${RSS[routekit]}"); ax=$(median "${RSS[axum]}")
printf 'RSS after start: routekit %s KiB, axum %s KiB, ratio %.3f (goal <= 1.5)\n' "$rk" "$ax" "$(echo "$rk / $ax" | bc -l)"
fx=$(median "${RSS[fixture]}"); ro=$(median "${RSS[roles]}")
printf 'RSS after start, for information: fixture app (routes only) %s KiB (%.3f), role-check (sessions only) %s KiB (%.3f)\n' \
    "$fx" "$(echo "$fx / $ax" | bc -l)" "$ro" "$(echo "$ro / $ax" | bc -l)"
printf 'Role check: AUTH = Role / AUTH = Required: %.3f (goal >= 0.952, i.e. adds < 5%%)\n' "$(echo "$(median "${RPS[with_role]}") / $(median "${RPS[session_only]}")" | bc -l)"
