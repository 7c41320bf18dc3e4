"""python bench/markdown_import.py: how fast a Markdown post-mortem is read and imported.

Two generated documents:

- "seed-like": the Ledgerly test document (the seed's layout, in this project's words: garbled
  emoji headings, nested causes and checkboxes, code blocks, a fenced message) repeated with
  every list item numbered apart, so about one row per three lines, as in the seed itself; once
  at the seed's length (about 340 lines), then at 1,000 and 10,000 lines;
- "dense": nothing but list items (timed events, status lines, nested causes, task lists with
  owners and due dates, lessons, criteria), one row per line: the worst case, at 1,000 and 10,000
  lines.

It times the parse alone and the whole import (parse, then every row and its history written in
one transaction) against a throwaway SQLite database, in CPU time of this process, best of three,
so a busy machine skews no figure, and counts the import's queries in one more run. Targets
(issue "A house to live in for years"): a seed-sized document imports in under 0.5 s of CPU, and
the cost stays linear in the document's length: the import's cost per line at 10,000 lines within
1.5x of its cost per line at 1,000 (1.0x is linear, 10x would be quadratic). Run alone it
prints and exits 0; it records its figures (bench/results.py) for make bench's table, which
fails on a missed target.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import results as record
from sqlite_django import setup_django

if TYPE_CHECKING:
    from incidents.documents.importer.draft import Draft

SEED_LINES = 340  # about the seed's length
SIZES = (1_000, 10_000)
REPEATS = 3
SEED_TARGET_SECONDS = 0.5
# The import's CPU per line at the large size over its CPU per line at the small one.
LINEAR_TARGET = 1.5


def _setup(tmp: str) -> None:
    setup_django(tmp)


def _block(n: int) -> list[str]:
    """One stretch of a post-mortem, different words each time (rendering caches nothing)."""
    minute = n % 60
    return [
        f"- **{(n // 60) % 24:02d}:{minute:02d}** · Action taken · Step {n}: restarted worker "
        f"pool {n} and watched the `error_rate_{n}` graph",
        f"- ✅ **Check {n}:** healthy after {n} probes",
        f"1. **Factor {n}:**",
        f"   - The queue {n} had no back-pressure",
        f"   - Retries multiplied load by {n % 7 + 2}",
        f"- [ ] Add a limit to queue {n} · P{n % 3 + 1} · prevent · @owner{n % 5} · due 2026-02-{n % 28 + 1:02d}",
        f"  - [x] Measure queue {n} depth",
        f"  - [ ] Alert on queue {n} depth",
        f"- ❌ Nobody watched queue {n}",
        f"- [ ] Queue {n} stays under 1,000 messages",
        "",
    ]


SEED_LIKE = Path(__file__).resolve().parent.parent / "tests/incidents/documents/seed_ledgerly.md"
_ITEM = re.compile(r"^(\s*(?:[-*+]|\d+\.)\s+(?:\[[ xX]\]\s+)?)(\S.*)$")


def seed_like(lines: int) -> str:
    """The Ledgerly document over and over, every list item numbered apart so that no two
    rows share a text (the renderer would otherwise render a repeated text once)."""
    template = SEED_LIKE.read_text(encoding="utf-8").split("\n")
    title, body = template[0], template[1:]
    out = [title]
    copy = 0
    while len(out) < lines:
        copy += 1
        for line in body:
            match = _ITEM.match(line)
            if match and not match.group(2).endswith(":**"):
                line = f"{match.group(1)}{match.group(2)} (round {copy})"
            out.append(line)
    return "\n".join(out[:lines]) + "\n"


def dense(lines: int) -> str:
    head = [
        "# Bench outage - Post-Mortem & Recovery Plan",
        "",
        "**Incident Date:** 2026-01-02 06:02 - 09:18 UTC  ",
        "**Duration:** 3 hours 16 minutes  ",
        "**Severity:** Critical  ",
        "**Status:** ✅ RESOLVED",
        "",
    ]
    sections = {
        "## Timeline": [0],
        "## Current Status": [1],
        "## Root Cause Analysis\n\n### Contributing Factors": [2, 3, 4],
        "## Lessons Learned\n\n### What Went Wrong": [8],
        "## Action Items\n\n### This Week": [5, 6, 7],
        "## Success Criteria\n\n### Before Next Deployment": [9],
    }
    out = list(head)
    per_block = sum(len(v) for v in sections.values())
    blocks = max(1, (lines - len(head) - 3 * len(sections)) // per_block)
    for heading, picks in sections.items():
        out += ["", heading, ""]
        for n in range(blocks):
            block = _block(n)
            out += [block[i] for i in picks]
    return "\n".join(out[:lines]) + "\n"


def _measure(
    text: str, services: ModuleType, parse_postmortem: Callable[[str], Draft]
) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    parse = imports = float("inf")
    rows = 0
    # The same text each time, imported on purpose: force past the duplicate check (whose
    # query is still made and counted).
    for _ in range(REPEATS):
        started = time.process_time()
        draft = parse_postmortem(text)
        parse = min(parse, time.process_time() - started)
        rows = draft.item_count()
        started = time.process_time()
        services.postmortem_import(data=text, user=None, service_slug="bench", force=True)
        imports = min(imports, time.process_time() - started)
    # Counted apart: keeping every query's SQL costs time of its own.
    with CaptureQueriesContext(connection) as queries:
        services.postmortem_import(data=text, user=None, service_slug="bench", force=True)
    return parse, imports, rows, len(queries)


def main() -> None:
    runs = [("seed-like", seed_like, SEED_LINES)]
    for name, make in (("seed-like", seed_like), ("dense", dense)):
        runs += [(name, make, size) for size in SIZES]
    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        from django.contrib.auth import get_user_model
        from django.db import connection

        from deployments.models import Service
        from incidents.documents import importer, services
        from incidents.documents.importer import parse_postmortem

        # The dense document puts about 2,700 rows under one heading at 10,000 lines, past the
        # import's refusal limits (a guard against abuse, tested on its own). This measures how
        # the import's cost grows with length, so it lifts them to what its largest document
        # holds: a line is at most one row.
        importer.MAX_SECTION_ROWS = max(importer.MAX_SECTION_ROWS, max(SIZES))
        importer.MAX_ROWS = max(importer.MAX_ROWS, max(SIZES))

        Service.objects.create(name="Bench", slug="bench")
        for i in range(5):
            get_user_model().objects.create_user(f"owner{i}")
        results = {}
        for name, make, size in runs:
            parse, imports, rows, queries = _measure(make(size), services, parse_postmortem)
            results[name, size] = imports
            print(
                f"{name:>9} {size:>6,} lines, {rows:>5,} rows: parse {parse * 1000:7.1f} ms, "
                f"import {imports * 1000:7.1f} ms CPU, {queries:>3} queries"
            )
        connection.close()
    seed = results["seed-like", SEED_LINES]
    verdict = "within" if seed < SEED_TARGET_SECONDS else "OVER"
    print(
        f"seed-sized import ({SEED_LINES} lines): {seed:.3f} s CPU, {verdict} the "
        f"{SEED_TARGET_SECONDS} s target"
    )
    record.figure(
        f"seed-sized import ({SEED_LINES} lines), CPU",
        seed,
        unit="s",
        target=SEED_TARGET_SECONDS,
        bound="<",
    )
    small, large = SIZES
    for name in ("seed-like", "dense"):
        per_line = (results[name, large] / large) / (results[name, small] / small)
        verdict = "within" if per_line < LINEAR_TARGET else "OVER"
        print(
            f"{name}: import CPU per line at {large:,} lines is {per_line:.2f}x that at "
            f"{small:,} ({results[name, large]:.2f} s vs {results[name, small]:.3f} s), "
            f"{verdict} the {LINEAR_TARGET}x target (1.0x is linear)"
        )
        record.figure(
            f"{name}: import CPU per line, {large:,} lines against {small:,}",
            results[name, large] / large * 1e6,
            unit="us",
            baseline=results[name, small] / small * 1e6,
            target=LINEAR_TARGET,
            bound="<",
        )


if __name__ == "__main__":
    record.run(main)
