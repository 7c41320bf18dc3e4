"""make bench: run every benchmark, then print one table of every judged figure and exit non-zero
when a target was missed or a benchmark crashed.

Each benchmark runs in a process of its own, as `python bench/<name>.py` runs it alone, printing
its own part as it goes; it records its figures through bench/results.py into a file this runner
names, and this runner reads them back. The table gives each figure, its in-run baseline and the
ratio where the target is a ratio to one, the target and the verdict. A benchmark that recorded a
skip (PostgreSQL or ApacheBench missing) shows it and fails nothing.

Exit status: 0 every target met; 1 a target missed; 2 a benchmark crashed (an exception, killed,
a non-zero exit with no missed target to explain it, or no figure recorded at all).

    python bench/run.py                      # every benchmark
    python bench/run.py probe lookup         # some, by name (or by path to a script)

Environment:
    HINDSIGHT_BENCH_POSTGRES_URL  the server the PostgreSQL benchmarks (lookup, scale) get as
                                  DATABASE_URL; scripts/bench.sh starts a private one. Unset, they
                                  record that they were skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from results import RESULTS_ENV, Check, End, Figure, Record, Skip, read

BENCH = Path(__file__).resolve().parent
BENCHES = ("api_lists", "probe", "markdown_import", "status_page", "live_pages", "lookup", "scale")
POSTGRES = frozenset({"lookup", "scale"})
POSTGRES_ENV = "HINDSIGHT_BENCH_POSTGRES_URL"

OK, MISSED, CRASHED = 0, 1, 2


@dataclass
class Outcome:
    bench: str
    records: list[Record]
    status: int  # of the process; negative when a signal ended it
    seconds: float

    @property
    def judged(self) -> list[Figure | Check]:
        return [r for r in self.records if isinstance(r, Figure | Check)]

    @property
    def missed(self) -> list[Figure | Check]:
        return [r for r in self.judged if not r.met]

    @property
    def skips(self) -> list[Skip]:
        return [r for r in self.records if isinstance(r, Skip)]

    @property
    def crash(self) -> str:
        """Why the benchmark did not run to its end, or "" when it did."""
        ends = [r for r in self.records if isinstance(r, End)]
        if not ends:
            return f"stopped before its end (exit status {self.status})"
        if ends[-1].crash:
            return ends[-1].crash
        # A benchmark may exit 1 to say it missed a target (scale.py does); with no miss
        # recorded, a non-zero exit is unexplained.
        if self.status != 0 and not self.missed:
            return f"exit status {self.status} with every recorded target met"
        if not self.judged and not self.skips:
            return "recorded no figure"
        return ""


def _script(name: str) -> Path:
    if name.endswith(".py") or os.sep in name:
        return Path(name).resolve()
    return BENCH / f"{name}.py"


def _environment(name: str, results: str) -> dict[str, str]:
    env = dict(os.environ)
    env[RESULTS_ENV] = results
    # A benchmark given by path (not in bench/) still imports results and its neighbours.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))
    env.pop("DATABASE_URL", None)
    if name in POSTGRES and env.get(POSTGRES_ENV):
        env["DATABASE_URL"] = env[POSTGRES_ENV]
    return env


def run_one(script: Path, tmp: str) -> Outcome:
    results = os.path.join(tmp, f"{script.stem}.jsonl")
    print(f"\n==> bench/{script.name}", flush=True)
    began = time.monotonic()
    status = subprocess.call(
        [sys.executable, str(script)], env=_environment(script.stem, results), cwd=BENCH.parent
    )
    seconds = time.monotonic() - began
    records = read(results) if os.path.exists(results) else []
    return Outcome(script.stem, records, status, seconds)


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):  # NaN or a zero baseline
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}".rstrip()


def _rows(outcome: Outcome) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for record in outcome.records:
        if isinstance(record, Figure):
            ratio = record.ratio
            baseline = "-" if record.baseline is None else _with_unit(record.baseline, record.unit)
            target = f"{record.bound} {_number(record.target)}"
            target += "x" if ratio is not None else f" {record.unit}".rstrip()
            rows.append(
                (
                    outcome.bench,
                    record.name,
                    _with_unit(record.value, record.unit),
                    baseline,
                    "-" if ratio is None else f"{_number(ratio)}x",
                    target,
                    "met" if record.met else "MISSED",
                )
            )
        elif isinstance(record, Check):
            verdict = "met" if record.met else "MISSED"
            rows.append((outcome.bench, record.name, record.seen, "-", "-", record.wanted, verdict))
        elif isinstance(record, Skip):
            rows.append((outcome.bench, f"skipped: {record.reason}", "-", "-", "-", "-", "skipped"))
    if outcome.crash:
        # The reason may be a long exception message: it is printed whole below the table.
        rows.append((outcome.bench, "did not finish", "-", "-", "-", "-", "CRASHED"))
    return rows


HEADER = ("benchmark", "figure", "measured", "baseline", "ratio", "target", "verdict")


def table(outcomes: list[Outcome]) -> str:
    rows = [HEADER] + [row for outcome in outcomes for row in _rows(outcome)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    # Text columns to the left, numbers to the right.
    right = {2, 3, 4, 5}
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def status(outcomes: list[Outcome]) -> int:
    if any(outcome.crash for outcome in outcomes):
        return CRASHED
    if any(outcome.missed for outcome in outcomes):
        return MISSED
    return OK


def summary(outcomes: list[Outcome]) -> str:
    judged = sum(len(outcome.judged) for outcome in outcomes)
    missed = sum(len(outcome.missed) for outcome in outcomes)
    crashed = [outcome.bench for outcome in outcomes if outcome.crash]
    skipped = [outcome.bench for outcome in outcomes if outcome.skips]
    parts = [f"{judged - missed} of {judged} targets met"]
    if missed:
        parts.append(f"{missed} missed")
    if crashed:
        parts.append(f"crashed: {', '.join(crashed)}")
    if skipped:
        parts.append(f"skipped: {', '.join(skipped)}")
    minutes = sum(outcome.seconds for outcome in outcomes) / 60
    return "; ".join(parts) + f" ({minutes:.1f} min)"


def main(argv: list[str]) -> int:
    scripts = [_script(name) for name in argv or BENCHES]
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-") as tmp:
        outcomes = [run_one(script, tmp) for script in scripts]
    print(f"\n==> make bench: {summary(outcomes)}\n")
    print(table(outcomes))
    for outcome in outcomes:
        if outcome.crash:
            print(f"\n{outcome.bench} crashed: {outcome.crash}")
    sys.stdout.flush()
    return status(outcomes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
