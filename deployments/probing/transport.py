"""The guarded HTTP transport: resolve, judge every address, connect to a judged one, speak HTTP/1.1.

One Session serves one batch (one event loop): it holds the TLS context, the allow-list, the
judged addresses of each host name and the batch's slots (slots.py). Each hop of a redirect chain opens its own connection through the
guard, so a redirect to a refused address is refused at that hop. The socket is opened to the
exact address that was judged, never to the name again, so DNS rebinding between the check and
the connect has nothing to race; the name still goes into the Host header and into TLS (SNI and
certificate verification).

HTTP/1.1 framing is h11 (the parser under httpcore, which httpx pins) fed by an asyncio protocol
(http11.Exchange), one connection per hop and no pool. httpcore's pool costs several times the
CPU of the request itself once hundreds of probes are in flight, and its connection class looks
up the async library on every request; a fresh connection per probe is also what a health check
should measure.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import h11
import httpx

from deployments.probing.errors import BlockedAddress, ConnectTimeout, ProbeError
from deployments.probing.http11 import MAX_HEAD_BYTES, Answer, Exchange, os_text
from deployments.probing.slots import Slots
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
        self._judged: dict[
            str, list[IPAddress] | ProbeError | asyncio.Future[list[IPAddress] | ProbeError]
        ] = {}
        self._slots = Slots(max_concurrency=max_concurrency, max_per_host=max_per_host)

    # --- Resolving and connecting -------------------------------------------------------------

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of `host` the guard lets us dial, judged once per batch.

        A thousand checks on one host need one answer and one judgement, and the batch lasts
        seconds, far below any TTL that matters here. Refusals are cached too, as messages, so
        every probe raises an exception of its own.
        """
        cached = self._judged.get(host)
        if cached is None:
            ip = literal_address(host)
            if ip is not None:
                cached = self._judged[host] = self._judged_now(host, [ip])
            else:
                cached = self._judged[host] = asyncio.ensure_future(self._resolve(host, port))
                # Every waiter may have timed out by the time a lookup fails; mark it seen anyway.
                cached.add_done_callback(lambda t: t.cancelled() or t.exception())
        if isinstance(cached, asyncio.Future):
            cached = await asyncio.shield(cached)
        if isinstance(cached, ProbeError):
            raise type(cached)(*cached.args)
        return cached

    async def _resolve(self, host: str, port: int) -> list[IPAddress] | ProbeError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return ProbeError(f"could not resolve {host}: {os_text(exc)}")
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        return self._judged_now(host, addresses)

    def _judged_now(self, host: str, addresses: list[IPAddress]) -> list[IPAddress] | ProbeError:
        try:
            return self._judge(host, addresses)
        except ProbeError as exc:
            return exc

    async def _connect(self, url: httpx.URL, trace: Trace, protocol: Exchange) -> None:
        host = url.raw_host.decode("ascii")
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        trace.phase = f"connecting to {_host_port(host, port)}"
        try:
            async with asyncio.timeout(self.connect_timeout):
                usable = await self._addresses(host, port)
                await self._open(host, port, usable, tls, protocol)
        except TimeoutError:
            raise ConnectTimeout(
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
        self, host: str, port: int, addresses: list[IPAddress], tls: bool, protocol: Exchange
    ) -> None:
        loop = asyncio.get_running_loop()
        error: ProbeError | None = None
        for ip in addresses:
            # Our own socket, connected to the judged address itself: nothing between the
            # judgement and the connect looks the name up again.
            sock = socket.socket(
                socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM
            )
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, (str(ip), port))
                if tls:
                    await loop.create_connection(
                        lambda: protocol,
                        sock=sock,
                        ssl=self.ssl_context or default_ssl_context(),
                        server_hostname=host,
                        ssl_handshake_timeout=self.connect_timeout,
                    )
                else:
                    await loop.create_connection(lambda: protocol, sock=sock)
                return
            except BaseException as exc:
                sock.close()
                if not isinstance(exc, Exception):
                    raise  # cancelled: a timeout
                error = self._connect_error(exc, host, port, ip)
        assert error is not None
        raise error

    @staticmethod
    def _connect_error(exc: Exception, host: str, port: int, ip: IPAddress) -> ProbeError:
        where = _host_port(host, port)
        if str(ip) != host:
            where = f"{where} ({ip})"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ProbeError(
                f"TLS error from {where}: certificate verify failed: "
                f"{exc.verify_message or exc.reason}"
            )
        if isinstance(exc, ssl.SSLError):
            return ProbeError(f"TLS error from {where}: {exc.reason or exc}")
        if isinstance(exc, ConnectionRefusedError):
            return ProbeError(f"connection refused by {where}")
        if isinstance(exc, OSError):
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                return ProbeError(f"{where} is unreachable: {os_text(exc)}")
            return ProbeError(f"could not connect to {where}: {os_text(exc)}")
        raise exc

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
            data = h11_connection.send(
                h11.Request(method=method, target=url.raw_path, headers=request_headers)
            )
            if content:
                data += h11_connection.send(h11.Data(data=content))
            data += h11_connection.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise ProbeError(f"could not send the request: {exc}") from exc
        exchange = Exchange(h11_connection, where, read_body and method != "HEAD", trace)
        await self._connect(url, trace, exchange)
        transport = exchange.transport
        assert isinstance(transport, asyncio.WriteTransport)
        try:
            trace.phase = f"waiting for an answer from {where}"
            # No drain: nothing more is written, the transport sends its buffer as the socket
            # allows, and a write that fails comes back through connection_lost as the error.
            transport.write(data)
            head, body, truncated = await exchange.answer
            return Answer(head.status_code, list(head.headers), body, truncated, str(url))
        finally:
            transport.close()

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
            host = current.raw_host.decode("ascii").lower()
            await self._slots.acquire(host)
            try:
                if trace.started is None:
                    trace.started = asyncio.get_running_loop().time()
                    if on_start is not None:
                        on_start()
                answer = await self._exchange(current, method, content, headers, read_body, trace)
            except ConnectTimeout:
                raise
            except BlockedAddress as exc:
                if not came_from:
                    raise
                raise BlockedAddress(f"{exc} (redirected to by {came_from})") from exc
            except ProbeError:
                self._slots.answered(host)
                raise
            else:
                self._slots.answered(host)
            finally:
                self._slots.release(host)
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
