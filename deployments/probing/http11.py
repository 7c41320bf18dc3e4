"""Reading one HTTP/1.1 answer off a connection with h11, as its bytes arrive, and what it holds.

h11 is the parser under httpcore (which httpx pins); using it directly keeps the framing rules
(chunked bodies, 1xx answers, header limits) someone else's well-tested code.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Any

import h11

from deployments.probing.errors import ProbeError

# Enough for any health page; a target streaming gigabytes must not fill the worker's memory.
MAX_BODY_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 100 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer of a fetch, after redirects."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    body_truncated: bool
    url: str

    def header(self, name: bytes) -> bytes | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def charset(self) -> str:
        content_type = (self.header(b"content-type") or b"").decode("latin-1")
        for param in content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip('"') or "utf-8"
        return "utf-8"

    def text(self) -> str:
        if self.body is None:
            return ""
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def os_text(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


class Exchange(asyncio.Protocol):
    """One request and its answer on one connection, parsed as the bytes arrive.

    A protocol rather than asyncio streams: a probe's answer is usually one read, and the streams
    layer (a reader, a writer, a future per read and per drain) cost more CPU than the parsing.
    `answer` resolves to (head, body, body_truncated) on the event that completes the exchange,
    or fails with a ProbeError that names what went wrong. `trace.phase`, when given, is kept
    saying where the answer is, for a timeout's message.
    """

    def __init__(
        self, connection: h11.Connection, where: str, read_body: bool, trace: Any = None
    ) -> None:
        self.answer: asyncio.Future[tuple[h11.Response, bytes | None, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self.transport: asyncio.BaseTransport | None = None
        self._connection = connection
        self._where = where
        self._read_body = read_body
        self._trace = trace
        self._fresh = True
        self._head: h11.Response | None = None
        self._encoding = b""
        self._decoder: Any = None
        self._chunks: list[bytes] = []
        self._size = 0

    # --- The loop's callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.answer.done():
            return
        if self._fresh:
            self._fresh = False
            try:
                check_looks_like_http(data, self._where)
            except ProbeError as exc:
                self._fail(exc)
                return
        self._connection.receive_data(data)
        self._advance()

    def eof_received(self) -> bool:
        if not self.answer.done():
            if self._fresh:
                self._fail(ProbeError(f"{self._where} closed the connection without an answer"))
            else:
                self._connection.receive_data(b"")
                self._advance()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer.done():
            return
        if isinstance(exc, OSError):
            self._fail(ProbeError(f"connection to {self._where} failed mid-answer: {os_text(exc)}"))
        elif self._head is None:
            self._fail(ProbeError(f"{self._where} closed the connection without an answer"))
        else:
            self._fail(ProbeError(f"the answer from {self._where} broke off"))

    # --- Parsing --------------------------------------------------------------------------------

    def _advance(self) -> None:
        connection = self._connection
        try:
            while not self.answer.done():
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    return
                if self._head is None:
                    self._on_head_event(event)
                elif type(event) is h11.Data:
                    self._on_data(bytes(event.data))
                else:
                    # EndOfMessage, or ConnectionClosed when the body ran to the end of the stream.
                    self._finish(b"".join(self._chunks), truncated=False)
        except h11.RemoteProtocolError as exc:
            if self._head is not None:
                self._fail(ProbeError(f"the answer from {self._where} broke off: {exc}"))
            else:
                self._fail(ProbeError(f"not an HTTP answer from {self._where}: {exc}"))

    def _on_head_event(self, event: Any) -> None:
        if type(event) is h11.Response:
            self._head = event
            if not self._read_body:
                self._finish(None, truncated=False)
                return
            if self._trace is not None:
                self._trace.phase = f"reading the answer from {self._where}"
            for key, value in event.headers:
                if key == b"content-encoding":
                    self._encoding = value.strip().lower()
            if self._encoding in (b"gzip", b"x-gzip"):
                self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif self._encoding == b"deflate":
                self._decoder = zlib.decompressobj()
        elif isinstance(event, h11.ConnectionClosed):
            self._fail(ProbeError(f"{self._where} closed the connection without an answer"))
        elif not isinstance(event, h11.InformationalResponse):
            # h11.PAUSED after a protocol switch we never asked for; waiting would hang.
            self._fail(ProbeError(f"not an HTTP answer from {self._where}: {event!r}"))
        # 100 Continue and friends: the real answer follows.

    def _on_data(self, chunk: bytes) -> None:
        if self._decoder is not None:
            try:
                chunk = self._decoder.decompress(chunk, MAX_BODY_BYTES - self._size + 1)
            except zlib.error:
                self._fail(
                    ProbeError(f"the {self._encoding.decode()} body from {self._where} is corrupt")
                )
                return
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > MAX_BODY_BYTES:
            self._finish(b"".join(self._chunks)[:MAX_BODY_BYTES], truncated=True)

    def _finish(self, body: bytes | None, *, truncated: bool) -> None:
        assert self._head is not None
        self.answer.set_result((self._head, body, truncated))

    def _fail(self, error: ProbeError) -> None:
        if not self.answer.done():
            self.answer.set_exception(error)
        if self.transport is not None:
            # Whatever else arrives is not read: a wrong answer need not be heard to the end.
            self.transport.close()


def check_looks_like_http(first: bytes, where: str) -> None:
    # An SSH or SMTP banner would otherwise sit in h11's buffer until the timeout runs out.
    head = first[:5]
    if not b"HTTP/".startswith(head):
        raise ProbeError(f"not an HTTP answer from {where}: it began with {first[:24]!r}")
