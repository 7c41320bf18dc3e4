"""The reminder emails as messages: plain and HTML parts from the subject / text / html triplets
in templates/incidents/emails/, with absolute links (a task has no request to build them on)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from incidents.insights.reminders.selectors import DIGEST_DAYS_AHEAD, Listed, WeeklySummary
from incidents.models import ActionItem, Incident, Reminder

DIGEST_TEMPLATE = "incidents/emails/reminder_digest"
SUMMARY_TEMPLATE = "incidents/emails/reminder_summary"


def absolute(path: str) -> str:
    return f"{settings.HINDSIGHT_BASE_URL}{path}"


def incident_url(incident: Incident) -> str:
    return absolute(reverse("incidents:detail", args=[incident.reference]))


def item_url(item: ActionItem) -> str:
    # The row's anchor on the incident page (templates/incidents/sections/actions.html).
    return f"{incident_url(item.incident)}#row-actions-{item.pk}"


def _message_id(reminder: Reminder) -> str:
    # The same for every attempt of one reminder: a resend after a worker died between the mail
    # server's answer and the commit carries it again, and mail systems drop the duplicate.
    host = urlsplit(settings.HINDSIGHT_BASE_URL).hostname or "hindsight.invalid"
    return f"<reminder-{reminder.pk}@{host}>"


def _message(
    template: str, context: Mapping[str, object], reminder: Reminder
) -> EmailMultiAlternatives:
    context = {
        **context,
        "person": reminder.person,
        "settings_url": absolute(reverse("preferences")),
    }
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
        body=render_to_string(f"{template}_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[reminder.person.email],
        headers={"Message-ID": _message_id(reminder)},
    )
    message.attach_alternative(render_to_string(f"{template}_body.html", context), "text/html")
    return message


def _linked_items(items: list[ActionItem]) -> list[ActionItem]:
    for item in items:
        item.url = item_url(item)  # type: ignore[attr-defined]
        item.incident.url = incident_url(item.incident)  # type: ignore[attr-defined]
    return items


def _linked_incidents(incidents: list[Incident]) -> list[Incident]:
    for incident in incidents:
        incident.url = incident_url(incident)  # type: ignore[attr-defined]
    return incidents


def digest_message(*, reminder: Reminder, items: Listed) -> EmailMultiAlternatives:
    rows = _linked_items(items.rows)
    context = {
        "overdue": [item for item in rows if item.overdue],  # type: ignore[attr-defined]
        "due_soon": [item for item in rows if not item.overdue],  # type: ignore[attr-defined]
        "count": items.count,
        "more": items.more,
        "today": reminder.period,
        "days": DIGEST_DAYS_AHEAD,
        "items_url": absolute(reverse("incidents:action_items") + "?mine=on"),
    }
    return _message(DIGEST_TEMPLATE, context, reminder)


def summary_message(*, reminder: Reminder, summary: WeeklySummary) -> EmailMultiAlternatives:
    _linked_items(summary.blocking.rows)
    _linked_incidents(summary.stale_reviews.rows)
    _linked_incidents(summary.unpublished.rows)
    context = {
        "summary": summary,
        "week": reminder.period,
        "blocking_url": absolute(reverse("incidents:action_items") + "?blocking=on"),
        "dashboard_url": absolute(reverse("incidents:dashboard")),
    }
    return _message(SUMMARY_TEMPLATE, context, reminder)
