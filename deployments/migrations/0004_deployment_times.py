"""Every deployment has a start, and every finished one a finish.

Rows recorded without times (the CI client sends none) had neither, so the stale-build rule
compared against an older deployment, the correlation skipped them and none could become last
known good. The best time known for them is when they were recorded.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import Case, F, Q, When
from django.db.models.functions import Coalesce

FINISHED = ("succeeded", "failed", "rolled_back")


def fill_times(apps, schema_editor):
    Deployment = apps.get_model("deployments", "Deployment")
    unfinished = Q(finished_at__isnull=True, status__in=FINISHED)
    # One UPDATE for both columns: a row updated twice in one transaction leaves PostgreSQL
    # foreign-key checks pending, and the ALTER TABLE below refuses to run after them. Both
    # right-hand sides read the row as it was.
    Deployment.objects.using(schema_editor.connection.alias).filter(
        Q(started_at__isnull=True) | unfinished
    ).update(
        started_at=Coalesce(F("started_at"), F("created_at")),
        # Recorded as finished without a finish time: it had finished by the time it was
        # recorded, and never before it started.
        finished_at=Case(
            When(unfinished & Q(started_at__gt=F("created_at")), then=F("started_at")),
            When(unfinished, then=F("created_at")),
            default=F("finished_at"),
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0003_health_runtime"),
    ]

    operations = [
        # Going back keeps the filled times: they are true enough, and nothing needs them gone.
        migrations.RunPython(fill_times, migrations.RunPython.noop, elidable=False),
        migrations.RemoveConstraint(
            model_name="deployment",
            name="deployment_finished_after_started",
        ),
        migrations.AlterField(
            model_name="deployment",
            name="started_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When it started; when it was recorded unless CI said.",
            ),
        ),
        migrations.AddConstraint(
            model_name="deployment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("finished_at__isnull", True),
                    ("finished_at__gte", models.F("started_at")),
                    _connector="OR",
                ),
                name="deployment_finished_after_started",
            ),
        ),
    ]
