"""Fixtures for the prober's tests and for anything that probes real local targets.

target_server      a TargetServer on 127.0.0.1 (see tests/deployments/servers.py for its
                   paths), counters reset for each test
tls_target_server  the same paths over TLS with a self-signed certificate for localhost;
                   .certificate is the PEM file to trust
loopback_allowed   HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"] for the test, so the
                   SSRF guard lets probes reach those servers (and nothing else private)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.deployments.servers import (
    TargetServer,
    self_signed_context,
    start_target_server,
)


@pytest.fixture(scope="session")
def _session_target_server() -> Iterator[TargetServer]:
    server = start_target_server()
    yield server
    server.close()


@pytest.fixture
def target_server(_session_target_server: TargetServer) -> TargetServer:
    _session_target_server.reset()
    return _session_target_server


@pytest.fixture(scope="session")
def _session_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetServer]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    directory = tmp_path_factory.mktemp("tls")
    server = start_target_server(tls=self_signed_context(directory))
    server.certificate = directory / "cert.pem"
    yield server
    server.close()


@pytest.fixture
def tls_target_server(_session_tls_server: TargetServer) -> TargetServer:
    _session_tls_server.reset()
    return _session_tls_server


@pytest.fixture
def loopback_allowed(settings) -> list[str]:
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS
