"""make bench: how fast the API's list endpoints are, as ratios against a baseline measured in
the same run: a hand-written `.values()` + orjson over the same 100 rows.

The target (issue "REST API") is a ratio of 2.0 or less. The benchmark builds its own data in a
throwaway SQLite database, so it touches nothing of yours. It prints and never fails: speed is
read, not asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROWS = 100
REPEATS = 40
TARGET = 2.0


def _setup(tmp: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("REDIS_URL", None)
    # whitenoise warns that collectstatic never ran; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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


def _median_seconds(fn) -> float:
    for _ in range(5):
        fn()
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        _setup(tmp)
        _data()
        import orjson
        from django.contrib.auth import get_user_model
        from rest_framework.test import APIClient

        from deployments.models import Deployment
        from incidents.models import ActionItem, Incident

        admin = get_user_model().objects.create_superuser("bench-admin", password=None)
        client = APIClient()
        client.force_authenticate(admin)

        cases = [
            ("/api/v1/incidents", Incident, "-started_at"),
            ("/api/v1/action-items", ActionItem, "id"),
            ("/api/v1/deployments", Deployment, "-started_at"),
        ]
        print(
            f"API list endpoints, {ROWS} rows, median of {REPEATS} runs (target: ratio <= {TARGET})"
        )
        print(f"{'endpoint':28} {'baseline ms':>12} {'endpoint ms':>12} {'ratio':>7}")
        worst = 0.0
        for url, model, ordering in cases:
            response = client.get(url, {"page_size": ROWS})
            if response.status_code != 200:
                print(f"{url:28} not available ({response.status_code})")
                continue
            first = response.json()["results"][0]
            columns = _baseline_columns(model, first)

            def baseline(model=model, columns=columns, ordering=ordering):
                rows = list(model.objects.order_by(ordering).values(*columns)[:ROWS])
                return orjson.dumps({"count": ROWS, "results": rows})

            def endpoint(url=url):
                return client.get(url, {"page_size": ROWS}).content

            base, api = _median_seconds(baseline), _median_seconds(endpoint)
            ratio = api / base
            worst = max(worst, ratio)
            print(f"{url:28} {base * 1000:12.2f} {api * 1000:12.2f} {ratio:7.2f}")
        print(f"worst ratio: {worst:.2f} ({'within' if worst <= TARGET else 'OVER'} the target)")
    return 0


def _baseline_columns(model, result: dict) -> list[str]:
    """The same data as the endpoint's row: its model fields, and a related object's fields."""
    names = {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)}
    columns: list[str] = []
    for key, value in result.items():
        if key in names and not isinstance(value, dict):
            columns.append(key if not model._meta.get_field(key).is_relation else f"{key}_id")
        elif isinstance(value, dict) and key in names:
            related = model._meta.get_field(key).related_model
            related_names = {f.name for f in related._meta.concrete_fields}
            columns += [f"{key}__{sub}" for sub in value if sub in related_names]
    return columns or ["id"]


if __name__ == "__main__":
    sys.exit(main())
