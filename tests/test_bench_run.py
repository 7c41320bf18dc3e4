"""make bench's table and exit status (bench/run.py with bench/results.py), on fake benchmarks
written here: a missed target and a crash each fail the run, and tell which it was.

The fakes run as the real ones do, each in a process of its own started by the runner.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
# The benchmarks import each other as top-level modules, as `python bench/run.py` runs them.
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
results = importlib.import_module("results")
runner = importlib.import_module("run")


def _fake(tmp_path: Path, name: str, body: str) -> Path:
    script = tmp_path / f"{name}.py"
    script.write_text(
        "import results as record\n\n\ndef main():\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n\nrecord.run(main)\n"
    )
    return script


def _run(*scripts: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _row(output: str, bench: str) -> list[str]:
    """The table's rows of one benchmark: from below the header's rule to the first blank line."""
    lines = output.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("benchmark "))) + 2
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return [line for line in lines[start:end] if line.startswith(f"{bench} ")]


MEETS = """
record.figure("list page", 15.0, unit="ms", baseline=10.0, target=2.0)
record.figure("wall", 1.2, unit="s", target=3.0)
record.check("plan", met=True, seen="uses the index", wanted="the index")
return 0
"""

MISSES = """
record.figure("list page", 30.0, unit="ms", baseline=10.0, target=2.0)
return 0
"""


def test_a_run_where_every_target_is_met_exits_0_with_one_row_per_figure(tmp_path):
    done = _run(_fake(tmp_path, "fast", MEETS))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _row(done.stdout, "fast")
    assert len(rows) == 3
    assert rows[0].split() == [
        "fast", "list", "page", "15.0", "ms", "10.0", "ms", "1.50x", "<=", "2.00x", "met"
    ]  # fmt: skip
    assert rows[1].split() == ["fast", "wall", "1.20", "s", "-", "-", "<=", "3.00", "s", "met"]
    assert rows[2].split()[-4:] == ["-", "the", "index", "met"]
    assert "3 of 3 targets met" in done.stdout


def test_a_missed_target_makes_the_run_exit_1_and_says_missed(tmp_path):
    done = _run(_fake(tmp_path, "fast", MEETS), _fake(tmp_path, "slow", MISSES))
    assert done.returncode == runner.MISSED == 1, done.stdout + done.stderr
    (row,) = _row(done.stdout, "slow")
    assert "3.00x" in row
    assert row.endswith("MISSED")
    assert all(row.endswith("met") for row in _row(done.stdout, "fast"))
    assert "3 of 4 targets met; 1 missed" in done.stdout


def test_a_benchmark_that_raises_makes_the_run_exit_2_and_names_the_error(tmp_path):
    script = _fake(
        tmp_path,
        "broken",
        """
        record.figure("wall", 1.0, unit="s", target=3.0)
        raise RuntimeError("the fixture server never answered")
        """,
    )
    done = _run(script, _fake(tmp_path, "fast", MEETS))
    assert done.returncode == runner.CRASHED == 2, done.stdout + done.stderr
    rows = _row(done.stdout, "broken")
    assert rows[-1].endswith("CRASHED")
    assert "broken crashed: RuntimeError: the fixture server never answered" in done.stdout
    # The benchmarks after it still ran, and their figures are in the table.
    assert len(_row(done.stdout, "fast")) == 3


def test_a_crash_outranks_a_miss_in_the_exit_status(tmp_path):
    crash = _fake(tmp_path, "broken", 'raise KeyError("page")')
    done = _run(_fake(tmp_path, "slow", MISSES), crash)
    assert done.returncode == 2


def test_a_benchmark_killed_before_its_end_is_a_crash(tmp_path):
    script = _fake(
        tmp_path,
        "killed",
        """
        import os
        record.figure("wall", 1.0, unit="s", target=3.0)
        os._exit(0)
        """,
    )
    done = _run(script)
    assert done.returncode == 2
    assert "killed crashed: stopped before its end (exit status 0)" in done.stdout


def test_a_benchmark_exiting_non_zero_with_every_target_met_is_a_crash(tmp_path):
    script = _fake(tmp_path, "odd", 'record.figure("wall", 1.0, unit="s", target=3.0)\nreturn 3')
    done = _run(script)
    assert done.returncode == 2
    assert "odd crashed: exit status 3 with every recorded target met" in done.stdout


def test_a_benchmark_that_exits_1_for_its_own_missed_target_is_a_miss_not_a_crash(tmp_path):
    # As bench/scale.py does when run alone.
    done = _run(_fake(tmp_path, "scale_like", MISSES.replace("return 0", "return 1")))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CRASHED" not in done.stdout


def test_a_benchmark_giving_up_with_a_message_is_a_crash(tmp_path):
    done = _run(_fake(tmp_path, "gave_up", 'raise SystemExit("gunicorn did not answer")'))
    assert done.returncode == 2
    assert "gave_up crashed: gunicorn did not answer" in done.stdout


def test_a_benchmark_that_records_nothing_is_a_crash(tmp_path):
    done = _run(_fake(tmp_path, "silent", "return 0"))
    assert done.returncode == 2
    assert "silent crashed: recorded no figure" in done.stdout


def test_a_skipped_benchmark_is_listed_and_fails_nothing(tmp_path):
    script = _fake(tmp_path, "needs_pg", 'record.skip("needs PostgreSQL")\nreturn 0')
    done = _run(script, _fake(tmp_path, "fast", MEETS))
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = _row(done.stdout, "needs_pg")
    assert "skipped: needs PostgreSQL" in row
    assert "skipped: needs_pg" in done.stdout


def test_run_alone_a_benchmark_records_nothing_and_exits_as_its_main_says(tmp_path):
    script = _fake(tmp_path, "slow", MISSES)
    env = {k: v for k, v in os.environ.items() if k != results.RESULTS_ENV}
    env["PYTHONPATH"] = str(BENCH)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == [script]


@pytest.mark.parametrize(
    ("value", "bound", "target", "baseline", "met"),
    [
        (2.0, "<=", 2.0, None, True),
        (2.0, "<", 2.0, None, False),
        (20.0, "<=", 2.0, 10.0, True),
        (20.1, "<=", 2.0, 10.0, False),
        (700.0, ">=", 0.7, 1000.0, True),
        (699.0, ">=", 0.7, 1000.0, False),
        (1.0, "<=", 2.0, 0.0, False),  # a zero baseline is no ratio to meet a target with
    ],
)
def test_a_figure_is_judged_on_its_ratio_when_it_has_a_baseline(
    value, bound, target, baseline, met
):
    figure = results.Figure("page", value, "ms", target, bound, baseline)
    assert figure.met is met


def test_the_status_is_the_worst_outcome():
    met = results.Figure("a", 1.0, "s", 2.0)
    missed = results.Figure("b", 3.0, "s", 2.0)
    end = results.End(0)
    fine = runner.Outcome("fine", [met, end], 0, 1.0)
    slow = runner.Outcome("slow", [missed, end], 0, 1.0)
    broken = runner.Outcome("broken", [met], 1, 1.0)
    assert runner.status([fine]) == 0
    assert runner.status([fine, slow]) == 1
    assert runner.status([slow, broken]) == 2
