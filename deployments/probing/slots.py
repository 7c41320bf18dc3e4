"""Who may open a connection next: the batch's caps, and the order its queue is served in.

Two caps bound a batch: connections per host name (max_per_host, so many checks on one service
never pile onto it) and connections overall (max_concurrency, which bounds open sockets and the
outbound load). A probe takes its host's slot first, then a batch slot, so a probe waiting for a
busy host never sits on a batch slot, and nothing holding a batch slot ever waits for a host.

The order of the batch queue is what decides the batch's wall time once targets hang. A batch
lasts until its last probe ends, and a probe that will hang costs its whole timeout from the
moment it starts; served first come, first served, hanging targets late in the list start late
and the batch lasts queue + timeout. So a free batch slot goes first to a probe whose host has not
answered anything yet in this batch (longest-expected first, the classic rule for finishing a set
of jobs early): a host that answered is known to be quick, and its probes fill in while the
unknown ones wait. Nobody's timeout pays for this: a check's timeout starts at its own connect,
and within each of the two groups probes go in the order they came. The caps are the same
whatever the order: only who gets a free slot changes, never how many there are.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict


class Slots:
    """The caps of one batch on one event loop; None means no cap."""

    __slots__ = (
        "_answered",
        "_free",
        "_hosts",
        "_known",
        "_order",
        "_unknown",
    )

    def __init__(self, *, max_concurrency: int | None, max_per_host: int | None) -> None:
        self._free = max_concurrency
        self._hosts: defaultdict[str, asyncio.Semaphore] | None = None
        if max_per_host is not None:
            self._hosts = defaultdict(lambda: asyncio.Semaphore(max_per_host))
        self._answered: set[str] = set()
        # Waiters as (arrival, host, future): hosts not heard from, and hosts that answered.
        self._unknown: list[tuple[int, str, asyncio.Future[None]]] = []
        self._known: list[tuple[int, str, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, host: str) -> None:
        """Wait for a slot of `host` (a lower-cased host name) and then a batch slot."""
        if self._hosts is not None:
            await self._hosts[host].acquire()
        if self._free is None:
            return
        if self._free > 0:
            # Slots are handed to waiters as they free up, so a free slot means nobody waits.
            self._free -= 1
            return
        try:
            await self._queue_for_batch_slot(host)
        except BaseException:
            if self._hosts is not None:
                self._hosts[host].release()
            raise

    def release(self, host: str) -> None:
        if self._free is not None:
            self._free += 1
            self._hand_over()
        if self._hosts is not None:
            self._hosts[host].release()

    def answered(self, host: str) -> None:
        """`host` finished an exchange (any answer, or a quick failure): it is not hanging."""
        self._answered.add(host)

    async def _queue_for_batch_slot(self, host: str) -> None:
        assert self._free is not None
        waiter = asyncio.get_running_loop().create_future()
        queue = self._known if host in self._answered else self._unknown
        heapq.heappush(queue, (next(self._order), host, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed a slot, then cancelled before using it: pass it on.
                self._free += 1
                self._hand_over()
            raise

    def _hand_over(self) -> None:
        assert self._free is not None
        while self._free > 0:
            waiter = self._next_waiter()
            if waiter is None:
                return
            if not waiter.done():  # a waiter whose probe was cancelled takes nothing
                self._free -= 1
                waiter.set_result(None)

    def _next_waiter(self) -> asyncio.Future[None] | None:
        unknown = self._unknown
        while unknown:
            entry = heapq.heappop(unknown)
            if entry[1] in self._answered:
                # Its host answered while it waited; it now waits with the known hosts.
                heapq.heappush(self._known, entry)
                continue
            return entry[2]
        if self._known:
            return heapq.heappop(self._known)[2]
        return None
