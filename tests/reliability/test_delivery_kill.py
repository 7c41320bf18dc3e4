"""A worker SIGKILLed at a random moment while sending costs at most one duplicate, and the rest
goes out within seconds (here) or minutes (in production), never after Redis's hour.

Real Celery worker processes, Redis and PostgreSQL; a small SMTP server and an HTTP receiver on
127.0.0.1 that count what they accepted. The first worker sends a batch (N emails to N
subscribers, or N webhooks to N endpoints) and is killed when a random number of them has been
accepted, a random fraction of a message later: before a message, in the middle of one, or
between the far side accepting it and the row being recorded. A second worker, running beat with
the delivery sweep and Redis's usual one-hour visibility timeout, must finish the batch: only the
sweep (core.delivery) can hand it the dead worker's delivery. At most the message in flight at
the kill may arrive twice. A task redelivered after everything is sent sends nothing.

The lease, sweep and overdue times are shortened through their settings, so each test takes
seconds. To measure, run the kill many times at once (it is not part of `make test` that way):

    HINDSIGHT_KILL_RUNS=10 HINDSIGHT_KILL_REPORT=kills.jsonl make test ARGS="-n 0 -q -k random \
        tests/reliability/test_delivery_kill.py"

With HINDSIGHT_KILL_DEFAULT_TIMES=1 the settings keep their defaults and the deadline is five
minutes. Each run appends its channel, moment, seed, what was accepted and claimed at the kill, the
duplicates and the seconds from the kill to the batch sent to the report.
"""

from __future__ import annotations

import json
import os
import random
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from feed.kinds import EventKind
from feed.services import feed_record
from hindsight.celery import app
from incidents.communications import services
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.delivery import delivery_send
from incidents.communications.messages import DELIVERY_HEADER
from incidents.models import (
    CommunicationTemplate,
    Delivery,
    Subscriber,
    WebhookDelivery,
    WebhookEndpoint,
)
from incidents.webhooks.sending import webhook_delivery_send
from tests.factories import IncidentFactory
from tests.reliability.worker_processes import WorkerProcesses

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    # Kills worker processes: one at a time with the group that needs quiet (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]

BATCH = 20
# What each far side spends on one message, so that a batch takes long enough to be killed in.
ACCEPT_DELAY = 0.02
# The engine's times, shortened: a claim's lease, how often beat sweeps, when a retry is overdue;
# with HINDSIGHT_KILL_DEFAULT_TIMES set, the defaults, to measure what production sees.
DEFAULT_TIMES = bool(os.environ.get("HINDSIGHT_KILL_DEFAULT_TIMES"))
LEASE, SWEEP, OVERDUE = ("120", "30", "120") if DEFAULT_TIMES else ("3", "0.5", "3")
# From the kill to the batch being recorded sent: sweep, publish, and the rest of the batch.
# With the default times, the promise: within 5 minutes.
DEADLINE = 300.0 if DEFAULT_TIMES else 60.0
RUNS = int(os.environ.get("HINDSIGHT_KILL_RUNS", "1"))

WORKER = """
import os
import django

django.setup()
from django.conf import settings

settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(os.environ["WORKER_SMTP_PORT"])
settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
from hindsight.celery import app

argv = ["worker", "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=WARNING", "--hostname", os.environ["WORKER_NAME"]]
if os.environ.get("WORKER_BEAT_FILE"):
    # Beat with the delivery sweep only: the other periodic work is noise here.
    app.conf.beat_schedule = {
        "deliveries-sweep": {
            "task": "core.tasks.deliveries_sweep",
            "schedule": settings.HINDSIGHT_DELIVERY_SWEEP_SECONDS,
        }
    }
    argv += ["--beat", "--schedule", os.environ["WORKER_BEAT_FILE"]]
app.worker_main(argv)
"""


# --- The far sides ---------------------------------------------------------------------------


class Accepted:
    """What a far side accepted, by recipient (an address or a delivery id), thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        # Called once the n-th message is accepted, before the sender hears so.
        self.then: tuple[int, Callable[[], None]] | None = None

    def add(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1
            total = sum(self.counts.values())
        if self.then is not None and self.then[0] == total:
            self.then[1]()

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: SMTPServer

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line.decode().strip()[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                time.sleep(ACCEPT_DELAY)
                # Counted when accepted: from here on the message is out, whatever the sender
                # manages to record.
                for address in recipients:
                    self.server.accepted.add(address)
                self.reply("250 Queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.accepted = Accepted()


def _receiver(accepted: Accepted) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(ACCEPT_DELAY)
            accepted.add(self.headers[DELIVERY_HEADER])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[tuple[ThreadingHTTPServer, Accepted]]:
    accepted = Accepted()
    server = _receiver(accepted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, accepted
    server.shutdown()
    server.server_close()


# --- The workers -----------------------------------------------------------------------------


class Workers(WorkerProcesses):
    """Workers that mail through the test's SMTP server, with the delivery engine's times
    shortened (LEASE, SWEEP, OVERDUE) and the local receiver allowed past the SSRF guard."""

    def __init__(self, tmp_path: Path, smtp_port: int) -> None:
        super().__init__(
            tmp_path,
            WORKER,
            HINDSIGHT_PROBE_ALLOWED_NETWORKS="127.0.0.1/32",
            HINDSIGHT_DELIVERY_LEASE_SECONDS=LEASE,
            HINDSIGHT_DELIVERY_SWEEP_SECONDS=SWEEP,
            HINDSIGHT_DELIVERY_OVERDUE_SECONDS=OVERDUE,
            WORKER_SMTP_PORT=str(smtp_port),
        )


@pytest.fixture
def workers(tmp_path: Path, smtp: SMTPServer) -> Iterator[Workers]:
    app.control.purge()  # nothing left over from earlier tests runs in these workers
    running = Workers(tmp_path, smtp.server_address[1])
    yield running
    running.stop_all()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, log: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"Timed out waiting for {what}.\n{log}")


# --- The batches -----------------------------------------------------------------------------


def emails_queued() -> None:
    now = timezone.now()
    for number in range(BATCH):
        Subscriber.objects.create(email=f"reader{number}@example.com", confirmed_at=now)
    default_templates_ensure()
    draft = services.communication_generate(
        incident=IncidentFactory(status="resolved", resolved_at=now),
        template=CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG),
        user=None,
    )
    services.communication_approve(communication=draft, user=None)
    # Committed here, so the quick publish puts the fan-out on the queue right away.
    services.communication_send(communication=draft, user=None)


def webhooks_queued(url: str) -> None:
    for number in range(BATCH):
        WebhookEndpoint.objects.create(
            name=f"Receiver {number}",
            url=f"{url}/hooks/{number}",
            secret="s3cret-for-tests",
            events=["incident.declared"],
        )
    # One event, a delivery to each endpoint, their outbox rows published after commit.
    feed_record(
        kind=EventKind.INCIDENT_DECLARED,
        subject_id="INC-1",
        incident="INC-1",
        actor="ann",
        data={"reference": "INC-1", "title": "Checkout fails"},
    )


def killed_mid_batch(
    workers: Workers,
    accepted: Accepted,
    model: type[Delivery] | type[WebhookDelivery],
    *,
    channel: str,
    moment: str,
    run: int,
) -> int:
    """Kill the first worker mid-batch, let the second finish; returns the duplicates."""

    def rows() -> list[str]:
        return list(model.objects.values_list("status", flat=True))

    seed = random.randrange(2**32)
    chance = random.Random(seed)
    # Killed once this many have been accepted, and a random part of one message later; or,
    # at the worst moment, as the far side accepts that one, before the worker hears so.
    kill_after = chance.randrange(1, BATCH - 1)
    pause = chance.uniform(0, 2.5 * ACCEPT_DELAY)

    first = workers.start("first")
    if moment == "accepted":
        accepted.then = (kill_after, lambda: workers.kill(first))
    wait_for(
        lambda: accepted.total() >= kill_after,
        timeout=60,
        what=f"{kill_after} accepted (seed {seed})",
        log=workers.log("first"),
    )
    if moment == "random":
        time.sleep(pause)
        workers.kill(first)
    first.wait(timeout=30)
    killed_at = time.monotonic()
    at_kill = accepted.total()
    assert rows().count("sent") < BATCH, "the batch was done before the kill"
    # The dead worker's claim, if it died mid-send: Redis keeps its message for an hour, so
    # only the sweep can hand it on.
    claimed = model.objects.exclude(claimed_by="").count()

    workers.start("second", WORKER_BEAT_FILE=str(workers.tmp / "beat-schedule"))
    wait_for(
        lambda: rows() == ["sent"] * BATCH,
        timeout=DEADLINE,
        what=f"the second worker to finish the batch (seed {seed})",
        log=workers.log("second"),
    )
    seconds = time.monotonic() - killed_at
    time.sleep(0.5)  # anything still on its way would land now
    duplicates = accepted.total() - BATCH
    if report := os.environ.get("HINDSIGHT_KILL_REPORT"):
        line = {
            "channel": channel,
            "moment": moment,
            "run": run,
            "seed": seed,
            "kill_after": kill_after,
            "accepted_at_kill": at_kill,
            "claimed_at_kill": claimed,
            "duplicates": duplicates,
            "seconds": round(seconds, 2),
        }
        with open(report, "a") as out:
            out.write(json.dumps(line) + "\n")

    assert set(accepted.counts.values()) <= {1, 2}, f"seed {seed}: {accepted.counts}"
    assert len(accepted.counts) == BATCH, f"seed {seed}: someone got nothing"
    assert duplicates <= 1, f"seed {seed}: {duplicates} duplicates"
    assert seconds < DEADLINE
    return duplicates


MOMENTS = ["random", "accepted"]


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_worker_killed_mid_batch_sends_at_most_the_email_in_flight_twice(
    workers: Workers, smtp: SMTPServer, moment: str, run: int
):
    emails_queued()

    duplicates = killed_mid_batch(
        workers, smtp.accepted, Delivery, channel="email", moment=moment, run=run
    )

    if moment == "accepted":
        assert duplicates == 1  # the one the server took as the worker died, and no other

    # Redis hands the dead worker's message back an hour later: it finds the row sent.
    before = smtp.accepted.total()
    for pk in Delivery.objects.values_list("pk", flat=True):
        assert delivery_send(delivery_id=pk) == "sent"
    assert smtp.accepted.total() == before


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_worker_killed_mid_batch_sends_at_most_the_webhook_in_flight_twice(
    workers: Workers, receiver: tuple[ThreadingHTTPServer, Accepted], moment: str, run: int
):
    server, accepted = receiver
    host, port = server.server_address[:2]
    webhooks_queued(f"http://{host!s}:{port}")

    duplicates = killed_mid_batch(
        workers, accepted, WebhookDelivery, channel="webhook", moment=moment, run=run
    )

    if moment == "accepted":
        assert duplicates == 1

    before = accepted.total()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "HINDSIGHT_PROBE_ALLOWED_NETWORKS", ["127.0.0.1/32"])
        for pk in WebhookDelivery.objects.values_list("pk", flat=True):
            assert webhook_delivery_send(delivery_id=pk) == "sent"
    assert accepted.total() == before
