"""Where and how the client runs: in place from the repository, as a copy alone in a folder, with
Python 3.9, as the installed console script; and how it fails: exit 2, one line, no traceback."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deployments.ci.conftest import (
    CLIENT,
    RECORD,
    ROOT,
    assert_no_traceback,
    run_client,
)
from tests.deployments.ci.fake import Reply

PYENV = Path.home() / ".pyenv" / "versions"


def test_the_client_folder_holds_nothing_that_could_shadow_the_standard_library():
    # Run in place, the script's folder comes first on sys.path (deployments/selectors.py broke
    # the old client that way); a new module here would do it again.
    names = sorted(p.name for p in CLIENT.parent.iterdir() if p.name != "__pycache__")
    assert names == ["__init__.py", "hindsight_ci.py"]


@pytest.mark.parametrize(
    ("cwd", "script"),
    [
        pytest.param(ROOT, "deployments/ci/hindsight_ci.py", id="from-the-repository"),
        pytest.param(ROOT / "deployments", "ci/hindsight_ci.py", id="from-deployments"),
        pytest.param(None, str(CLIENT), id="from-elsewhere"),
    ],
)
def test_in_place_it_records_a_deployment_from_any_folder(fake, tmp_path, cwd, script):
    run = run_client(
        *RECORD, "--url", fake.url, token=fake.token, script=script, cwd=cwd or tmp_path
    )
    assert run.returncode == 0, str(run)
    assert "Recorded: deployment #1 (pages-7f3c), in_progress" in run.stdout
    assert_no_traceback(run)


def test_a_copy_alone_in_an_empty_folder_runs(fake, tmp_path):
    copy = tmp_path / "hindsight_ci.py"
    shutil.copy(CLIENT, copy)
    run = run_client(
        *RECORD, url=fake.url, token=fake.token, script="hindsight_ci.py", cwd=tmp_path
    )
    assert run.returncode == 0, str(run)
    assert fake.deployments[0]["external_id"] == "pages-7f3c"


def test_the_client_imports_only_the_standard_library():
    tree = ast.parse(CLIENT.read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    names.discard("__future__")
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


def test_the_client_is_python_3_9_syntax():
    ast.parse(CLIENT.read_text(), feature_version=(3, 9))


def python39() -> str | None:
    """A Python 3.9 if this machine has one: on PATH, or among pyenv's versions."""
    on_path = shutil.which("python3.9")
    candidates = [
        *([on_path] if on_path else []),
        *map(str, sorted(PYENV.glob("3.9*/bin/python3.9"))),
    ]
    for found in candidates:
        works = subprocess.run([found, "--version"], capture_output=True, check=False, timeout=30)
        if works.returncode == 0:
            return found
    return None


@pytest.mark.skipif(python39() is None, reason="no python3.9 on this machine")
def test_with_python_3_9_it_records_and_finishes(fake, tmp_path):
    python = python39()
    assert python is not None
    run = run_client(*RECORD, url=fake.url, token=fake.token, python=python, cwd=tmp_path)
    assert run.returncode == 0, str(run)
    finish = ("finish", "--service", "moodmash", "--environment", "production")
    done = run_client(
        *finish,
        "--external-id",
        "pages-7f3c",
        "--status",
        "succeeded",
        url=fake.url,
        token=fake.token,
        python=python,
    )
    assert done.returncode == 0, str(done)
    assert fake.deployments[0]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--url", "http://127.0.0.1:9"), "Could not reach", id="refused"),
        pytest.param(("--url", "not a url"), "is not an http(s) URL", id="not-a-url"),
        pytest.param(("--url", "ftp://example.com"), "is not an http(s) URL", id="not-http"),
        pytest.param(("--url", "http://[::1"), "error:", id="unparseable"),
    ],
)
def test_an_unreachable_or_bad_url_exits_2_in_one_line(args, message):
    run = run_client(*RECORD, *args, "--deadline", "1", token="hst_x")
    assert run.returncode == 2, str(run)
    assert message in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("hindsight-ci: error:")
    assert_no_traceback(run)


def test_a_500_exits_2_after_its_retries(fake):
    fake.inject("POST", "/api/v1/deployments", *[Reply(500, {"title": "Server Error"})] * 50)
    run = run_client(*RECORD, "--url", fake.url, "--deadline", "1.5", token=fake.token)
    assert run.returncode == 2, str(run)
    assert "500 Server Error; gave up after" in run.stderr
    assert_no_traceback(run)


def test_an_html_answer_exits_2_with_its_start(fake):
    fake.inject("POST", "/api/v1/deployments", Reply(404, "<html>Not here</html>"))
    run = run_client(*RECORD, "--url", fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "answered 404 with a body that is not JSON: '<html>Not here</html>'" in run.stderr
    assert_no_traceback(run)


def test_a_redirect_is_not_followed_and_names_where_it_points(fake):
    fake.inject(
        "POST", "/api/v1/deployments", Reply(301, {}, {"Location": "https://elsewhere.example"})
    )
    run = run_client(*RECORD, "--url", fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "a redirect to https://elsewhere.example" in run.stderr
    assert fake.seen("GET", "/api/v1/deployments") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param((), "required: COMMAND", id="nothing"),
        # Not a word that names a folder here (the repository has deploy/): the old form without
        # a command takes a folder as gate's.
        pytest.param(("recrod", "--id", "1"), "invalid choice: 'recrod'", id="unknown-command"),
        pytest.param(("record", "--service", "moodmash"), "are required", id="missing"),
        pytest.param(("finish", "--id", "1", "--status", "done"), "invalid choice", id="status"),
        pytest.param(("wait-healthy", "--id", "x"), "invalid int value", id="not-an-id"),
        pytest.param(("change", "--at", "yesterday"), "not an ISO 8601 time", id="time"),
        pytest.param(("finish", "--finished-at", "2026-01-02T06:02"), "no time zone", id="naive"),
        pytest.param(("maintenance",), "required: ACTION", id="no-action"),
        pytest.param(("gate", "--deadline", "soon", "dist"), "not a number", id="deadline"),
    ],
)
def test_bad_usage_exits_2_with_the_reason(args, message):
    run = run_client(*args, token="hst_x", url="http://127.0.0.1:9")
    assert run.returncode == 2, str(run)
    assert message in run.stderr
    assert_no_traceback(run)


def test_no_token_or_no_url_exits_2_naming_the_variable():
    no_token = run_client(*RECORD, url="http://127.0.0.1:9")
    assert no_token.returncode == 2
    assert "HINDSIGHT_TOKEN" in no_token.stderr
    no_url = run_client(*RECORD, token="hst_x")
    assert no_url.returncode == 2
    assert "HINDSIGHT_URL" in no_url.stderr


def test_help_exits_0():
    for args in (("--help",), ("record", "--help"), ("maintenance", "start", "--help")):
        run = run_client(*args)
        assert run.returncode == 0, str(run)
        assert "usage: hindsight-ci" in run.stdout


def test_options_may_come_before_the_command(fake):
    run = run_client("--url", fake.url, "--json", *RECORD, token=fake.token)
    assert run.returncode == 0, str(run)
    (answer,) = run.answers
    assert answer["external_id"] == "pages-7f3c"
