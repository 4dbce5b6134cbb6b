# Shared by the load benchmarks: wrk (installed from Debian's packages if missing), a release
# build, servers pinned to CPU 0 and wrk to CPU 1, medians. Source it; it measures and never
# fails on a timing.

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    else sudo apt-get install -y -qq wrk >/dev/null; fi
fi

pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# start CMD...: starts a server on a random port pinned to CPU 0; sets PID and URL.
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

# load PATH [WRK_ARGS...]: runs wrk against $URL$PATH and prints "req_per_s p50_ms p99_ms".
load() {
    pin 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${@:2}" "$URL$1" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        END { printf "%.0f %.3f %.3f\n", rps, ms(p50), ms(p99) }'
}

peak_rss_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
