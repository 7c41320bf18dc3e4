#!/usr/bin/env bash
# `make serve`: Hindsight on one small machine with the production settings: gunicorn (web), a
# Celery worker and Celery beat, each a process of its own, started together and stopped together.
# When one of them exits, the others are stopped and the command exits non-zero, so a supervisor
# (systemd, a container runtime) restarts the whole.
#
# Settings come from the environment, or from the file HINDSIGHT_ENV_FILE (default hindsight.env,
# made from deploy/hindsight.env.example) when it exists. DEBUG defaults to false here. Put a proxy
# that terminates TLS in front (the README's "Running in production"); for a look over plain HTTP
# on this machine only, set SECURE_SSL_REDIRECT=false and SECURE_COOKIES=false.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=.venv/bin

ENV_FILE=${HINDSIGHT_ENV_FILE:-hindsight.env}
if [[ -f $ENV_FILE ]]; then
    echo "Reading settings from $ENV_FILE"
    set -a
    # shellcheck source=/dev/null
    source "$ENV_FILE"
    set +a
fi
export DEBUG=${DEBUG:-false}

missing=()
for name in SECRET_KEY ALLOWED_HOSTS REDIS_URL; do
    [[ -n ${!name:-} ]] || missing+=("$name")
done
if ((${#missing[@]})); then
    echo "make serve needs ${missing[*]} (in the environment or $ENV_FILE; see deploy/hindsight.env.example)." >&2
    exit 2
fi
if [[ -z ${DATABASE_URL:-} ]]; then
    echo "DATABASE_URL is not set: using SQLite under var/. PostgreSQL is the production database." >&2
fi

mkdir -p var
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$BIN/gunicorn" -c deploy/gunicorn.conf.py &
pids+=($!)
"$BIN/celery" -A hindsight worker -l info --concurrency "${CELERY_CONCURRENCY:-2}" &
pids+=($!)
"$BIN/celery" -A hindsight beat -l info -s var/celerybeat-schedule &
pids+=($!)

# The first of the three to exit ends the others.
rc=0
wait -n || rc=$?
echo "A Hindsight process exited (status $rc); stopping the others." >&2
exit $((rc == 0 ? 1 : rc))
