#!/usr/bin/env bash
# make bench: every benchmark in bench/ (bench/run.py), each printing its own part, then one table
# of every figure against its target. Exits 1 when a target is missed and 2 when a benchmark
# crashed; it is not part of make test.
#
# The health look-up and scale benchmarks need PostgreSQL: a private throwaway server is started
# for them when the binaries exist (scripts/services.sh), as for the tests. Without one, they are
# listed as skipped in the table.
#
# Arguments: benchmark names to run only those (e.g. `bash scripts/bench.sh probe scale`).
#
# Environment:
#   HINDSIGHT_BENCH_QUICK        1: every benchmark at its quick size (each variable below that is
#                                not set gets its quick value)
#   HINDSIGHT_BENCH_LOOKUP_ROWS  the big size of the look-up benchmark (default 10,000,000; loading
#                                that many rows takes minutes, 1,000,000 is a quick look)
#   HINDSIGHT_BENCH_STATUS_INCIDENTS  the status page's large history (10,000; quick 1,000)
#   HINDSIGHT_BENCH_SCALE_QUICK  1: the scale benchmark at 100 against 1,000 incidents, no
#                                100,000 search size, a day of health results (bench/scale.py
#                                lists its other HINDSIGHT_BENCH_SCALE_* variables)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]]; then
    export PATH="$PWD/.venv/bin:$PATH"
fi
unset DATABASE_URL REDIS_URL HINDSIGHT_BENCH_POSTGRES_URL

if [[ ${HINDSIGHT_BENCH_QUICK:-0} != 0 ]]; then
    export HINDSIGHT_BENCH_LOOKUP_ROWS=${HINDSIGHT_BENCH_LOOKUP_ROWS:-1000000}
    export HINDSIGHT_BENCH_STATUS_INCIDENTS=${HINDSIGHT_BENCH_STATUS_INCIDENTS:-1000}
    export HINDSIGHT_BENCH_SCALE_QUICK=${HINDSIGHT_BENCH_SCALE_QUICK:-1}
fi

# shellcheck source=scripts/services.sh
source scripts/services.sh

if find_pg_bin && { [[ $EUID -ne 0 ]] || id -u postgres >/dev/null 2>&1; } && start_postgres; then
    export HINDSIGHT_BENCH_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/hindsight"
else
    step "PostgreSQL"
    echo "Not started: bench/lookup.py and bench/scale.py need it (apt-get install postgresql)."
fi

python bench/run.py "$@"
