"""The guarded HTTP transport: resolve, judge every address, connect to a judged one, speak HTTP/1.1.

One Session serves one batch (one event loop): it holds the TLS context, the allow-list, a DNS
cache and the per-host slots. Each hop of a redirect chain opens its own connection through the
guard, so a redirect to a refused address is refused at that hop. The socket is opened to the
exact address that was judged, never to the name again, so DNS rebinding between the check and
the connect has nothing to race; the name still goes into the Host header and into TLS (SNI and
certificate verification).

HTTP/1.1 framing is h11 (the parser under httpcore, which httpx pins) over asyncio streams, one
connection per hop and no pool. httpcore's pool costs several times the CPU of the request itself
once hundreds of probes are in flight, and its connection class looks up the async library on
every request; a fresh connection per probe is also what a health check should measure.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import h11
import httpx

from deployments.probing.errors import BlockedAddress, ProbeError
from deployments.probing.http11 import (
    MAX_HEAD_BYTES,
    Answer,
    Receiver,
    os_text,
)
from deployments.probing.ssrf import (
    IPAddress,
    IPNetwork,
    literal_address,
    parse_target_url,
    refusal_reason,
)

USER_AGENT = b"Hindsight-Prober/1.0"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3

_ssl_context: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context (certifi roots), built once: loading the roots costs ~20 ms."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = httpx.create_ssl_context()
    return _ssl_context


class Trace:
    """Where a fetch is, so a timeout from outside can say what it interrupted."""

    __slots__ = ("phase", "started")

    def __init__(self) -> None:
        self.phase = "waiting for a free slot"
        self.started: float | None = None


def _seconds(value: float) -> str:
    return f"{value:g}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _NoSlot:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NO_SLOT = _NoSlot()


class Session:
    """Guarded HTTP for one batch on one event loop. Not thread-safe; create one per loop.

    max_concurrency caps open connections overall and max_per_host per host name (None: no
    cap); connect_timeout bounds resolving plus TCP plus TLS for each hop.
    """

    def __init__(
        self,
        *,
        allowed: Sequence[IPNetwork] = (),
        connect_timeout: float = 5.0,
        max_concurrency: int | None = None,
        max_per_host: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self.connect_timeout = connect_timeout
        self.ssl_context = ssl_context
        self._dns: dict[str, asyncio.Task[list[IPAddress]]] = {}
        self._host_slots: defaultdict[str, asyncio.Semaphore] | None = None
        if max_per_host is not None:
            self._host_slots = defaultdict(lambda: asyncio.Semaphore(max_per_host))
        self._slots: asyncio.Semaphore | _NoSlot = _NO_SLOT
        if max_concurrency is not None:
            self._slots = asyncio.Semaphore(max_concurrency)

    # --- Resolving and connecting -------------------------------------------------------------

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        ip = literal_address(host)
        if ip is not None:
            return [ip]
        # One lookup per name per batch: a thousand checks on one host need one answer, and the
        # batch lasts seconds, far below any TTL that matters here.
        task = self._dns.get(host)
        if task is None:
            task = asyncio.ensure_future(self._getaddrinfo(host, port))
            # Every waiter may have timed out by the time a lookup fails; mark it seen anyway.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._dns[host] = task
        return await asyncio.shield(task)

    @staticmethod
    async def _getaddrinfo(host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ProbeError(f"could not resolve {host}: {os_text(exc)}") from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        return addresses

    async def _connect(
        self, url: httpx.URL, trace: Trace
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host = url.raw_host.decode("ascii")
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        trace.phase = f"connecting to {_host_port(host, port)}"
        try:
            async with asyncio.timeout(self.connect_timeout):
                addresses = await self._resolve(host, port)
                usable = self._judge(host, addresses)
                return await self._open(host, port, usable, tls)
        except TimeoutError:
            raise ProbeError(
                f"timed out connecting to {_host_port(host, port)} "
                f"after {_seconds(self.connect_timeout)} s"
            ) from None

    def _judge(self, host: str, addresses: list[IPAddress]) -> list[IPAddress]:
        usable = []
        refused = []
        for ip in addresses:
            reason = refusal_reason(ip, self.allowed)
            if reason is None:
                usable.append(ip)
            else:
                refused.append(f"{ip}, which is {reason}")
        if usable:
            # Only judged addresses are ever dialled; a name with one public and one private
            # record reaches the public one.
            return usable
        if not refused:
            raise ProbeError(f"could not resolve {host}: no addresses")
        if literal_address(host) is not None:
            raise BlockedAddress(f"blocked by SSRF guard: {refused[0].replace(', which', '')}")
        raise BlockedAddress(f"blocked by SSRF guard: {host} resolves to {'; '.join(refused[:3])}")

    async def _open(
        self, host: str, port: int, addresses: list[IPAddress], tls: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: ProbeError | None = None
        for ip in addresses:
            where = _host_port(host, port)
            if str(ip) != host:
                where = f"{where} ({ip})"
            try:
                if tls:
                    return await asyncio.open_connection(
                        str(ip),
                        port,
                        ssl=self.ssl_context or default_ssl_context(),
                        server_hostname=host,
                        ssl_handshake_timeout=self.connect_timeout,
                    )
                return await asyncio.open_connection(str(ip), port)
            except ssl.SSLCertVerificationError as exc:
                error = ProbeError(
                    f"TLS error from {where}: certificate verify failed: "
                    f"{exc.verify_message or exc.reason}"
                )
            except ssl.SSLError as exc:
                error = ProbeError(f"TLS error from {where}: {exc.reason or exc}")
            except ConnectionRefusedError:
                error = ProbeError(f"connection refused by {where}")
            except OSError as exc:
                if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                    error = ProbeError(f"{where} is unreachable: {os_text(exc)}")
                else:
                    error = ProbeError(f"could not connect to {where}: {os_text(exc)}")
        assert error is not None
        raise error

    # --- One exchange, and the redirect chain ---------------------------------------------------

    async def _exchange(
        self,
        url: httpx.URL,
        method: str,
        content: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        read_body: bool,
        trace: Trace,
    ) -> Answer:
        reader, writer = await self._connect(url, trace)
        where = url.netloc.decode("ascii")
        request_headers = [
            (b"Host", url.netloc),
            (b"User-Agent", USER_AGENT),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"gzip"),
            (b"Connection", b"close"),
            *headers,
        ]
        if content or method in ("POST", "PUT", "PATCH"):
            request_headers.append((b"Content-Length", str(len(content)).encode()))
        h11_connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        try:
            try:
                data = h11_connection.send(
                    h11.Request(method=method, target=url.raw_path, headers=request_headers)
                )
                if content:
                    data += h11_connection.send(h11.Data(data=content))
                data += h11_connection.send(h11.EndOfMessage())
            except h11.LocalProtocolError as exc:
                raise ProbeError(f"could not send the request: {exc}") from exc
            trace.phase = f"waiting for an answer from {where}"
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                # The server may have answered and closed before reading everything (a 413, say);
                # its answer says more than the broken pipe.
                pass
            receiver = Receiver(reader, h11_connection, where)
            response = await receiver.head()
            body = None
            truncated = False
            if read_body and method != "HEAD":
                trace.phase = f"reading the answer from {where}"
                body, truncated = await receiver.body(response.headers)
            return Answer(response.status_code, list(response.headers), body, truncated, str(url))
        finally:
            writer.close()

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        content: bytes = b"",
        headers: Sequence[tuple[bytes, bytes]] = (),
        read_body: bool = True,
        max_redirects: int = MAX_REDIRECTS,
        trace: Trace | None = None,
        on_start: Any = None,
    ) -> Answer:
        """Fetch `url` through the guard, following up to max_redirects redirects (each guarded).

        Raises ProbeError (BlockedAddress for the guard) with the reason. `on_start()` runs once,
        when the first connection may begin (its host slot and a batch slot are free): the caller
        starts its total timeout there, so queueing behind busy hosts is not counted against it.
        """
        trace = trace or Trace()
        try:
            current = parse_target_url(url)
        except ValueError as exc:
            raise ProbeError(str(exc)) from exc
        method = method.upper()
        came_from = ""
        for hop in range(max_redirects + 1):
            # Host slot first, then the batch slot: a probe waiting for a busy host must not sit on
            # one of the batch's slots, and nothing holding a batch slot ever waits for a host.
            async with self._host_slot(current.raw_host), self._slots:
                if trace.started is None:
                    trace.started = asyncio.get_running_loop().time()
                    if on_start is not None:
                        on_start()
                try:
                    answer = await self._exchange(
                        current, method, content, headers, read_body, trace
                    )
                except BlockedAddress as exc:
                    if not came_from:
                        raise
                    raise BlockedAddress(f"{exc} (redirected to by {came_from})") from exc
            location = answer.header(b"location")
            if max_redirects == 0 or answer.status not in REDIRECT_STATUSES or location is None:
                return answer
            if hop == max_redirects:
                raise ProbeError(f"too many redirects (more than {max_redirects})")
            previous = current
            try:
                current = parse_target_url(str(current.join(location.decode("latin-1").strip())))
            except ValueError as exc:
                raise ProbeError(f"redirect to an unusable location: {exc}") from exc
            except BlockedAddress as exc:
                raise BlockedAddress(f"{exc} (redirected to by {answer.url})") from exc
            if (current.scheme, current.raw_host, current.port) != (
                previous.scheme,
                previous.raw_host,
                previous.port,
            ):
                # The caller's headers (a webhook signature, say) were meant for the first host.
                headers = ()
            came_from = answer.url
            # What browsers do: a 303, or a 301/302 after a POST, continues as a GET.
            if (answer.status == 303 and method != "HEAD") or (
                answer.status in (301, 302) and method == "POST"
            ):
                method, content = "GET", b""
        raise AssertionError("unreachable")  # pragma: no cover

    def _host_slot(self, raw_host: bytes) -> asyncio.Semaphore | _NoSlot:
        if self._host_slots is None:
            return _NO_SLOT
        return self._host_slots[raw_host.decode("ascii").lower()]
