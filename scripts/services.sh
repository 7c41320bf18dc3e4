# Private throwaway PostgreSQL and Redis servers for the test and bench commands: each in its own
# temp dir on its own port, torn down on exit. Sourced by scripts/test.sh and scripts/bench.sh;
# the caller sets -euo pipefail and calls find_pg_bin / start_postgres / start_redis.
#
# Environment:
#   HINDSIGHT_TEST_PG_PORT     first port to try for PostgreSQL (default 5440)
#   HINDSIGHT_TEST_REDIS_PORT  first port to try for Redis (default 6390)

PG_PORT_FIRST=${HINDSIGHT_TEST_PG_PORT:-5440}
REDIS_PORT_FIRST=${HINDSIGHT_TEST_REDIS_PORT:-6390}
PORT_TRIES=20

PG_BIN=""
PG_TMP=""
PG_PORT=""
REDIS_TMP=""
REDIS_PID=""
REDIS_PORT=""
BACKGROUND_PIDS=() # the caller's own background jobs, stopped on exit too

step() { printf '\n==> %s\n' "$*"; }

cleanup() {
    local rc=$?
    set +e
    local pid
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ -n $REDIS_PID ]]; then
        kill "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
    fi
    if [[ -n $PG_TMP && -f $PG_TMP/data/postmaster.pid ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -s stop >/dev/null 2>&1
    fi
    [[ -n $PG_TMP ]] && rm -rf "$PG_TMP"
    [[ -n $REDIS_TMP ]] && rm -rf "$REDIS_TMP"
    exit "$rc"
}
trap cleanup EXIT
# Without these, bash skips the EXIT trap when interrupted and the servers outlive us.
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# initdb refuses to run as root, so as root every PostgreSQL server binary runs as postgres.
as_postgres() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

find_pg_bin() {
    local dir
    while read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/createdb ]]; then
            PG_BIN=$dir
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    # Elsewhere, initdb on PATH (often a symlink into the versioned dir) will do.
    if [[ -z $PG_BIN ]] && command -v initdb >/dev/null; then
        dir=$(dirname "$(readlink -f "$(command -v initdb)")")
        if [[ -x $dir/pg_ctl && -x $dir/createdb ]]; then
            PG_BIN=$dir
        fi
    fi
    [[ -n $PG_BIN ]]
}

start_postgres() {
    # Under the system temp dir, not a home dir: the postgres user must be able to reach it.
    # Called as `start_postgres || ...`, so set -e is off in here: every step checks itself.
    PG_TMP=$(mktemp -d /tmp/hindsight-test-pg.XXXXXX) || return 1
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$PG_TMP" || return 1
    fi
    if ! as_postgres "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        return 1
    fi
    local port=$PG_PORT_FIRST tries
    for ((tries = 0; tries < PORT_TRIES; tries++, port++)); do
        port_in_use "$port" && continue
        # A failed start here is almost always a port someone took since the check: try the next.
        if as_postgres "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 30 -s \
            -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
            PG_PORT=$port
            "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres hindsight || return 1
            return 0
        fi
    done
    cat "$PG_TMP/postgres.log" >&2 || true
    return 1
}

start_redis() {
    REDIS_TMP=$(mktemp -d /tmp/hindsight-test-redis.XXXXXX) || return 1
    local port=$REDIS_PORT_FIRST tries waited
    for ((tries = 0; tries < PORT_TRIES; tries++, port++)); do
        port_in_use "$port" && continue
        : >"$REDIS_TMP/redis.log"
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$REDIS_TMP" --logfile "$REDIS_TMP/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
        REDIS_PID=$!
        for ((waited = 0; waited < 100; waited++)); do
            if ! kill -0 "$REDIS_PID" 2>/dev/null; then
                break # it exited: the port was taken meanwhile
            fi
            if grep -q "Ready to accept connections" "$REDIS_TMP/redis.log"; then
                REDIS_PORT=$port
                return 0
            fi
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
    done
    cat "$REDIS_TMP/redis.log" >&2 || true
    return 1
}

