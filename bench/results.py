"""What a benchmark measured against its target, for the one table `make bench` ends with.

Each benchmark records its judged figures here as it prints them: a figure (with its in-run
baseline when the target is a ratio to one), a check (a plain yes or no the figures rely on, such
as "the plan uses the index"), or a skip (what it needs and did not find). It ends through run(),
which records how it ended. When HINDSIGHT_BENCH_RESULTS names a file, every record is appended
to it as a JSON line: bench/run.py gives each benchmark a file of its own, reads it back, prints
the table, and tells a missed target from a crash by those records. Run alone, a benchmark
writes no file and prints just as it did.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, NoReturn

RESULTS_ENV = "HINDSIGHT_BENCH_RESULTS"

Bound = Literal["<=", "<", ">="]


@dataclass(frozen=True)
class Figure:
    """A measured value and its target. With a baseline, the target bounds value / baseline."""

    name: str
    value: float
    unit: str
    target: float
    bound: Bound = "<="
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.value / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        judged = self.value if self.ratio is None else self.ratio
        if self.bound == "<=":
            return judged <= self.target
        if self.bound == "<":
            return judged < self.target
        return judged >= self.target


@dataclass(frozen=True)
class Check:
    """Something a benchmark's figures rely on, seen or not: `seen` against `wanted`."""

    name: str
    met: bool
    seen: str
    wanted: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class End:
    """How the benchmark ended: its exit status, or the exception that stopped it."""

    status: int
    crash: str = ""


Record = Figure | Check | Skip | End
_KINDS: dict[str, type[Record]] = {"figure": Figure, "check": Check, "skip": Skip, "end": End}


def _write(kind: str, record: Record) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, **asdict(record)}) + "\n")


def figure(
    name: str,
    value: float,
    *,
    unit: str,
    target: float,
    bound: Bound = "<=",
    baseline: float | None = None,
) -> Figure:
    result = Figure(name, value, unit, target, bound, baseline)
    _write("figure", result)
    return result


def check(name: str, *, met: bool, seen: str, wanted: str) -> Check:
    result = Check(name, met, seen, wanted)
    _write("check", result)
    return result


def skip(reason: str) -> None:
    _write("skip", Skip(reason))


def read(path: str) -> list[Record]:
    records: list[Record] = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            fields: dict[str, Any] = json.loads(line)
            records.append(_KINDS[fields.pop("kind")](**fields))
    return records


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run a benchmark's main() as its script's entry point, and record how it ended.

    The end record is what tells the runner a benchmark that missed a target and said so from
    one that crashed: both may exit 1, only the crash leaves a traceback here (or no end at all,
    when the process was killed).
    """
    try:
        status = main() or 0
    except SystemExit as stop:
        # sys.exit("message") is how a script gives up: a crash with its reason.
        if stop.code is None or isinstance(stop.code, int):
            _write("end", End(stop.code or 0))
        else:
            _write("end", End(1, str(stop.code)))
        raise
    except BaseException as error:
        _write("end", End(1, "".join(traceback.format_exception_only(error)).strip()))
        raise
    _write("end", End(status))
    sys.exit(status)
