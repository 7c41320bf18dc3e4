#!/usr/bin/env bash
# `make audit`: known vulnerabilities in every pinned requirement (requirements/*.txt), by
# pip-audit against its advisory source (the package index's JSON API by default;
# PIP_AUDIT_SERVICE=osv for OSV). --strict: a package the source cannot answer for fails the audit instead of passing
# unaudited. Accepted findings are listed in the README ("Dependencies and known vulnerabilities")
# with their reason, and skipped here by id with --ignore-vuln.
#
# Not part of `make test`: it needs the advisory source, which not every machine reaches.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Accepted findings: one id a line, each with its reason in the README.
IGNORED=()

args=()
for file in requirements/*.txt; do
    args+=(-r "$file")
done
for id in "${IGNORED[@]}"; do
    args+=(--ignore-vuln "$id")
done

exec .venv/bin/pip-audit --strict --disable-pip --no-deps \
    --vulnerability-service "${PIP_AUDIT_SERVICE:-pypi}" "${args[@]}"
