"""Reading one HTTP/1.1 answer off an asyncio stream with h11, and what it holds.

h11 is the parser under httpcore (which httpx pins); using it directly keeps the framing rules
(chunked bodies, 1xx answers, header limits) someone else's well-tested code.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h11

from deployments.probing.errors import ProbeError

# Enough for any health page; a target streaming gigabytes must not fill the worker's memory.
MAX_BODY_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 100 * 1024
READ_BYTES = 64 * 1024


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


class Receiver:
    """Reads one answer off the socket through h11, with the errors named for people."""

    __slots__ = ("_connection", "_fresh", "_has_head", "_reader", "_where")

    def __init__(self, reader: asyncio.StreamReader, connection: h11.Connection, where: str):
        self._reader = reader
        self._connection = connection
        self._where = where
        self._fresh = True
        self._has_head = False

    async def _next(self) -> Any:
        connection = self._connection
        try:
            while True:
                event = connection.next_event()
                if event is not h11.NEED_DATA:
                    return event
                try:
                    data = await self._reader.read(READ_BYTES)
                except OSError as exc:
                    raise ProbeError(
                        f"connection to {self._where} failed mid-answer: {os_text(exc)}"
                    ) from exc
                if self._fresh:
                    if not data:
                        raise ProbeError(f"{self._where} closed the connection without an answer")
                    self._fresh = False
                    check_looks_like_http(data, self._where)
                connection.receive_data(data)
        except h11.RemoteProtocolError as exc:
            if self._has_head:
                raise ProbeError(f"the answer from {self._where} broke off: {exc}") from exc
            raise ProbeError(f"not an HTTP answer from {self._where}: {exc}") from exc

    async def head(self) -> h11.Response:
        while True:
            event = await self._next()
            if isinstance(event, h11.Response):
                self._has_head = True
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise ProbeError(f"{self._where} closed the connection without an answer")
            if not isinstance(event, h11.InformationalResponse):
                # h11.PAUSED after a protocol switch we never asked for; looping would spin.
                raise ProbeError(f"not an HTTP answer from {self._where}: {event!r}")
            # 100 Continue and friends: the real answer follows.

    async def body(self, headers: Sequence[tuple[bytes, bytes]]) -> tuple[bytes, bool]:
        encoding = b""
        for key, value in headers:
            if key == b"content-encoding":
                encoding = value.strip().lower()
        decoder = None
        if encoding in (b"gzip", b"x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            decoder = zlib.decompressobj()
        chunks = []
        size = 0
        while size <= MAX_BODY_BYTES:
            event = await self._next()
            if not isinstance(event, h11.Data):
                # EndOfMessage, or ConnectionClosed when the body ran to the end of the stream.
                return b"".join(chunks), False
            chunk = bytes(event.data)
            if decoder is not None:
                try:
                    chunk = decoder.decompress(chunk, MAX_BODY_BYTES - size + 1)
                except zlib.error as exc:
                    raise ProbeError(
                        f"the {encoding.decode()} body from {self._where} is corrupt"
                    ) from exc
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)[:MAX_BODY_BYTES], True


def check_looks_like_http(first: bytes, where: str) -> None:
    # An SSH or SMTP banner would otherwise sit in h11's buffer until the timeout runs out.
    head = first[:5]
    if not b"HTTP/".startswith(head):
        raise ProbeError(f"not an HTTP answer from {where}: it began with {first[:24]!r}")
