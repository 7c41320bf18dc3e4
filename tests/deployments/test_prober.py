"""The prober against real servers on 127.0.0.1: verdicts, error texts, the guard at connect time
and at every redirect hop, the concurrency caps and the timeouts."""

from __future__ import annotations

import asyncio
import json
import random
import re
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from deployments.probing import (
    BlockedAddress,
    ProbeError,
    ProbeResult,
    ProbeTarget,
    guarded_request,
    probe_targets,
)
from deployments.probing.prober import run_sync
from deployments.probing.slots import Slots
from deployments.probing.ssrf import allowed_networks
from deployments.probing.transport import Session
from deployments.services.health import probe_checks
from tests.deployments.servers import refused_port, start_banner_server, unaccepting_port
from tests.factories import HealthCheckFactory

# Timeouts and caps measured in time: run one at a time with the rest of the group that needs
# quiet (tests/conftest.py).
pytestmark = [
    pytest.mark.usefixtures("loopback_allowed"),
    pytest.mark.xdist_group("one-at-a-time"),
]


def probe_one(url: str, **fields) -> ProbeResult:
    [result] = probe_targets([ProbeTarget(url, **fields)])
    return result


def run_loop(coroutine):
    """asyncio.run() on a thread of its own: after the browser tests, Playwright's sync API
    keeps a loop running in the main thread, and asyncio.run() refuses to start a second."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def redirect_to(server, url: str, status: int = 302) -> str:
    return server.url(f"/redirect-to?status={status}&url={quote(url, safe='')}")


class TestVerdicts:
    def test_an_answering_target_is_ok_with_its_status_and_latency(self, target_server):
        result = probe_one(target_server.url("/slow/60"))
        assert (result.ok, result.status_code, result.error) == (True, 200, "")
        assert result.latency_ms is not None
        assert 60 <= result.latency_ms < 2000

    def test_results_come_back_in_the_order_of_the_targets(self, target_server):
        codes = [503, 200, 404, 204, 500]
        results = probe_targets([ProbeTarget(target_server.url(f"/status/{c}")) for c in codes])
        assert [r.status_code for r in results] == codes
        assert [r.ok for r in results] == [False, True, False, False, False]

    def test_an_unexpected_status_is_stored_with_what_was_expected(self, target_server):
        result = probe_one(target_server.url("/status/503"))
        assert (result.ok, result.status_code) == (False, 503)
        assert result.error == "unexpected status 503 (expected 200)"
        assert result.latency_ms is not None

    def test_the_expected_status_may_be_anything(self, target_server):
        assert probe_one(target_server.url("/status/204"), expected_status=204).ok

    def test_missing_expected_text_fails_and_says_which_text(self, target_server):
        result = probe_one(target_server.url("/body?text=hello+there"), expected_body="goodbye")
        assert (result.ok, result.status_code) == (False, 200)
        assert result.error == "expected text missing: 'goodbye' is not in the answer"

    def test_expected_text_is_found_in_the_answers_own_charset(self, target_server):
        url = target_server.url("/body?charset=latin-1&text=" + quote("Café ouvert"))
        assert probe_one(url, expected_body="Café").ok

    def test_expected_text_is_found_in_a_gzip_body(self, target_server):
        assert probe_one(target_server.url("/gzip?text=all+systems+go"), expected_body="systems").ok

    def test_expected_text_is_found_in_a_chunked_body(self, target_server):
        assert probe_one(target_server.url("/chunked?text=all+systems+go"), expected_body="go").ok

    def test_a_body_without_a_length_is_read_until_the_server_closes(self, target_server):
        result = probe_one(target_server.url("/until-close?text=ready"), expected_body="ready")
        assert result.ok, result.error

    def test_only_the_first_mebibyte_of_a_body_is_searched(self, target_server):
        result = probe_one(target_server.url("/big/1100?text=needle"), expected_body="needle")
        assert (result.ok, result.status_code) == (False, 200)
        assert result.error == (
            "expected text missing: 'needle' is not in the first 1024 KiB of the answer"
        )
        assert probe_one(target_server.url("/big/1000?text=needle"), expected_body="needle").ok

    def test_a_head_check_needs_no_body(self, target_server):
        result = probe_one(target_server.url("/ok"), method="HEAD")
        assert result.ok, result.error
        assert target_server.requests[0].method == "HEAD"

    def test_the_probe_says_who_it_is_and_sends_no_credentials(self, target_server):
        probe_one(target_server.url("/ok").replace("://", "://user:pw@"))
        headers = target_server.requests[0].headers
        assert headers["user-agent"].startswith("Hindsight-Prober/")
        assert headers["host"] == f"127.0.0.1:{target_server.port}"
        assert "authorization" not in headers


class TestErrors:
    def test_a_refused_connection_says_so(self):
        port = refused_port()
        result = probe_one(f"http://127.0.0.1:{port}/")
        assert (result.ok, result.status_code, result.latency_ms) == (False, None, None)
        assert result.error == f"connection refused by 127.0.0.1:{port}"

    def test_a_target_that_never_answers_times_out_after_its_own_timeout(self, target_server):
        started = time.monotonic()
        result = probe_one(target_server.url("/hang"), timeout=0.4)
        assert 0.4 <= time.monotonic() - started < 1.5
        assert result.error == (
            f"timed out after 0.4 s waiting for an answer from 127.0.0.1:{target_server.port}"
        )

    def test_a_host_that_drops_connections_times_out_connecting(self):
        port = unaccepting_port()
        started = time.monotonic()
        [result] = probe_targets(
            [ProbeTarget(f"http://127.0.0.1:{port}/", timeout=5)], connect_timeout=0.3
        )
        assert time.monotonic() - started < 2
        assert result.error == f"timed out connecting to 127.0.0.1:{port} after 0.3 s"

    def test_a_self_signed_certificate_is_a_tls_error(self, tls_target_server):
        result = probe_one(tls_target_server.url("/ok"))
        assert not result.ok
        assert result.error.startswith(f"TLS error from 127.0.0.1:{tls_target_server.port}: ")
        assert "certificate verify failed" in result.error
        assert tls_target_server.requests == []

    def test_a_server_speaking_another_protocol_is_a_non_http_answer(self):
        url = start_banner_server()
        started = time.monotonic()
        result = probe_one(url, timeout=5)
        assert time.monotonic() - started < 2
        assert result.error.startswith("not an HTTP answer from 127.0.0.1:")
        assert "SSH-2.0" in result.error

    def test_a_malformed_http_answer_is_a_non_http_answer(self, target_server):
        result = probe_one(target_server.url("/garbage"))
        assert result.error.startswith(f"not an HTTP answer from 127.0.0.1:{target_server.port}")

    def test_a_body_cut_short_says_the_answer_broke_off(self, target_server):
        result = probe_one(target_server.url("/cut-short"), expected_body="short")
        assert not result.ok
        assert result.error.startswith(
            f"the answer from 127.0.0.1:{target_server.port} broke off: "
        ), result.error

    def test_a_status_check_does_not_wait_for_a_body_cut_short(self, target_server):
        assert probe_one(target_server.url("/cut-short")).ok

    def test_an_unknown_name_says_it_could_not_be_resolved(self):
        result = probe_one("http://nothing-here.invalid/")
        assert result.error.startswith("could not resolve nothing-here.invalid")


class TestGuard:
    def test_a_name_resolving_to_loopback_is_refused_before_any_connection(
        self, target_server, settings
    ):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = []
        result = probe_one(target_server.url("/ok", host="localhost"))
        assert not result.ok
        assert result.error.startswith("blocked by SSRF guard: localhost resolves to ")
        assert "127.0.0.1, which is loopback" in result.error
        assert target_server.requests == []

    @pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "2130706433"])
    def test_a_loopback_address_in_any_spelling_is_refused(self, target_server, settings, host):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = []
        result = probe_one(target_server.url("/ok", host=host))
        assert result.error.startswith("blocked by SSRF guard: ")
        assert "loopback" in result.error
        assert target_server.requests == []

    def test_the_allow_list_opens_a_name_too(self, target_server):
        assert probe_one(target_server.url("/ok", host="localhost")).ok

    @pytest.mark.parametrize(
        "url",
        [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
            "http://[::ffff:169.254.169.254]/",
        ],
    )
    def test_cloud_metadata_is_refused_even_with_everything_allowed(self, url):
        started = time.monotonic()
        [result] = probe_targets([ProbeTarget(url)], allowed_networks=["0.0.0.0/0", "::/0"])
        assert time.monotonic() - started < 1
        assert result.error.startswith("blocked by SSRF guard: ")
        assert "cloud metadata" in result.error

    @pytest.mark.parametrize(
        "url", ["ftp://example.com/", "file:///etc/passwd", "gopher://127.0.0.1:70/"]
    )
    def test_schemes_other_than_http_are_refused(self, url):
        assert probe_one(url).error.startswith("blocked by SSRF guard: scheme ")

    def test_three_redirects_are_followed(self, target_server):
        result = probe_one(target_server.url("/redirect/3"))
        assert (result.ok, result.status_code) == (True, 200), result.error
        assert [r.path for r in target_server.requests][-1] == "/ok"

    def test_a_fourth_redirect_is_not(self, target_server):
        result = probe_one(target_server.url("/redirect/4"))
        assert result.error == "too many redirects (more than 3)"
        assert [r.path for r in target_server.requests] == [
            "/redirect/4",
            "/redirect/3",
            "/redirect/2",
            "/redirect/1",
        ]

    @pytest.mark.parametrize(
        ("location", "reason"),
        [
            ("http://127.0.0.2:{port}/ok", "127.0.0.2 is loopback"),
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
            ("http://[::1]:{port}/ok", "::1 is loopback"),
            ("http://10.0.0.1/", "10.0.0.1 is private"),
            ("ftp://127.0.0.1:{port}/", "scheme 'ftp'"),
        ],
    )
    def test_a_redirect_to_a_refused_target_is_refused_at_that_hop(
        self, target_server, location, reason
    ):
        start = redirect_to(target_server, location.format(port=target_server.port))
        result = probe_one(start)
        assert result.error.startswith("blocked by SSRF guard: ")
        assert reason in result.error
        assert "redirected to by" in result.error
        assert len(target_server.requests) == 1

    def test_a_check_that_expects_a_redirect_judges_it_without_following(self, target_server):
        result = probe_one(redirect_to(target_server, "http://10.0.0.1/"), expected_status=301)
        assert (result.ok, result.status_code) == (False, 302)
        assert probe_one(target_server.url("/redirect/1"), expected_status=302).ok

    def test_a_post_redirected_with_303_continues_as_a_get(self, target_server):
        url = redirect_to(target_server, "/echo", status=303)
        result = probe_one(url, method="POST", expected_body='"method": "GET"')
        assert result.ok, result.error
        assert [r.method for r in target_server.requests] == ["POST", "GET"]

    def test_https_verifies_the_name_while_dialling_the_judged_address(self, tls_target_server):
        context = ssl.create_default_context(cafile=str(tls_target_server.certificate))

        async def fetch():
            session = Session(allowed=allowed_networks(["127.0.0.1/32"]), ssl_context=context)
            return await session.fetch(tls_target_server.url("/ok", host="localhost"))

        answer = run_sync(fetch)
        assert answer.status == 200
        assert tls_target_server.requests[0].headers["host"] == (
            f"localhost:{tls_target_server.port}"
        )


class TestConcurrency:
    def test_the_per_host_cap_holds_per_host_name(self, target_server):
        targets = [ProbeTarget(target_server.url("/slow/150")) for _ in range(9)]
        targets += [ProbeTarget(target_server.url("/slow/150", host="localhost")) for _ in range(9)]
        results = probe_targets(targets, max_per_host=3)
        assert all(r.ok for r in results), {r.error for r in results}
        # Two names for one server: three connections each, never more.
        assert target_server.max_active == 6

    def test_the_overall_cap_holds_across_hosts(self, target_server):
        targets = [ProbeTarget(target_server.url("/slow/100")) for _ in range(4)]
        targets += [ProbeTarget(target_server.url("/slow/100", host="localhost")) for _ in range(4)]
        results = probe_targets(targets, max_concurrency=2, max_per_host=10)
        assert all(r.ok for r in results)
        assert target_server.max_active == 2

    def test_targets_waiting_for_a_busy_host_leave_the_batch_slots_to_others(self, target_server):
        targets = [ProbeTarget(target_server.url("/slow/150")) for _ in range(4)]
        targets.append(ProbeTarget(target_server.url("/ok", host="localhost")))
        results = probe_targets(targets, max_concurrency=2, max_per_host=1)
        assert all(r.ok for r in results)
        # The localhost probe is served at once, not after the queue for 127.0.0.1 drains.
        first_two = {r.headers["host"].split(":")[0] for r in target_server.requests[:2]}
        assert first_two == {"127.0.0.1", "localhost"}

    def test_a_blackholed_target_costs_its_own_timeout_not_the_batchs(self, target_server):
        targets = [ProbeTarget(target_server.url("/slow/50"), timeout=0.6) for _ in range(30)]
        targets += [ProbeTarget(target_server.url("/hang"), timeout=0.6) for _ in range(5)]
        started = time.monotonic()
        results = probe_targets(targets, max_per_host=50)
        elapsed = time.monotonic() - started
        assert [r.ok for r in results] == [True] * 30 + [False] * 5
        assert all(r.error.startswith("timed out after 0.6 s") for r in results[30:])
        # One timeout, not five: the hanging targets wait side by side.
        assert 0.6 <= elapsed < 1.6

    def test_a_host_not_heard_from_gets_a_free_slot_before_hosts_that_answered(self, target_server):
        hang = ProbeTarget(target_server.url("/hang", host="localhost"), timeout=0.5)
        quick = [ProbeTarget(target_server.url("/slow/50")) for _ in range(8)]
        results = probe_targets([hang, *quick, hang], max_concurrency=3, max_per_host=10)
        assert [r.ok for r in results] == [False] + [True] * 8 + [False]
        # First come, first served would start the second hanging probe after all eight quick
        # ones, and the batch would last their queue plus its timeout. It takes the first slot
        # that frees up instead (or the second, when two free at once).
        paths = [r.path for r in target_server.requests]
        second_hang = [i for i, path in enumerate(paths) if path == "/hang"][1]
        assert second_hang <= 4, paths

    def test_waiting_for_a_busy_host_does_not_count_against_the_timeout(self, target_server):
        targets = [ProbeTarget(target_server.url("/slow/200"), timeout=0.45) for _ in range(4)]
        started = time.monotonic()
        results = probe_targets(targets, max_per_host=1)
        assert time.monotonic() - started >= 0.8
        assert all(r.ok for r in results), [r.error for r in results]
        assert target_server.max_active == 1

    def test_waiting_for_a_batch_slot_does_not_count_against_the_timeout(self, target_server):
        targets = [
            ProbeTarget(target_server.url("/slow/200", host=host), timeout=0.45)
            for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost")
        ]
        started = time.monotonic()
        results = probe_targets(targets, max_concurrency=1, max_per_host=10)
        assert time.monotonic() - started >= 0.8
        assert all(r.ok for r in results), [r.error for r in results]
        assert target_server.max_active == 1

    def test_probing_from_inside_a_running_event_loop_works(self, target_server):
        async def caller():
            return probe_targets([ProbeTarget(target_server.url("/ok"))])

        [result] = run_loop(caller())
        assert result.ok


class TestSlots:
    """The batch's caps and queue order, on their own: no sockets, no clocks."""

    @staticmethod
    def served_order(slots: Slots, hosts: list[str], *, answered: list[str]) -> list[str]:
        async def scenario() -> list[str]:
            await slots.acquire("first.example")  # the only slot is taken: everyone queues
            order = []

            async def probe(host: str) -> None:
                await slots.acquire(host)
                order.append(host)
                slots.release(host)

            tasks = [asyncio.create_task(probe(host)) for host in hosts]
            await asyncio.sleep(0)
            for host in answered:
                slots.answered(host)
            slots.release("first.example")
            await asyncio.gather(*tasks)
            return order

        return run_loop(scenario())

    def test_hosts_not_heard_from_are_served_first_and_each_group_in_arrival_order(self):
        slots = Slots(max_concurrency=1, max_per_host=None)
        slots.answered("quick.example")
        hosts = ["quick.example", "a.example", "quick.example", "b.example", "a.example"]
        assert self.served_order(slots, hosts, answered=[]) == [
            "a.example",
            "b.example",
            "a.example",
            "quick.example",
            "quick.example",
        ]

    def test_a_host_that_answers_while_its_probes_wait_moves_behind_the_unknown_ones(self):
        slots = Slots(max_concurrency=1, max_per_host=None)
        order = self.served_order(slots, ["a.example", "b.example"], answered=["a.example"])
        assert order == ["b.example", "a.example"]

    def test_a_slot_handed_to_a_probe_cancelled_before_it_ran_passes_to_the_next(self):
        async def scenario() -> tuple[bool, bool]:
            slots = Slots(max_concurrency=1, max_per_host=None)
            await slots.acquire("first.example")
            handed = asyncio.create_task(slots.acquire("a.example"))
            waiting = asyncio.create_task(slots.acquire("b.example"))
            await asyncio.sleep(0)
            slots.release("first.example")  # the slot goes to `handed`...
            handed.cancel()  # ...which is cancelled before it runs
            await asyncio.wait([handed, waiting], timeout=1)
            return handed.cancelled(), waiting.done()

        assert run_loop(scenario()) == (True, True)

    def test_a_probe_cancelled_while_queued_takes_no_slot(self):
        async def scenario() -> bool:
            slots = Slots(max_concurrency=1, max_per_host=None)
            await slots.acquire("first.example")
            gone = asyncio.create_task(slots.acquire("a.example"))
            waiting = asyncio.create_task(slots.acquire("b.example"))
            await asyncio.sleep(0)
            gone.cancel()
            await asyncio.sleep(0)
            slots.release("first.example")
            await asyncio.wait([waiting], timeout=1)
            return waiting.done()

        assert run_loop(scenario())

    def test_both_caps_hold_whatever_the_order(self):
        rng = random.Random(5)
        hosts = [f"h{n}.example" for n in range(6)]
        in_use = dict.fromkeys(["all", *hosts], 0)
        most = dict.fromkeys(in_use, 0)

        async def probe(slots: Slots, host: str) -> None:
            await slots.acquire(host)
            for key in ("all", host):
                in_use[key] += 1
                most[key] = max(most[key], in_use[key])
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)
            if rng.random() < 0.5:
                slots.answered(host)
            in_use["all"] -= 1
            in_use[host] -= 1
            slots.release(host)

        async def scenario() -> None:
            slots = Slots(max_concurrency=4, max_per_host=2)
            await asyncio.gather(*(probe(slots, rng.choice(hosts)) for _ in range(300)))

        run_loop(scenario())
        assert most["all"] == 4
        assert max(most[host] for host in hosts) == 2
        assert in_use == dict.fromkeys(in_use, 0)


@pytest.mark.django_db
def test_probe_checks_returns_one_outcome_per_check_in_order(target_server):
    checks = [
        HealthCheckFactory(url=target_server.url("/status/503"), name="API"),
        HealthCheckFactory(url=target_server.url("/body?text=welcome"), expected_body="welcome"),
        HealthCheckFactory(url=target_server.url("/hang"), timeout_seconds=0.3),
    ]
    outcomes = probe_checks(checks)
    assert [o.health_check for o in outcomes] == checks
    assert [(o.ok, o.status_code) for o in outcomes] == [(False, 503), (True, 200), (False, None)]
    assert outcomes[0].error == "unexpected status 503 (expected 200)"
    assert outcomes[2].error.startswith("timed out after 0.3 s")


class TestGuardedRequest:
    def test_it_sends_a_signed_post_and_returns_the_answer(self, target_server):
        response = guarded_request(
            "POST",
            target_server.url("/echo"),
            content=b'{"event": "incident.opened"}',
            headers={"Content-Type": "application/json", "X-Hindsight-Signature": "sha256=abc"},
            timeout=2,
        )
        assert response.status_code == 200
        echoed = json.loads(response.body)
        assert echoed["method"] == "POST"
        assert echoed["body"] == '{"event": "incident.opened"}'
        assert echoed["headers"]["x-hindsight-signature"] == "sha256=abc"
        assert echoed["headers"]["content-length"] == "28"

    def test_it_refuses_what_the_guard_refuses(self, target_server, settings):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = []
        with pytest.raises(BlockedAddress, match=re.escape("127.0.0.1 is loopback")):
            guarded_request("POST", target_server.url("/echo"), content=b"{}")
        assert target_server.requests == []

    def test_it_does_not_follow_redirects_unless_asked(self, target_server):
        assert guarded_request("GET", target_server.url("/redirect/1")).status_code == 302
        followed = guarded_request("GET", target_server.url("/redirect/1"), max_redirects=3)
        assert (followed.status_code, followed.body) == (200, b"all good")

    def test_network_trouble_is_a_probe_error(self, target_server):
        with pytest.raises(
            ProbeError, match=re.escape("timed out after 0.3 s waiting for an answer")
        ):
            guarded_request("GET", target_server.url("/hang"), timeout=0.3)

    def test_a_307_keeps_the_post_and_its_headers_on_the_same_origin(self, target_server):
        response = guarded_request(
            "POST",
            redirect_to(target_server, "/echo", status=307),
            content=b"payload",
            headers={"X-Hindsight-Signature": "sha256=abc"},
            max_redirects=1,
        )
        echoed = json.loads(response.body)
        assert (echoed["method"], echoed["body"]) == ("POST", "payload")
        assert echoed["headers"]["x-hindsight-signature"] == "sha256=abc"

    def test_a_redirect_to_another_host_leaves_the_callers_headers_behind(self, target_server):
        elsewhere = target_server.url("/echo", host="localhost")
        response = guarded_request(
            "POST",
            redirect_to(target_server, elsewhere, status=307),
            content=b"payload",
            headers={"X-Hindsight-Signature": "sha256=abc"},
            max_redirects=1,
        )
        echoed = json.loads(response.body)
        assert echoed["headers"]["host"] == f"localhost:{target_server.port}"
        assert "x-hindsight-signature" not in echoed["headers"]
