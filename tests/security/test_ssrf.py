"""The SSRF guard end to end: every spelling of a private address, names that resolve to one, a
redirect to one and a name that rebinds, each fetched through the real transport while a
listener on a private address counts what reaches it.

The address table itself (which ranges are refused and why) is tests/deployments/test_ssrf.py,
and the prober's own redirect and allow-list behaviour tests/deployments/test_prober.py; this
file adds the attacker's side: 0 connections to a private address, counted where they would land.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from deployments.probing import BlockedAddress, ProbeTarget, guarded_request, probe_targets
from tests.deployments.servers import TargetServer, start_target_server


@dataclass
class Listener:
    """A TCP listener that only counts the connections it accepts."""

    sock: socket.socket
    accepted: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _listen(family: socket.AddressFamily, host: str, port: int) -> Listener:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(64)
    listener = Listener(sock)
    threading.Thread(target=listener.serve, daemon=True, name=f"count-{host}").start()
    return listener


@dataclass
class Listeners:
    """Counting listeners on one port at 127.0.0.1, 127.0.0.2 and ::1 (where IPv6 works)."""

    port: int
    by_host: dict[str, Listener]

    def accepted(self) -> int:
        return sum(listener.accepted for listener in self.by_host.values())


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    first = _listen(socket.AF_INET, "127.0.0.1", 0)
    by_host = {"127.0.0.1": first, "127.0.0.2": _listen(socket.AF_INET, "127.0.0.2", first.port)}
    # Without IPv6 loopback here the ::1 spellings are still refused, just not counted.
    with contextlib.suppress(OSError):
        by_host["::1"] = _listen(socket.AF_INET6, "::1", first.port)
    yield Listeners(first.port, by_host)
    for listener in by_host.values():
        listener.close()


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = start_target_server()
    yield server
    server.close()


@pytest.fixture
def dialled(monkeypatch, listeners: Listeners) -> list[str]:
    """Every address a socket is asked to connect to on the ports the tests aim at (the
    listeners' and HTTP's), whatever connects it. Other ports are left out: a Celery worker
    thread of an earlier test may still be talking to Redis in this process."""
    seen: list[str] = []
    real_connect = socket.socket.connect
    aimed_at = {listeners.port, 80, 443}

    def connect(self: socket.socket, address: tuple[str, int] | str) -> None:
        if isinstance(address, tuple) and int(address[1]) in aimed_at:
            seen.append(str(address[0]))
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


class Resolver:
    """socket.getaddrinfo with some names answered from a table (a list of answers is served one
    lookup after another, the last one from then on); other names go to the real resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else str(host)
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            count = self.lookups.get(name, 0)
            self.lookups[name] = count + 1
            addresses = self.answers[name][min(count, len(self.answers[name]) - 1)]
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)),
                )
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def answer(self, name: str, *lookups: list[str]) -> None:
        self.answers[name] = list(lookups)


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    return Resolver(monkeypatch)


@pytest.fixture
def nothing_allowed(settings) -> None:
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = []


REFUSALS = ("blocked by SSRF guard: ", "invalid URL: ")


def _blocked(results) -> list[str]:
    """What came of the targets that were not refused before connecting (none, when all were).

    A spelling the URL parser rejects (0177.0.0.1) is refused as surely as one the guard does."""
    return [f"{r.error or r.status_code}" for r in results if not r.error.startswith(REFUSALS)]


# --- Literal addresses: every spelling of loopback lands on the counting listener's port -------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.2",
    "127.1",  # short form
    "2130706433",  # decimal
    "017700000001",  # octal
    "0x7f000001",  # hexadecimal
    "0x7f.0.0.1",  # hexadecimal first octet
    "0177.0.0.1",  # octal first octet
    "0x7F.0x0.0x0.0x1",  # mixed case hexadecimal octets
    "[::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:7f00:1]",  # the same, written as hex groups
    "[0:0:0:0:0:ffff:127.0.0.1]",  # the same, uncompressed
    "[64:ff9b::7f00:1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4
    "0.0.0.0",  # reaches this machine on Linux
    "0",  # 0.0.0.0 in one number
    "[::]",
    "[::ffff:0.0.0.0]",
    "127.0.0.1.",  # trailing dot: a name to the resolver, which answers loopback
    "localhost",
    "LocalHost",  # mixed case
    "localhost.",
]

# Private and special addresses elsewhere: nothing listens there, so the connect spy counts.
PRIVATE_ELSEWHERE = [
    "169.254.169.254",  # cloud metadata
    "0xa9fea9fe",  # the same, hexadecimal
    "2852039166",  # the same, decimal
    "0251.0376.0251.0376",  # the same, octal octets
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[fd00:ec2::254]",
    "100.100.100.200",
    "169.254.1.1",  # link-local
    "[fe80::1]",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "[fc00::1]",  # unique local
    "[fd12:3456::1]",
    "224.0.0.1",  # multicast
    "[ff02::1]",
    "255.255.255.255",
    "240.0.0.1",
    "198.18.0.1",
]


def test_every_spelling_of_a_loopback_address_is_refused_and_nothing_reaches_it(
    listeners, dialled, resolver, nothing_allowed
):
    # Resolvers differ on names with a trailing dot; the usual answer is loopback.
    resolver.answer("127.0.0.1.", ["127.0.0.1"])
    resolver.answer("localhost.", ["127.0.0.1", "::1"])
    urls = [f"http://{host}:{listeners.port}/" for host in LOOPBACK_SPELLINGS]
    results = probe_targets([ProbeTarget(url, timeout=2) for url in urls])
    assert _blocked(results) == []
    assert listeners.accepted() == 0
    assert dialled == []


def test_every_private_and_special_address_is_refused_before_any_connect(dialled, nothing_allowed):
    urls = [f"http://{host}/latest/meta-data/" for host in PRIVATE_ELSEWHERE]
    results = probe_targets([ProbeTarget(url, timeout=2) for url in urls])
    assert _blocked(results) == []
    assert dialled == []


def test_metadata_spellings_stay_refused_with_everything_allowed(dialled):
    metadata = ["169.254.169.254", "0xa9fea9fe", "2852039166", "[::ffff:a9fe:a9fe]"]
    results = probe_targets(
        [ProbeTarget(f"http://{host}/", timeout=2) for host in metadata],
        allowed_networks=["0.0.0.0/0", "::/0"],
    )
    assert _blocked(results) == []
    assert all("cloud metadata" in r.error for r in results)
    assert dialled == []


# --- Names whose resolver answers with private addresses ----------------------------------------


def test_names_that_resolve_to_private_addresses_are_refused_and_nothing_reaches_them(
    listeners, dialled, resolver, nothing_allowed
):
    resolver.answer("inside.example", ["127.0.0.1"])
    resolver.answer("second.example", ["127.0.0.2"])
    resolver.answer("mapped.example", ["::ffff:127.0.0.1"])
    resolver.answer("v6.example", ["::1"])
    resolver.answer("metadata.example", ["169.254.169.254"])
    resolver.answer("several.example", ["10.0.0.7", "fd00::7", "192.168.0.9"])
    names = list(resolver.answers)
    results = probe_targets(
        [ProbeTarget(f"http://{name}:{listeners.port}/", timeout=2) for name in names]
    )
    assert _blocked(results) == []
    assert all(
        r.error.startswith(f"blocked by SSRF guard: {n} resolves to ")
        for r, n in zip(results, names, strict=True)
    )
    assert listeners.accepted() == 0
    assert dialled == []


def test_a_webhook_style_request_to_such_a_name_raises_and_sends_nothing(
    listeners, dialled, resolver, nothing_allowed
):
    resolver.answer("hooks.example", ["127.0.0.1"])
    with pytest.raises(BlockedAddress, match=re.escape("hooks.example resolves to 127.0.0.1")):
        guarded_request("POST", f"http://hooks.example:{listeners.port}/", content=b"{}")
    assert listeners.accepted() == 0
    assert dialled == []


# --- Redirects from an allowed test server to a private address ---------------------------------


def _redirect(target: TargetServer, location: str, status: int = 302) -> str:
    return target.url(f"/redirect-to?status={status}&url={quote(location, safe='')}")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_a_private_address_is_refused_at_that_hop(
    listeners, target, resolver, settings, status
):
    # Only the test server's own address is opened: 127.0.0.2 stays as private as any.
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target.reset()
    resolver.answer("next.example", ["127.0.0.2"])
    locations = [
        f"http://127.0.0.2:{listeners.port}/",
        f"http://2130706434:{listeners.port}/",  # 127.0.0.2, decimal
        f"http://next.example:{listeners.port}/",
        f"http://[::1]:{listeners.port}/",
        "http://169.254.169.254/latest/meta-data/",
    ]
    results = probe_targets([ProbeTarget(_redirect(target, loc, status)) for loc in locations])
    assert _blocked(results) == []
    assert all("redirected to by" in r.error for r in results)
    assert len(target.requests) == len(locations)
    assert listeners.by_host["127.0.0.2"].accepted == 0
    assert listeners.accepted() == 0


def test_a_webhook_post_redirected_to_a_private_address_is_refused(listeners, target, settings):
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target.reset()
    start = _redirect(target, f"http://127.0.0.2:{listeners.port}/", status=307)
    with pytest.raises(BlockedAddress, match=re.escape("127.0.0.2 is loopback")):
        guarded_request("POST", start, content=b"{}", max_redirects=3)
    assert listeners.accepted() == 0


# --- A rebinding resolver: allowed on the first lookup, private on the second ------------------


def test_a_name_that_rebinds_between_hops_is_dialled_at_the_address_judged(
    listeners, target, resolver, settings
):
    # The test server stands in for the public address the first answer gives.
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target.reset()
    resolver.answer("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    url = target.url("/redirect/2", host="rebind.example")
    [result] = probe_targets([ProbeTarget(url)])
    assert (result.ok, result.status_code) == (True, 200), result.error
    assert [r.path for r in target.requests] == ["/redirect/2", "/redirect/1", "/ok"]
    assert listeners.by_host["127.0.0.2"].accepted == 0


def test_a_name_that_rebinds_before_the_next_request_is_refused_then(
    listeners, target, resolver, settings
):
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target.reset()
    resolver.answer("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    first = guarded_request("GET", target.url("/ok", host="rebind.example"))
    assert first.status_code == 200
    with pytest.raises(BlockedAddress, match=re.escape("rebind.example resolves to 127.0.0.2")):
        guarded_request("GET", f"http://rebind.example:{listeners.port}/")
    assert resolver.lookups["rebind.example"] == 2
    assert listeners.accepted() == 0


def test_a_name_that_answers_public_and_private_at_once_is_dialled_on_the_allowed_one_only(
    listeners, target, resolver, settings, dialled
):
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target.reset()
    resolver.answer("mixed.example", ["127.0.0.2", "127.0.0.1"])
    response = guarded_request("GET", target.url("/ok", host="mixed.example"))
    assert response.status_code == 200
    assert "127.0.0.2" not in dialled
    assert listeners.accepted() == 0
