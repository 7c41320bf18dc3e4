"""Probing many targets at once, and the sync faces the rest of the app calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.conf import settings

from deployments.probing.errors import ProbeError
from deployments.probing.http11 import MAX_BODY_BYTES
from deployments.probing.ssrf import allowed_networks as parse_allowed_networks
from deployments.probing.transport import MAX_REDIRECTS, Session, Trace

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    url: str
    method: str = "GET"
    expected_status: int = 200
    expected_body: str = ""
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str


@dataclass(frozen=True, slots=True)
class GuardedResponse:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not this thread runs a loop.

    Celery tasks and WSGI views have no loop: asyncio.run. Code already inside a loop (an async
    view calling sync code, a notebook) cannot nest one, so the work runs on a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hindsight-probe") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def probe_targets(
    targets: Sequence[ProbeTarget],
    *,
    max_concurrency: int | None = None,
    max_per_host: int | None = None,
    connect_timeout: float | None = None,
    allowed_networks: Sequence[str] | None = None,
) -> list[ProbeResult]:
    """Probe every target concurrently; one ProbeResult per target, in order. Never raises for
    network trouble. Defaults come from the HINDSIGHT_PROBE_* settings."""
    if not targets:
        return []
    new_session = partial(
        Session,
        allowed=parse_allowed_networks(allowed_networks),
        connect_timeout=(
            settings.HINDSIGHT_PROBE_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        ),
        max_per_host=max(
            1, settings.HINDSIGHT_PROBE_MAX_PER_HOST if max_per_host is None else max_per_host
        ),
        max_concurrency=max(
            1,
            settings.HINDSIGHT_PROBE_MAX_CONCURRENCY
            if max_concurrency is None
            else max_concurrency,
        ),
    )

    async def batch() -> list[ProbeResult]:
        session = new_session()
        return await asyncio.gather(*(_probe(session, t) for t in targets))

    return run_sync(batch)


async def _probe(session: Session, target: ProbeTarget) -> ProbeResult:
    loop = asyncio.get_running_loop()
    trace = Trace()
    try:
        async with asyncio.timeout(None) as deadline:
            answer = await session.fetch(
                target.url,
                method=target.method,
                read_body=bool(target.expected_body),
                # A check that expects a redirect (http -> https, say) judges the redirect.
                max_redirects=0 if 300 <= target.expected_status < 400 else MAX_REDIRECTS,
                trace=trace,
                # The total timeout runs from the first connect, not from the queue.
                on_start=lambda: deadline.reschedule(loop.time() + target.timeout),
            )
    except TimeoutError as exc:
        if not deadline.expired():
            return ProbeResult(False, None, None, f"timed out {trace.phase}: {exc}")
        return ProbeResult(False, None, None, f"timed out after {target.timeout:g} s {trace.phase}")
    except ProbeError as exc:
        return ProbeResult(False, None, None, str(exc))
    except Exception as exc:
        # A bug here must cost one result, not the whole batch's snapshot.
        logger.exception("Probe of %s failed unexpectedly", target.url)
        return ProbeResult(False, None, None, f"probe failed unexpectedly: {exc!r}")
    latency_ms = round((loop.time() - (trace.started or loop.time())) * 1000)
    if answer.status != target.expected_status:
        return ProbeResult(
            False,
            answer.status,
            latency_ms,
            f"unexpected status {answer.status} (expected {target.expected_status})",
        )
    if target.expected_body and target.expected_body not in answer.text():
        where = f"the first {MAX_BODY_BYTES // 1024} KiB of " if answer.body_truncated else ""
        return ProbeResult(
            False,
            answer.status,
            latency_ms,
            f"expected text missing: {target.expected_body!r} is not in {where}the answer",
        )
    return ProbeResult(True, answer.status, latency_ms, "")


def guarded_request(
    method: str,
    url: str,
    *,
    content: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    max_redirects: int = 0,
    connect_timeout: float | None = None,
    allowed_networks: Sequence[str] | None = None,
) -> GuardedResponse:
    """One request through the SSRF guard; raises ProbeError (BlockedAddress when refused).

    The answer's body is read up to 1 MiB. Redirects are not followed unless asked: a signed
    webhook POST should land where it was addressed or fail.
    """
    new_session = partial(
        Session,
        allowed=parse_allowed_networks(allowed_networks),
        connect_timeout=(
            settings.HINDSIGHT_PROBE_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        ),
    )
    header_list = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()
    ]

    async def one() -> GuardedResponse:
        trace = Trace()
        try:
            async with asyncio.timeout(timeout):
                answer = await new_session().fetch(
                    url,
                    method=method,
                    content=content,
                    headers=header_list,
                    max_redirects=max_redirects,
                    trace=trace,
                )
        except TimeoutError:
            raise ProbeError(f"timed out after {timeout:g} s {trace.phase}") from None
        return GuardedResponse(answer.status, answer.headers, answer.body or b"")

    return run_sync(one)
