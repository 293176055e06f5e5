#!/bin/sh
# Runs each fuzz target for $1 seconds (default 600), one after another, niced, single process.
# New inputs go to corpus-work/<target>/ (ignored by git); minimize them into corpus/<target>/
# with `cargo +nightly fuzz cmin`. Logs: fuzz/logs/<target>.log.
set -u
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
targets="${*:-sync_request tus_headers document_import}"
mkdir -p logs
for t in $targets; do
    mkdir -p "corpus-work/$t"
    nice -n 10 cargo +nightly fuzz run --target-dir "${FUZZ_TARGET_DIR:-target}" "$t" \
        "corpus-work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        > "logs/$t.log" 2>&1
    echo "$t: exit $?"
done
