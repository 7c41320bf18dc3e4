"""Reminder emails: the admins' weekly summary, claimed once per admin and week, and what writing
a digest or a summary costs (the digest itself: test_reminders.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from celery import current_app
from celery.schedules import crontab
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import plugins
from core.roles import Role
from incidents.insights.reminders import selectors, services
from incidents.insights.reminders.tasks import reminders_due
from incidents.models import ActionItem, Incident, Reminder, Severity
from incidents.postmortem import services as postmortem_services
from tests.factories import ActionItemFactory, IncidentFactory, UserFactory, user_with_role
from tests.incidents.test_reminders import (
    TODAY,
    _digest_at_eight,  # noqa: F401  (fixture: 8, Monday)
    html_of,
    item,
    owner,
    run,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]


# Monday 2026-03-16, 08:00 UTC: the summary's weekday and hour.
MONDAY = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


def in_review_since(moment: datetime, **kwargs) -> Incident:
    with time_machine.travel(moment, tick=False):
        incident = IncidentFactory(started_at=moment - timedelta(hours=2), **kwargs)
        return postmortem_services.incident_set_postmortem_state(
            incident=incident, state=Incident.PostmortemState.IN_REVIEW, user=None
        )


def resolved(at: datetime, severity: str, state: str = Incident.PostmortemState.DRAFT, **kw):
    return IncidentFactory(
        title=kw.pop("title"),
        severity=severity,
        status=Incident.Status.RESOLVED,
        started_at=at - timedelta(hours=1),
        resolved_at=at,
        postmortem_state=state,
        **kw,
    )


def test_the_weekly_summary_lists_what_is_stuck_and_nothing_that_is_not(run):  # noqa: F811
    admin = user_with_role(Role.ADMIN, username="root", email="root@example.test")
    user_with_role(Role.EDITOR, username="editor", email="editor@example.test")
    item(None, "Block deploys until the worker ships", None, blocks_deployments=True)
    item(
        None,
        "Blocked once, done now",
        None,
        blocks_deployments=True,
        status=ActionItem.Status.DONE,
        done_at=MONDAY,
    )
    item(None, "Not blocking", TODAY)
    in_review_since(MONDAY - timedelta(days=9), title="Stuck in review")
    in_review_since(MONDAY - timedelta(days=3), title="Just sent for review")
    sent_back = in_review_since(MONDAY - timedelta(days=20), title="Back to draft and again")
    with time_machine.travel(MONDAY - timedelta(days=15), tick=False):
        postmortem_services.incident_set_postmortem_state(
            incident=sent_back, state=Incident.PostmortemState.DRAFT, user=None
        )
    with time_machine.travel(MONDAY - timedelta(days=2), tick=False):
        sent_back.refresh_from_db()
        postmortem_services.incident_set_postmortem_state(
            incident=sent_back, state=Incident.PostmortemState.IN_REVIEW, user=None
        )
    # Resolved on the Monday a week before: five business days ran out on this Monday's eve.
    resolved(MONDAY - timedelta(days=7), Severity.SEV1, title="Sev1 unpublished")
    resolved(
        MONDAY - timedelta(days=30),
        Severity.SEV2,
        Incident.PostmortemState.IN_REVIEW,
        title="Sev2 long ago, only in review",
    )
    # Resolved on Wednesday: four business days ago, not late yet.
    resolved(MONDAY - timedelta(days=5), Severity.SEV1, title="Sev1 recent")
    resolved(
        MONDAY - timedelta(days=30),
        Severity.SEV1,
        Incident.PostmortemState.PUBLISHED,
        title="Sev1 published",
    )
    resolved(MONDAY - timedelta(days=30), Severity.SEV3, title="Sev3 unpublished")

    with time_machine.travel(MONDAY, tick=False):
        assert run(MONDAY) == 1
    [message] = mail.outbox
    assert message.to == [admin.email]
    text = message.body
    blocking, reviews, late = (
        text.split("OPEN ACTION ITEMS")[1].split("POST-MORTEMS IN REVIEW")[0],
        text.split("POST-MORTEMS IN REVIEW")[1].split("SEV1 AND SEV2")[0],
        text.split("SEV1 AND SEV2")[1],
    )
    assert "Block deploys until the worker ships" in blocking
    assert "done now" not in blocking
    assert "Not blocking" not in blocking
    assert "Stuck in review" in reviews
    assert "in review since 2026-03-07" in reviews
    assert "Just sent for review" not in reviews
    assert "Back to draft and again" not in reviews  # back in review two days ago only
    assert "Sev1 unpublished" in late
    assert "Sev2 long ago, only in review" in late
    for absent in ("Sev1 recent", "Sev1 published", "Sev3 unpublished"):
        assert absent not in late
    assert message.subject == (
        "Week of 16 Mar: 1 blocking item, 1 stuck review, 2 unpublished post-mortems"
    )
    assert "Sev1 unpublished" in html_of(message)


def test_the_summary_goes_to_admins_on_its_weekday_only_and_once_a_week(run):  # noqa: F811
    user_with_role(Role.ADMIN, username="root", email="root@example.test")
    UserFactory(username="super", is_superuser=True)
    UserFactory(username="plain")
    item(None, "Block deploys", None, blocks_deployments=True)

    with time_machine.travel(MONDAY - timedelta(days=1), tick=False):
        assert run(MONDAY - timedelta(days=1)) == 0  # Sunday
    with time_machine.travel(MONDAY, tick=False):
        assert run(MONDAY) == 2
        assert run(MONDAY) == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["root@example.test", "super@example.test"]
    assert set(Reminder.objects.values_list("kind", "period")) == {
        (Reminder.Kind.SUMMARY, date(2026, 3, 16))
    }


def test_an_empty_summary_is_not_sent(run):  # noqa: F811
    user_with_role(Role.ADMIN, username="root", email="root@example.test")
    with time_machine.travel(MONDAY, tick=False):
        run(MONDAY)
    assert mail.outbox == []
    assert Reminder.objects.get().status == Reminder.Status.SKIPPED


@pytest.mark.parametrize(
    ("resolved_on", "late_from"),
    [
        (datetime(2026, 3, 9, 15, 0, tzinfo=UTC), datetime(2026, 3, 16, 15, 0, tzinfo=UTC)),  # Mon
        (datetime(2026, 3, 13, 15, 0, tzinfo=UTC), datetime(2026, 3, 20, 15, 0, tzinfo=UTC)),  # Fri
        (datetime(2026, 3, 14, 15, 0, tzinfo=UTC), datetime(2026, 3, 20, 15, 0, tzinfo=UTC)),  # Sat
    ],
)
def test_five_business_days_skip_the_weekend(resolved_on, late_from):
    assert selectors.business_days_after(resolved_on, 5) == late_from


def test_the_beat_asks_every_hour_on_the_hour_and_the_outbox_carries_the_send(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reminders-due"]
    assert entry["task"] == services.REMINDERS_DUE_TASK == reminders_due.name
    assert entry["schedule"] == crontab(minute=0)
    assert current_app.tasks[services.SEND_TASK].name == services.SEND_TASK
    assert plugins.outbox_carries(services.SEND_TASK)


def send_queries(person: User, period: date) -> int:
    reminder = Reminder.objects.create(person=person, kind=Reminder.Kind.DIGEST, period=period)
    with CaptureQueriesContext(connection) as queries:
        assert services.reminder_send(reminder_id=reminder.pk) == "sent"
    return len(queries)


def test_writing_a_digest_costs_the_same_for_1_and_50_items():
    ada = owner()
    item(ada, "The first", TODAY)
    one = send_queries(ada, TODAY)
    ActionItemFactory.create_batch(49, owner=ada, due_date=TODAY - timedelta(days=1))
    assert send_queries(ada, TODAY + timedelta(days=1)) == one
    assert mail.outbox[-1].body.count("/#row-actions-") == selectors.DIGEST_ITEMS_SHOWN
    assert "And 20 more" in mail.outbox[-1].body


def test_writing_the_summary_costs_the_same_for_1_and_50_rows_of_each_list():
    admin = user_with_role(Role.ADMIN, username="root", email="root@example.test")

    def rows(n: int) -> None:
        for _ in range(n):
            item(None, "Blocks", None, blocks_deployments=True)
            in_review_since(MONDAY - timedelta(days=10), title="Stuck")
            resolved(MONDAY - timedelta(days=10), Severity.SEV2, title="Late")

    def summary_queries(period: date) -> int:
        reminder = Reminder.objects.create(person=admin, kind=Reminder.Kind.SUMMARY, period=period)
        with time_machine.travel(MONDAY, tick=False), CaptureQueriesContext(connection) as queries:
            assert services.reminder_send(reminder_id=reminder.pk) == "sent"
        return len(queries)

    rows(1)
    one = summary_queries(date(2026, 3, 16))
    rows(49)
    assert summary_queries(date(2026, 3, 9)) == one
