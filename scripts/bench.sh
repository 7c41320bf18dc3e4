#!/usr/bin/env bash
# make bench: every benchmark in bench/, each printing its figures beside its target. Speed is
# read, not asserted: a benchmark never fails the command, it says what it measured.
#
# The health look-up and scale benchmarks need PostgreSQL: a private throwaway server is started
# for them when the binaries exist (scripts/services.sh), as for the tests. The scale benchmark
# exits 1 when a page misses its target; that is reported here and the command goes on.
#
# Environment:
#   HINDSIGHT_BENCH_LOOKUP_ROWS  the big size of the look-up benchmark (default 10,000,000; loading
#                                that many rows takes minutes, 1,000,000 is a quick look)
#   HINDSIGHT_BENCH_SCALE_QUICK  1: the scale benchmark at 100 against 1,000 incidents, no
#                                100,000 search size, a day of health results (bench/scale.py
#                                lists its other HINDSIGHT_BENCH_SCALE_* variables)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]]; then
    export PATH="$PWD/.venv/bin:$PATH"
fi
unset DATABASE_URL REDIS_URL

# shellcheck source=scripts/services.sh
source scripts/services.sh

for bench in api_lists probe markdown_import status_page live_pages; do
    if [[ -f bench/$bench.py ]]; then
        step "bench/$bench.py"
        python "bench/$bench.py" || echo "bench/$bench.py stopped with status $?"
    fi
done

if find_pg_bin && { [[ $EUID -ne 0 ]] || id -u postgres >/dev/null 2>&1; } && start_postgres; then
    for bench in lookup scale; do
        step "bench/$bench.py"
        DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hindsight" python "bench/$bench.py" ||
            echo "bench/$bench.py stopped with status $? (scale.py: 1 is a missed target)"
    done
else
    step "bench/lookup.py, bench/scale.py"
    echo "Skipped: they need PostgreSQL (apt-get install postgresql)."
fi
