"""make bench: how fast the API's list endpoints are, as ratios against a baseline measured in
the same run: a hand-written `.values()` + orjson view over the same 100 rows.

The target (issue "REST API") is a ratio of 2.0 or less against that view, which runs behind the
same middleware and session login as the endpoint, so the ratio measures what the endpoint adds:
DRF's dispatch, permissions, filtering, pagination and shaping. The ratio against the bare query
and dump, with no request at all, is printed beside it. The benchmark builds its own data in a
throwaway SQLite database, so it touches nothing of yours. Run alone it prints and exits 0;
it records each ratio (bench/results.py) for make bench's table, which fails on a missed one.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import results as record
from sqlite_django import setup_django

if TYPE_CHECKING:
    from django.db.models import Model

    # An endpoint: its URL, the model it lists, its ordering and the columns it selects.
    _Case = tuple[str, type[Model], str, list[str]]

ROWS = 100
REPEATS = 40
TARGET = 2.0


def _setup(tmp: str) -> None:
    setup_django(tmp)


def _data() -> None:
    from django.contrib.auth import get_user_model

    from deployments.models import Deployment, Environment, Service
    from incidents.models import ActionItem, Incident

    t0 = datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
    service = Service.objects.create(name="Bench", slug="bench")
    env = Environment.objects.create(service=service, name="production")
    owner = get_user_model().objects.create_user("bench-owner")
    incidents = Incident.objects.bulk_create(
        Incident(
            number=i + 1,
            service=service,
            title=f"Outage number {i}",
            severity="sev2",
            started_at=t0 + timedelta(hours=i),
            summary="Something broke.",
            summary_html="<p>Something broke.</p>",
        )
        for i in range(ROWS)
    )
    ActionItem.objects.bulk_create(
        ActionItem(incident=incidents[i], title=f"Fix thing {i}", owner=owner, order=i)
        for i in range(ROWS)
    )
    Deployment.objects.bulk_create(
        Deployment(
            environment=env,
            external_id=f"d-{i}",
            commit_sha=f"{i:07x}",
            status="succeeded",
            started_at=t0 + timedelta(minutes=i),
        )
        for i in range(ROWS)
    )


def _medians(*fns: Callable[[], object]) -> list[float]:
    """Median CPU seconds per call of each function, measured interleaved.

    CPU time of this process (the SQLite queries run in it too) rather than wall time, and the
    functions take turns, so a busy machine slows all of them alike instead of skewing a ratio.
    """
    for _ in range(5):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(REPEATS):
        for fn, bucket in zip(fns, samples, strict=True):
            start = time.process_time()
            fn()
            bucket.append(time.process_time() - start)
    return [statistics.median(bucket) for bucket in samples]


def _mount_baselines(cases: list[_Case]) -> dict[str, str]:
    """Mount a hand-written `.values()` + orjson view beside each endpoint, behind the same
    middleware and login, and return {endpoint url: baseline url}."""
    import types

    import orjson
    from django.conf import settings
    from django.contrib.auth.decorators import login_required
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern, URLResolver, clear_url_caches, include, path

    patterns: list[URLPattern | URLResolver] = [path("", include("hindsight.urls"))]
    urls = {}
    for index, (url, model, ordering, columns) in enumerate(cases):

        @login_required
        def baseline(
            request: HttpRequest,
            model: type[Model] = model,
            ordering: str = ordering,
            columns: list[str] = columns,
        ) -> HttpResponse:
            rows = list(model._default_manager.order_by(ordering).values(*columns)[:ROWS])
            body = orjson.dumps({"count": len(rows), "results": rows})
            return HttpResponse(body, content_type="application/json")

        patterns.append(path(f"bench/baseline/{index}", baseline))
        urls[url] = f"/bench/baseline/{index}"
    module = types.ModuleType("bench_urls")
    module.urlpatterns = patterns  # type: ignore[attr-defined]  # a module made at run time
    sys.modules["bench_urls"] = module
    settings.ROOT_URLCONF = "bench_urls"
    clear_url_caches()
    return urls


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        _data()
        import orjson
        from django.contrib.auth import get_user_model
        from django.test import Client

        from deployments.models import Deployment
        from incidents.models import ActionItem, Incident

        admin = get_user_model().objects.create_superuser("bench-admin", password=None)
        client = Client()
        # A session, as the browser holds one: the endpoint and its baseline both read it.
        client.force_login(admin)

        from deployments.api.serializers import DeploymentSerializer
        from incidents.postmortem.api.serializers import (
            ActionItemListSerializer,
            IncidentListSerializer,
        )

        # Each baseline selects exactly the columns its endpoint selects: the same rows and data.
        endpoints = [
            ("/api/v1/incidents", Incident, "-started_at", IncidentListSerializer.values()),
            ("/api/v1/action-items", ActionItem, "id", ActionItemListSerializer.values()),
            ("/api/v1/deployments", Deployment, "-started_at", DeploymentSerializer.values()),
        ]
        cases: list[_Case] = []
        for url, model, ordering, columns in endpoints:
            response = client.get(url, {"page_size": ROWS})
            if response.status_code != 200:
                print(f"{url:24} not available ({response.status_code})")
                record.check(
                    f"{url} answers", met=False, seen=str(response.status_code), wanted="200"
                )
                continue
            cases.append((url, model, ordering, columns))
        baselines = _mount_baselines(cases)

        print(
            f"API list endpoints, {ROWS} rows, median CPU time of {REPEATS} runs (target: ratio <= {TARGET})"
        )
        print(
            "  view:  a hand-written .values() + orjson view over the same rows, through the same"
        )
        print("         middleware and session login (the target's baseline)")
        print("  bare:  the same .values() + orjson called directly, with no request at all")
        print(
            f"{'endpoint':24} {'endpoint ms':>11} {'view ms':>8} {'ratio':>6} "
            f"{'bare ms':>8} {'ratio':>6}"
        )
        worst = 0.0
        for url, model, ordering, columns in cases:

            def bare(
                model: type[Model] = model, columns: list[str] = columns, ordering: str = ordering
            ) -> bytes:
                rows = list(model._default_manager.order_by(ordering).values(*columns)[:ROWS])
                return orjson.dumps({"count": ROWS, "results": rows})

            def view(url: str = baselines[url]) -> bytes:
                return client.get(url).content

            def endpoint(url: str = url) -> bytes:
                return client.get(url, {"page_size": ROWS}).content

            api, hand, raw = _medians(endpoint, view, bare)
            ratio = api / hand
            record.figure(
                f"{url}, {ROWS} rows, CPU against the hand-written view",
                api * 1000,
                unit="ms",
                baseline=hand * 1000,
                target=TARGET,
            )
            worst = max(worst, ratio)
            print(
                f"{url:24} {api * 1000:11.2f} {hand * 1000:8.2f} {ratio:6.2f} "
                f"{raw * 1000:8.2f} {api / raw:6.2f}"
            )
        print(
            f"worst ratio against the hand-written view: {worst:.2f} "
            f"({'within' if worst <= TARGET else 'OVER'} the target of {TARGET})"
        )
    return 0


if __name__ == "__main__":
    record.run(main)
