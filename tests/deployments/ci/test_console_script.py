"""`make venv` installs the project, so the client is the console script hindsight-ci too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deployments.ci.conftest import RECORD


def test_the_console_script_is_installed_in_the_venv(tmp_path):
    script = Path(sys.executable).parent / "hindsight-ci"
    assert script.exists(), "make venv installs the project; hindsight-ci should be in .venv/bin"
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "wait-healthy" in done.stdout


def test_the_console_script_records_from_another_folder(fake, tmp_path):
    script = Path(sys.executable).parent / "hindsight-ci"
    done = subprocess.run(
        [str(script), *RECORD, "--url", fake.url, "--token", fake.token],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert fake.deployments[0]["status"] == "in_progress"
