"""The files for running Hindsight for real (deploy/): the compose file, the systemd units and
gunicorn's configuration. Docker is not run here; its file is read and checked as data."""

from __future__ import annotations

import configparser
import io
import json
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "hindsight.env.example").read_text().splitlines()
    pairs = (line.partition("=") for line in lines if line and not line.startswith("#"))
    return {name: value for name, _, value in pairs}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


class TestComposeFile:
    def test_it_runs_postgresql_redis_web_worker_and_beat(self, compose):
        assert {"db", "redis", "migrate", "web", "worker", "beat"} == set(compose["services"])
        assert compose["services"]["db"]["image"].startswith("postgres:")
        assert compose["services"]["redis"]["image"].startswith("redis:")

    def test_the_app_services_share_one_image_built_from_the_project(self, compose):
        for name in ("migrate", "web", "worker", "beat"):
            service = compose["services"][name]
            assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
            assert service["env_file"] == "hindsight.env"
            assert (DEPLOY / "Dockerfile").exists()

    def test_each_app_service_runs_its_own_command(self, compose):
        services = compose["services"]
        assert services["web"]["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
        assert services["worker"]["command"][:4] == ["celery", "-A", "hindsight", "worker"]
        assert services["beat"]["command"][:4] == ["celery", "-A", "hindsight", "beat"]
        assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]

    def test_web_worker_and_beat_start_after_the_migrations_which_wait_for_the_databases(
        self, compose
    ):
        services = compose["services"]
        for name in ("web", "worker", "beat"):
            assert services[name]["depends_on"] == {
                "migrate": {"condition": "service_completed_successfully"}
            }
        assert services["migrate"]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }

    def test_the_services_talk_to_the_composed_postgresql_and_redis(self, compose):
        for name in ("migrate", "web", "worker", "beat"):
            environment = compose["services"][name]["environment"]
            assert environment["DATABASE_URL"].endswith("@db:5432/hindsight")
            assert environment["REDIS_URL"] == "redis://redis:6379/0"


class TestSystemdUnits:
    def unit(self, name: str) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
        parser.read_string((DEPLOY / "systemd" / f"hindsight-{name}.service").read_text())
        return parser

    @pytest.mark.parametrize(
        ("name", "command"),
        [
            ("web", "gunicorn -c deploy/gunicorn.conf.py"),
            ("worker", "celery -A hindsight worker"),
            ("beat", "celery -A hindsight beat"),
        ],
    )
    def test_each_unit_runs_its_process_with_the_production_settings(self, name, command):
        unit = self.unit(name)
        assert command in unit["Service"]["ExecStart"]
        assert unit["Service"]["EnvironmentFile"] == "/etc/hindsight/hindsight.env"
        assert unit["Service"]["User"] == "hindsight"
        assert unit["Service"]["Restart"] == "on-failure"
        assert unit["Install"]["WantedBy"] == "multi-user.target"

    def test_the_production_settings_template_turns_debug_off_behind_a_tls_proxy(self):
        values = env_example()
        assert values["DEBUG"] == "false"
        assert values["BEHIND_TLS_PROXY"] == "true"
        assert values["SECRET_KEY"] == ""  # to be filled in, never a shared default


def gunicorn_settings(monkeypatch, **env: str) -> dict:
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "LOG_FORMAT", "DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


class TestGunicornConfig:
    def test_workers_threads_and_timeouts_come_from_the_environment(self, monkeypatch):
        conf = gunicorn_settings(
            monkeypatch, GUNICORN_WORKERS="5", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="45"
        )
        assert (conf["workers"], conf["threads"], conf["timeout"]) == (5, 8, 45)
        assert conf["worker_class"] == "gthread"
        assert conf["wsgi_app"] == "hindsight.wsgi:application"
        assert conf["accesslog"] == "-"

    def test_every_setting_is_one_gunicorn_knows(self, monkeypatch):
        conf = gunicorn_settings(monkeypatch, DEBUG="false")
        known = Config().settings
        ours = {
            name
            for name, value in conf.items()
            if not name.startswith("_")
            and name.islower()
            and not callable(value)
            and not isinstance(value, ModuleType)
        } - {"annotations"}
        assert ours <= set(known), ours - set(known)

    def test_with_debug_off_the_access_log_is_json_lines_with_the_request_id(self, monkeypatch):
        conf = gunicorn_settings(monkeypatch, DEBUG="false")
        assert conf["LOG_FORMAT"] == "json"
        config = Config()
        config.set("accesslog", "-")
        config.set("logconfig_dict", conf["logconfig_dict"])
        logger = conf["JsonAccessLogger"](config)
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.getLogger("gunicorn.access").handlers[0].formatter)
        logger.access_log.handlers = [handler]

        response = SimpleNamespace(
            status="201 Created", headers=[("X-Request-ID", "r-42")], sent=17
        )
        request = SimpleNamespace(headers=[("USER-AGENT", "hindsight-ci")])
        environ = {
            "REQUEST_METHOD": "POST",
            "RAW_URI": "/api/v1/deployments?x=1",
            "PATH_INFO": "/api/v1/deployments",
            "QUERY_STRING": "x=1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.9",
            "HTTP_USER_AGENT": "hindsight-ci",
        }
        logger.access(response, request, environ, timedelta(milliseconds=12))
        entry = json.loads(out.getvalue())
        assert entry["logger"] == "gunicorn.access"
        assert entry["message"] == "POST /api/v1/deployments?x=1 201"
        assert entry["status"] == 201
        assert entry["request_id"] == "r-42"
        assert entry["duration_ms"] == 12
        assert entry["remote_addr"] == "10.0.0.9"
