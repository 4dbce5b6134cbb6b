#!/usr/bin/env bash
# The dev loop (issue #16): `routekit dev` on the example app scaffolded by `routekit new`,
# after a warm build, against a kill-first loop on the same project in the same run. Prints
# save→served time, its split into codegen, rustc and restart, and the requests that failed
# during the swaps. It measures; it never fails on a timing.
#
#   bench/dev.sh                  # EDITS=3 CLIENTS=4
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p routekit-cli -p routekit-bench
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$(pwd)/$target_dir" ;; esac
# The scaffold builds in debug, as `routekit dev` does, in the shared target folder.
ROUTEKIT_BIN="$target_dir/release/routekit" CARGO_TARGET_DIR="$target_dir" \
    "$target_dir/release/dev-loop"
