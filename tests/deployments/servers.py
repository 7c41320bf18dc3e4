"""Real local targets for the prober's tests: HTTP servers on 127.0.0.1, each with a behaviour.

All servers run on one asyncio loop in a daemon thread, so sync code under test (which runs its
own loop in the test's thread) talks to them over real sockets. Start them through the fixtures
in tests/deployments/conftest.py, or directly:

    server = start_target_server()          # paths below; server.url("/ok")
    tls = start_target_server(tls=self_signed_context(tmp_path))   # same paths over TLS
    banner_url = start_banner_server()      # answers every connection with an SSH banner
    port = refused_port()                   # nothing listens there: connection refused
    port = unaccepting_port()               # SYNs are dropped: connecting times out

Paths of a TargetServer:
    /ok                        200 "all good"
    /status/<code>             that status, body "status <code>"
    /slow/<ms>                 200 "slow but fine" after <ms> milliseconds
    /hang                      reads the request, never answers
    /redirect/<n>              a chain of <n> 302 redirects that ends at /ok
    /redirect-to?url=<url>     302 (or ?status=<3xx>) to <url>
    /body?text=<text>          200 with <text> as the body (?charset=<cs> to encode it so)
    /gzip?text=<text>          200 with <text> gzip-encoded
    /garbage                   bytes that start like HTTP and are not
    /chunked?text=<text>       200 with <text> sent in chunks (Transfer-Encoding: chunked)
    /until-close?text=<text>   200 with no length: <text>, then the server closes
    /cut-short                 200 promising 100 bytes, sending 5, then closing
    /big/<kib>?text=<text>     200 with <kib> KiB of filler, then <text>
    /echo                      200, body is JSON of the method, path, headers and body received

TargetServer.max_active is the most requests the server held at once (from accepting the
connection until answering), TargetServer.requests what it received; reset() clears both.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"


class _LoopThread:
    """One event loop in a daemon thread, shared by every server of the test session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="targets")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)


_loop_thread: _LoopThread | None = None
_loop_lock = threading.Lock()


def _loop() -> _LoopThread:
    global _loop_thread
    with _loop_lock:
        if _loop_thread is None:
            _loop_thread = _LoopThread()
        return _loop_thread


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TargetServer:
    port: int
    scheme: str = "http"
    host: str = HOST
    active: int = 0
    max_active: int = 0
    requests: list[Received] = field(default_factory=list)
    certificate: Path | None = None  # the PEM to trust, for a TLS server
    _server: asyncio.Server | None = None

    def url(self, path: str = "/ok", *, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def reset(self) -> None:
        # Connections of an earlier test may still be winding down (a /hang whose client just
        # left); let them finish, or they would count down from this test's zero.
        deadline = time.monotonic() + 5
        while self.active and time.monotonic() < deadline:
            time.sleep(0.01)
        self.active = self.max_active = 0
        self.requests.clear()

    def close(self) -> None:
        if self._server is not None:
            server = self._server
            _loop().loop.call_soon_threadsafe(server.close)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        answered = False
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            answer = await self._answer(request)
            if answer is None:  # /hang: hold the connection until the client gives up
                await reader.read()
                return
            # Counted as answered before the bytes go out: the client may start its next request
            # as soon as it reads them, and that one must not look concurrent with this one.
            self.active -= 1
            answered = True
            writer.write(answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            if not answered:
                self.active -= 1
            writer.close()

    async def _answer(self, request: Received) -> bytes | None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/ok":
            return _response(200, b"all good")
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return _response(code, f"status {code}".encode())
        if path.startswith("/warming/"):
            # A rollout warming up: 503 for the first n requests to this path, then 200.
            seen = sum(1 for r in self.requests if urlsplit(r.path).path == path)
            if seen <= int(path.rsplit("/", 1)[1]):
                return _response(503, b"warming up")
            return _response(200, b"warm now")
        if path.startswith("/slow/"):
            await asyncio.sleep(int(path.rsplit("/", 1)[1]) / 1000)
            return _response(200, b"slow but fine")
        if path == "/hang":
            return None
        if path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/ok" if left <= 1 else f"/redirect/{left - 1}"
            return _response(302, b"", [("Location", target)])
        if path == "/redirect-to":
            status = int(query.get("status", "302"))
            return _response(status, b"", [("Location", query["url"])])
        if path == "/body":
            charset = query.get("charset", "utf-8")
            return _response(
                200,
                query.get("text", "").encode(charset),
                [("Content-Type", f"text/html; charset={charset}")],
            )
        if path == "/gzip":
            body = gzip.compress(query.get("text", "").encode())
            return _response(200, body, [("Content-Encoding", "gzip")])
        if path == "/garbage":
            return b"HTTP/1.1 two hundred OK\r\nno colon here\r\n\r\n"
        if path == "/chunked":
            text = query.get("text", "").encode()
            chunks = [text[i : i + 3] for i in range(0, len(text), 3)] + [b""]
            head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            return head + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        if path == "/until-close":
            return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + query.get("text", "").encode()
        if path == "/cut-short":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"
        if path.startswith("/big/"):
            filler = b"x" * (int(path.rsplit("/", 1)[1]) * 1024)
            return _response(200, filler + query.get("text", "").encode())
        if path == "/echo":
            echoed = {
                "method": request.method,
                "path": request.path,
                "headers": request.headers,
                "body": request.body.decode("utf-8", "replace"),
            }
            return _response(
                200, json.dumps(echoed).encode(), [("Content-Type", "application/json")]
            )
        return _response(404, b"no such path")


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Received(method, path, headers, body)


def _response(status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def start_target_server(*, tls: ssl.SSLContext | None = None, host: str = HOST) -> TargetServer:
    """A TargetServer on a free port of `host`; pass a server-side SSL context for https."""
    server = TargetServer(port=0, scheme="https" if tls else "http", host=host)

    async def start() -> asyncio.Server:
        return await asyncio.start_server(server._handle, host, 0, ssl=tls, backlog=512)

    server._server = _loop().run(start())
    server.port = server._server.sockets[0].getsockname()[1]
    return server


def start_banner_server(banner: bytes = b"SSH-2.0-OpenSSH_9.6\r\n") -> str:
    """The URL of a server that greets every connection with `banner` and keeps it open."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        try:
            await writer.drain()
            await reader.read()  # until the client leaves
        except OSError:
            pass
        finally:
            writer.close()

    server = _loop().run(asyncio.start_server(greet, HOST, 0))
    return f"http://{HOST}:{server.sockets[0].getsockname()[1]}/"


def refused_port() -> int:
    """A loopback port with no listener; connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


_unaccepting: list[socket.socket] = []


def unaccepting_port() -> int:
    """A loopback port whose accept queue is full, so the kernel drops new SYNs (Linux).

    Connecting there hangs until the client's connect timeout: a blackholed host, locally.
    """
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    _unaccepting.append(listener)
    # Fill the queue: with a backlog of 0 Linux completes one handshake, maybe two; the rest
    # wait in SYN_SENT. Non-blocking so filling never blocks the test.
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((HOST, port))
        _unaccepting.append(filler)
    return port


def self_signed_context(directory: Path, *, name: str = "localhost") -> ssl.SSLContext:
    """A server-side SSL context with a fresh self-signed certificate for `name` (and 127.0.0.1).

    Made with the openssl command; the certificate is in directory/cert.pem for clients that
    want to trust it.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
