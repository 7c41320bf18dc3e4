"""A digest hour the beat missed (the beat or every worker was down) is caught up by the next
run of the same local day, and a summary by the next run of the same local week; a run after
that sends nothing more, and a day (or week) already past is never sent
(the rest of the reminders: test_reminders.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail

from core.models import Profile
from core.roles import Role
from incidents.insights.reminders import services
from incidents.models import ActionItem, Reminder, ReminderRun
from tests.factories import ActionItemFactory, UserFactory, user_with_role
from tests.helpers import run_in_threads
from tests.incidents.test_reminders import _digest_at_eight  # noqa: F401  (fixture: 8, Monday)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]

# Tuesday 2026-03-10; the digest hour is 8 and the summary's weekday Monday.
TODAY = date(2026, 3, 10)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def go(now: datetime) -> int:
        with (
            time_machine.travel(now, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return services.reminders_due(now=now)

    return go


def owner(username: str = "ada", zone: str | None = None) -> User:
    person = UserFactory(username=username)
    if zone is not None:
        Profile.objects.create(user=person, time_zone=zone)
    return person


def overdue(person: User, title: str = "Overdue") -> ActionItem:
    return ActionItemFactory(owner=person, title=title, due_date=TODAY - timedelta(days=1))


def sent_to() -> list[str]:
    return [m.to[0].split("@")[0] for m in mail.outbox]


def test_the_beat_missed_the_digest_hour_and_the_next_run_that_day_sends_it(run):
    overdue(owner())
    assert run(at(10, 7)) == 0  # before the hour
    # 08:00 and 09:00 never ran: the beat was down.
    assert run(at(10, 10)) == 1
    assert sent_to() == ["ada"]
    assert Reminder.objects.get().period == TODAY


def test_a_run_after_the_caught_up_one_sends_nothing_even_to_someone_due_since(run):
    overdue(owner())
    run(at(10, 7))
    run(at(10, 10))
    overdue(owner("bo"))  # owes something now, but the digest hour is behind this run

    assert run(at(10, 11)) == 0
    assert run(at(10, 23)) == 0
    assert sent_to() == ["ada"]


def test_late_runs_piled_up_behind_a_worker_outage_send_one_digest(run):
    overdue(owner())
    run(at(10, 7))
    # The beat queued 08:00, 09:00 and 10:00; the workers came back at 10:05 and ran them all.
    assert [run(at(10, 10, 5)) for _ in range(3)] == [1, 0, 0]
    assert sent_to() == ["ada"]


def test_a_day_already_past_is_never_sent(run):
    overdue(owner())
    run(at(10, 7))
    # Down from before the 10th's digest hour until the 11th's morning.
    assert run(at(11, 7)) == 0
    assert Reminder.objects.count() == 0
    assert run(at(11, 9)) == 1
    assert list(Reminder.objects.values_list("period", flat=True)) == [date(2026, 3, 11)]
    assert sent_to() == ["ada"]


def test_each_zone_is_caught_up_on_its_own_local_day(run):
    for name, zone in (("utc", None), ("berlin", "Europe/Berlin"), ("tokyo", "Asia/Tokyo")):
        overdue(owner(name, zone))
    run(at(10, 6))  # the first run: 07:00 in Berlin, and Tokyo's hour of the 10th was before it

    # Down until noon UTC: Berlin's 08:00 (07:00 UTC) and UTC's 08:00 both passed meanwhile;
    # Tokyo's 10th is not caught up (its hour was before the first run), nor its 11th early.
    assert run(at(10, 12)) == 2
    assert sorted(sent_to()) == ["berlin", "utc"]

    assert run(at(11, 0)) == 1  # 09:00 on the 11th in Tokyo
    assert sent_to()[-1] == "tokyo"
    assert Reminder.objects.get(person__username="tokyo").period == date(2026, 3, 11)


def test_the_first_run_ever_covers_only_the_hour_before_it(run):
    # As the beat on time would: a new install (or this upgrade) at 10:00 does not send the
    # day's digests two hours late.
    overdue(owner())
    assert run(at(10, 10)) == 0
    assert ReminderRun.objects.get().covered_until == at(10, 10)
    assert run(at(11, 8)) == 1


def test_a_missed_weekly_summary_is_sent_later_that_week_and_never_the_week_after(run):
    user_with_role(Role.ADMIN, username="root", email="root@example.test")
    ActionItemFactory(owner=None, title="Block deploys", due_date=None, blocks_deployments=True)
    run(at(16, 7))  # Monday, before the hour

    assert run(at(18, 10)) == 1  # Wednesday: down since Monday morning
    assert sent_to() == ["root"]
    summary = Reminder.objects.get(kind=Reminder.Kind.SUMMARY)
    assert summary.period == date(2026, 3, 16)
    assert run(at(19, 10)) == 0

    run(at(22, 23))  # Sunday night; then down over the next Monday's hour
    assert run(at(30, 7)) == 0  # the Monday after next, before the hour: last week's is past
    assert Reminder.objects.filter(kind=Reminder.Kind.SUMMARY).count() == 1
    assert run(at(30, 9)) == 1
    assert set(Reminder.objects.values_list("period", flat=True)) == {
        date(2026, 3, 16),
        date(2026, 3, 30),
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_late_runs_at_once_catch_up_one_digest_per_person():
    people = [owner(f"person{i}") for i in range(5)]
    for person in people:
        overdue(person)
    ReminderRun.objects.create(covered_until=at(10, 6))

    results = run_in_threads(4, lambda i: services.reminders_due(now=at(10, 11)))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [0, 0, 0, 5]  # the runs took turns; the first claimed them all
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 5
