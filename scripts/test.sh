#!/usr/bin/env bash
# The whole suite: lint, Django's checks (deployment checks too), then pytest. Extra arguments go to pytest.
#
# When their binaries exist, pytest runs against private throwaway PostgreSQL and Redis servers
# (their own temp dirs and ports, torn down on exit), so a test can never touch a server you
# use. Where they are missing it runs on SQLite and says loudly which suites it skipped.
#
# pytest runs in parallel (pytest-xdist): each worker has its own test database (pytest-django
# names it test_hindsight_gw0, ...) and its own Redis database number (tests/settings.py).
# `--dist loadgroup` runs the tests of the xdist_group "one-at-a-time" on one worker, one after
# another (tests/conftest.py says which). `-n 0` in the arguments runs everything in one process.
#
# Environment:
#   HINDSIGHT_TEST_PG_PORT, HINDSIGHT_TEST_REDIS_PORT  first ports to try (scripts/services.sh)
#   HINDSIGHT_TEST_SKIP_LINT   1 skips ruff, mypy and Django's checks (quick reruns of a few tests)
# Exported to pytest:
#   HINDSIGHT_TEST_SERVICES    comma-separated real services: postgres, redis, browser
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -x .venv/bin/python ]]; then
    export PATH="$PWD/.venv/bin:$PATH"
fi

# Whatever the caller's shell points at is not ours to flush.
unset DATABASE_URL REDIS_URL

CHROMIUM=/usr/bin/chromium # tests/conftest.py launches this one

# shellcheck source=scripts/services.sh
source scripts/services.sh

banner() {
    local line
    line=$(printf '#%.0s' {1..78})
    {
        echo
        echo "$line"
        echo "#  NOT THE WHOLE SUITE: these suites were SKIPPED on this machine"
        for line in "${SKIPPED[@]}"; do
            echo "#    - $line"
        done
        echo "#  Install the system packages (apt-get install postgresql redis-server chromium,"
        echo "#  or run .ci/run as root) to run them."
        printf '#%.0s' {1..78}
        echo
        echo
    } >&2
}

# mypy and Django's checks, one after another, stopping at the first that fails.
checks() {
    step "mypy"
    mypy
    step "manage.py check"
    python manage.py check
    step "manage.py check --deploy with the production settings"
    PYTHON=python bash scripts/check_deploy.sh
    step "manage.py makemigrations --check"
    python manage.py makemigrations --check --dry-run
}

CHECKS_LOG=var/test-checks.log
if [[ ${HINDSIGHT_TEST_SKIP_LINT:-} != 1 ]]; then
    step "ruff check"
    ruff check .
    step "ruff format --check"
    ruff format --check .
    # The checks take half a minute from a fresh clone (mypy has no cache yet), mostly on one CPU
    # while pytest is starting or waiting on browsers and servers. So they run beside pytest, in
    # a subshell with the environment as it is here (no DATABASE_URL: they need no database),
    # and their output and verdict come after pytest's.
    mkdir -p var
    (
        set -e
        checks
    ) >"$CHECKS_LOG" 2>&1 &
    BACKGROUND_PIDS+=("$!")
    step "mypy and Django's checks: running beside pytest (their output follows pytest's)"
fi

SERVICES=()
SKIPPED=()

find_pg_bin || true
if [[ -z $PG_BIN ]]; then
    SKIPPED+=("postgres: no initdb/pg_ctl under /usr/lib/postgresql/*/bin; tests ran on SQLite")
elif [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
    SKIPPED+=("postgres: running as root with no postgres user to run initdb as; tests ran on SQLite")
else
    step "starting a private PostgreSQL ($PG_BIN)"
    start_postgres || {
        echo "Could not start PostgreSQL on ports $PG_PORT_FIRST+$PORT_TRIES" >&2
        exit 1
    }
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/hindsight"
    echo "DATABASE_URL=$DATABASE_URL"
    SERVICES+=(postgres)
fi

if command -v redis-server >/dev/null; then
    step "starting a private Redis"
    start_redis || {
        echo "Could not start Redis on ports $REDIS_PORT_FIRST+$PORT_TRIES" >&2
        exit 1
    }
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    echo "REDIS_URL=$REDIS_URL"
    SERVICES+=(redis)
else
    SKIPPED+=("redis, celery_worker: no redis-server; Celery tasks ran eagerly, cache was local memory")
fi

if [[ -x $CHROMIUM ]]; then
    SERVICES+=(browser)
else
    SKIPPED+=("browser: no $CHROMIUM")
fi

HINDSIGHT_TEST_SERVICES=$(
    IFS=,
    echo "${SERVICES[*]}"
)
export HINDSIGHT_TEST_SERVICES

if ((${#SKIPPED[@]})); then
    banner
fi

step "pytest"
rc=0
# One worker per CPU (PYTEST_XDIST_AUTO_NUM_WORKERS overrides): on 2 CPUs three workers were
# faster but starved the tests that measure time (README, "What make test does"). At most 8: each
# worker holds a Redis database number (16 by default) and PostgreSQL connections (100 by default).
python -m pytest -n auto --maxprocesses 8 --dist loadgroup --durations=15 "$@" || rc=$?
if ((rc == 5)); then
    echo "pytest collected no tests; counting that as a pass."
    rc=0
fi

if ((${#BACKGROUND_PIDS[@]})); then
    checks_rc=0
    wait "${BACKGROUND_PIDS[0]}" || checks_rc=$?
    BACKGROUND_PIDS=()
    cat "$CHECKS_LOG"
    if ((checks_rc != 0)); then
        echo "FAILED: mypy or Django's checks (above, also in $CHECKS_LOG)" >&2
        ((rc != 0)) || rc=$checks_rc
    fi
fi

if ((${#SKIPPED[@]})); then
    banner
fi
exit "$rc"
