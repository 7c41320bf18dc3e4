"""make bench: what 50 open incident pages cost the server while nothing changes, against serving
each of them the whole page once per poll interval (issue 14, "live, together").

Every open page asks the state of its incident every HINDSIGHT_LIVE_POLL_SECONDS with the ETag
it last got, and is answered 304 while nothing changed; each poll also says the person is still
there (the cache, no database write). The benchmark loads the demo into a throwaway SQLite
database, logs 50 people in, lets each page poll once to get its ETag, then times rounds of 50
conditional polls against full renders of the incident page, in CPU seconds of this process
(the SQLite queries and the local-memory cache run in it too), through Django's test client
and the whole middleware stack, in turns so that a busy machine slows both alike. It prints
the CPU per second each way at the configured interval, their ratio, and the queries one poll
costs. Run alone it prints and exits 0; it records its figures (bench/results.py) for make
bench's table, which fails on a missed target. The issue's targets: one query or none per open
page per poll (besides the login's), and polls that cost less than serving the page; it names no
ratio, so the table's is below 1.

    python bench/live_pages.py
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import results as record
from sqlite_django import setup_django

PAGES = 50
ROUNDS = 15
WARMUP = 2


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-live-") as tmp:
        # DEBUG off (as served) needs the static files' manifest for the page's {% static %}.
        os.environ["STATIC_ROOT"] = str(Path(tmp) / "static")
        setup_django(tmp)
        from django.conf import settings
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        call_command("collectstatic", "--noinput", verbosity=0)
        call_command("load_demo", stdout=io.StringIO())
        reference = "INC-1"
        page_url = f"/incidents/{reference}/"
        state_url = f"/incidents/{reference}/live"
        editors = Group.objects.get(name="editor")

        clients: list[tuple[Client, str]] = []
        for n in range(PAGES):
            user = User.objects.create_user(f"bench-reader-{n}")
            user.groups.add(editors)
            client = Client()
            client.force_login(user)
            clients.append((client, ""))
        # Everyone arrives (each page's first poll), then everyone has the ETag of a page with
        # everyone on it.
        for client, _ in clients:
            client.get(state_url)
        clients = [(client, client.get(state_url)["ETag"]) for client, _ in clients]

        not_modified = 0

        def poll_round() -> None:
            nonlocal not_modified
            for client, etag in clients:
                if client.get(state_url, HTTP_IF_NONE_MATCH=etag).status_code == 304:
                    not_modified += 1

        reader = clients[0][0]

        def page_once() -> None:
            response = reader.get(page_url)
            assert response.status_code == 200, response.status_code

        poll_samples: list[float] = []
        page_samples: list[float] = []
        for round_number in range(WARMUP + ROUNDS):
            start = time.process_time()
            poll_round()
            polls = time.process_time() - start
            start = time.process_time()
            for _ in range(PAGES // 10):
                page_once()
            # A tenth of the pages per round, scaled to all of them: the same number of turns
            # as the polls without making the run ten times longer.
            pages = (time.process_time() - start) * 10
            if round_number >= WARMUP:
                poll_samples.append(polls)
                page_samples.append(pages)

        with CaptureQueriesContext(connection) as queries:
            client, etag = clients[1]
            status = client.get(state_url, HTTP_IF_NONE_MATCH=etag).status_code
        login = [
            q
            for q in queries.captured_queries
            if "django_session" in q["sql"] or "auth_user" in q["sql"]
        ]
        ours = len(queries.captured_queries) - len(login)

        interval = settings.HINDSIGHT_LIVE_POLL_SECONDS
        polls_cpu = statistics.median(poll_samples) / interval
        pages_cpu = statistics.median(page_samples) / interval
        total_polls = (WARMUP + ROUNDS) * PAGES
        print(
            f"{PAGES} open pages of {reference} (the demo post-mortem), polling every {interval:g} s, nothing changing:"
        )
        print(
            f"  polls (304):        {polls_cpu * 1000:8.1f} ms CPU per second ({polls_cpu * 100:.1f}% of one CPU)"
        )
        print(
            f"  full page instead:  {pages_cpu * 1000:8.1f} ms CPU per second ({pages_cpu * 100:.1f}% of one CPU)"
        )
        print(f"  ratio polls / full page: {polls_cpu / pages_cpu:.3f} (target: well under 1)")
        print(
            f"  one poll: {status}, {ours} query of its own + {len(login)} for the login (session, user)"
        )
        print(f"  304 answers: {not_modified} of {total_polls} polls")
        record.figure(
            f"{PAGES} open pages polling, CPU against the full page each interval",
            polls_cpu * 1000,
            unit="ms/s",
            baseline=pages_cpu * 1000,
            target=1.0,
            bound="<",
        )
        record.figure("queries of one poll, besides the login's", ours, unit="", target=1)
        # Polls answered 200 would be the full state, not the cheap path the figures mean.
        record.check(
            "polls answered 304",
            met=not_modified == total_polls,
            seen=f"{not_modified} of {total_polls}",
            wanted="all",
        )
    return 0


if __name__ == "__main__":
    record.run(main)
