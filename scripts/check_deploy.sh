#!/usr/bin/env bash
# Django's deployment checks with the production settings, failing on any warning: the values of
# deploy/hindsight.env.example (DEBUG off, behind a TLS proxy) with a throwaway SECRET_KEY. Run by
# scripts/test.sh, so that a setting that weakens production fails CI.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}

(
    set -a
    # shellcheck source=/dev/null
    source deploy/hindsight.env.example
    set +a
    SECRET_KEY=$("$PYTHON" -c "import secrets; print(secrets.token_urlsafe(50))")
    export SECRET_KEY
    export DJANGO_SETTINGS_MODULE=hindsight.settings
    # The check needs no database or Redis: it only reads the settings.
    exec "$PYTHON" manage.py check --deploy --fail-level WARNING
)
