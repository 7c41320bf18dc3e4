#!/usr/bin/env bash
# make bench: every benchmark in bench/, each printing its figures beside its target. Speed is
# read, not asserted: a benchmark never fails the command, it says what it measured.
#
# The health look-up benchmark needs PostgreSQL: a private throwaway server is started for it
# when the binaries exist (scripts/services.sh), as for the tests.
#
# Environment:
#   HINDSIGHT_BENCH_LOOKUP_ROWS  the big size of the look-up benchmark (default 10,000,000; loading
#                                that many rows takes minutes, 1,000,000 is a quick look)
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

step "bench/lookup.py"
if find_pg_bin && { [[ $EUID -ne 0 ]] || id -u postgres >/dev/null 2>&1; } && start_postgres; then
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hindsight" python bench/lookup.py ||
        echo "bench/lookup.py stopped with status $?"
else
    echo "Skipped: it needs PostgreSQL (apt-get install postgresql)."
fi
