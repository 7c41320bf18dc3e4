"""How fast the prober is: 1,000 targets that each answer after 100 ms, then the same with 10%
of them never answering.

Targets (issue 5): at most 3 s wall and 2.5 ms of the prober's CPU per probe for the 1,000; with
10% blackholed, the batch ends within one timeout + 1 s. The target server runs in a subprocess
on 127.0.0.1-127.0.0.100, so its CPU is not counted and the per-host cap (10 by default) is not
the bottleneck. CPU is time.process_time() of this process around probe_targets only. Run
alone it prints and exits 0; it records its figures (bench/results.py) for make bench's table,
which fails on a missed target.

    python bench/probe.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import results as record

TARGETS = 1000
HOSTS = 100
ANSWER_MS = 100
BLACKHOLED_SHARE = 0.10
BLACKHOLE_TIMEOUT = 2.0
REPEATS = 3
WALL_TARGET = 3.0
CPU_TARGET_MS = 2.5


def _raise_fd_limit() -> None:
    # A thousand sockets in flight on each side: more than the usual soft limit of 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- The target server (the subprocess) ------------------------------------------------------


_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class _Target(asyncio.Protocol):
    """Answers after ANSWER_MS, or never for /hang. A bare protocol, not streams: the server
    shares the machine with the prober and should cost it as little CPU as possible."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP server's
        self.transport = transport
        self.head: bytes | None = b""

    def data_received(self, data: bytes) -> None:
        if self.head is None:
            return
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        hang = self.head.startswith(b"GET /hang")
        self.head = None
        if not hang:  # a hanging one waits until the prober hangs up when its timeout ends
            asyncio.get_running_loop().call_later(ANSWER_MS / 1000, self.answer)

    def answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_ANSWER)
            self.transport.close()


async def _serve() -> None:
    _raise_fd_limit()
    loop = asyncio.get_running_loop()
    first = await loop.create_server(_Target, "127.0.0.1", 0, backlog=1024)
    port = first.sockets[0].getsockname()[1]
    for i in range(2, HOSTS + 1):
        await loop.create_server(_Target, f"127.0.0.{i}", port, backlog=1024)
    print(port, flush=True)
    await asyncio.Event().wait()


# --- The prober's side ------------------------------------------------------------------------


def _setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hindsight.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    # No django.setup(): the prober reads settings only and needs no app registry, so this
    # bench measures it alone (and runs while other apps are mid-change).


def _run(targets: list) -> tuple[float, float, list]:
    from deployments.probing import probe_targets

    wall, cpu = time.perf_counter(), time.process_time()
    results = probe_targets(targets, allowed_networks=["127.0.0.0/8"])
    return time.perf_counter() - wall, time.process_time() - cpu, results


def _runs(targets: list) -> tuple[list[tuple[float, float, list]], list[float]]:
    """REPEATS runs of one batch, and the 1-minute load average after each."""
    runs, loads = [], []
    for _ in range(REPEATS):
        runs.append(_run(targets))
        loads.append(os.getloadavg()[0])
    return runs, loads


def _each(values: list[float], unit: str) -> str:
    return ", ".join(f"{v:.2f}{unit}" for v in values)


def main() -> None:
    _raise_fd_limit()
    _setup()
    from deployments.probing import ProbeTarget

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None  # stdout=PIPE
        port = int(server.stdout.readline())

        def url(i: int, path: str) -> str:
            return f"http://127.0.0.{i % HOSTS + 1}:{port}{path}"

        fast = [ProbeTarget(url(i, f"/ok/{i}"), timeout=10) for i in range(TARGETS)]
        _run(fast[:50])  # imports and the first loop, which no batch pays twice
        runs, loads = _runs(fast)
        failed = sum(not r.ok for _, _, results in runs for r in results)
        walls = [w for w, _, _ in runs]
        cpus = [c * 1000 / TARGETS for _, c, _ in runs]
        print(f"Prober: {TARGETS} targets answering after {ANSWER_MS} ms on {HOSTS} hosts")
        # Wall time needs CPU for both processes; on a busy machine it says more about the rest.
        print(
            f"  machine: load average {_each(loads, '')} after each run on {os.cpu_count()} "
            "CPUs (wall figures assume a quiet machine)"
        )
        print(
            f"  wall {statistics.median(walls):.2f} s (target <= {WALL_TARGET:g} s), median of "
            f"{REPEATS}: {_each(walls, ' s')}"
        )
        print(
            f"  CPU {statistics.median(cpus):.2f} ms per probe (target <= {CPU_TARGET_MS:g} ms): "
            f"{_each(cpus, ' ms')}"
        )
        print(f"  failed probes: {failed} (expected 0)")
        name = f"{TARGETS:,} answering after {ANSWER_MS} ms"
        record.figure(f"{name}: wall", statistics.median(walls), unit="s", target=WALL_TARGET)
        record.figure(
            f"{name}: CPU per probe", statistics.median(cpus), unit="ms", target=CPU_TARGET_MS
        )
        # A probe that failed fast would flatter both figures.
        record.check(f"{name}: failed probes", met=failed == 0, seen=str(failed), wanted="0")

        every = round(1 / BLACKHOLED_SHARE)
        # i % every == 0 lands on hosts 1, 11, 21, ...: ten hosts blackholed whole, as when a
        # machine or its network goes away, among ninety that answer.
        mixed = [
            ProbeTarget(url(i, "/hang"), timeout=BLACKHOLE_TIMEOUT)
            if i % every == 0
            else ProbeTarget(url(i, f"/ok/{i}"), timeout=BLACKHOLE_TIMEOUT)
            for i in range(TARGETS)
        ]
        runs, loads = _runs(mixed)
        walls = [w for w, _, _ in runs]
        wall = statistics.median(walls)
        results = runs[0][2]
        timed_out = sum(r.error.startswith("timed out") for r in results)
        print(f"Prober: the same with {timed_out} of {TARGETS} never answering")
        print(f"  machine: load average {_each(loads, '')} after each run")
        print(
            f"  wall {wall:.2f} s (target <= timeout {BLACKHOLE_TIMEOUT:g} s + 1 s = "
            f"{BLACKHOLE_TIMEOUT + 1:g} s), median of {REPEATS}: {_each(walls, ' s')}"
        )
        # A blackholed probe costs its timeout from the moment it starts; what the batch adds
        # on top is how late the last of them started, behind the queue.
        print(f"  the last blackholed probe started about {wall - BLACKHOLE_TIMEOUT:.2f} s in")
        cpus = [c * 1000 / TARGETS for _, c, _ in runs]
        print(f"  CPU {statistics.median(cpus):.2f} ms per probe")
        expected = TARGETS - TARGETS // every
        answers = [sum(r.ok for r in results) for _, _, results in runs]
        answered = ", ".join(str(n) for n in answers)
        print(f"  answered ok: {answered} (expected {expected} each)")
        name = f"{TARGETS // every} of {TARGETS:,} never answering"
        record.figure(f"{name}: wall", wall, unit="s", target=BLACKHOLE_TIMEOUT + 1)
        record.check(
            f"{name}: answered ok",
            met=all(n == expected for n in answers),
            seen=answered,
            wanted=f"{expected} each",
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve())
    else:
        record.run(main)
