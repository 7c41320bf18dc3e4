"""Telling subscribers about maintenance: when a window is scheduled, when it starts, when it ends.

Who hears: whole-page subscribers, and those who chose a component the window affects
(incidents.statuspage.selectors.maintenance_components: the components watching a health check
of the window's service; a window of everything reaches every subscriber).

Once each: the window's row says when each notice was handed to the outbox, and a notice is
written only by a compare-and-set of that column from empty, in the transaction that writes the
outbox row. The scheduled notice is written by maintenance_create; the started and finished ones
by maintenance_notices_due, which the beat runs every minute (running it twice sends nothing
twice). A window that began and ended between two runs gets the finished notice only.

The outbox carries one task per notice (maintenance_notice_send), which mails each recipient;
a second run of it (acks_late redelivers a task whose worker died) skips the addresses already
mailed, as the confirmation mail does, by an atomic cache.add per address and notice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from incidents.models import Maintenance, Subscriber
from incidents.statuspage.selectors import maintenance_components, subscribers_reached
from incidents.statuspage.subscriber_links import choice_url, unsubscribe_url
from outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)

# The registered name of incidents.statuspage.tasks.maintenance_notice_send.
NOTICE_TASK = "incidents.tasks.maintenance_notice_send"
NOTICE_TEMPLATE = "incidents/emails/maintenance_notice"
# Long enough to outlive any redelivery of the task.
SENT_MARK_SECONDS = int(timedelta(days=2).total_seconds())


class Notice(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    STARTED = "started", "Started"
    FINISHED = "finished", "Finished"


NOTICE_COLUMN = {
    Notice.SCHEDULED: "scheduled_notice_at",
    Notice.STARTED: "started_notice_at",
    Notice.FINISHED: "finished_notice_at",
}


def maintenance_notice_schedule(*, maintenance: Maintenance) -> bool:
    """Hand the scheduled notice of a new window to the outbox, once; call in the transaction
    that creates it. True if this call wrote it."""
    return _claim(maintenance.pk, Notice.SCHEDULED, now=timezone.now())


def _claim(maintenance_id: int, notice: Notice, *, now: datetime, **also: object) -> bool:
    column = NOTICE_COLUMN[notice]
    claimed = Maintenance.objects.filter(pk=maintenance_id, **{f"{column}__isnull": True}).update(
        **{column: now}, **also
    )
    if claimed:
        outbox_enqueue(
            task=NOTICE_TASK, kwargs={"maintenance_id": maintenance_id, "notice": str(notice)}
        )
    return bool(claimed)


def maintenance_notices_due(*, now: datetime | None = None) -> int:
    """Hand to the outbox the started and finished notices that are due; returns how many.
    Each window's notice is claimed in its own transaction, so one failure stops no other."""
    now = now or timezone.now()
    written = 0
    started = Maintenance.objects.filter(
        starts_at__lte=now, ends_at__gt=now, started_notice_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(started):
        with transaction.atomic():
            written += _claim(pk, Notice.STARTED, now=now)
    finished = Maintenance.objects.filter(
        ends_at__lte=now, finished_notice_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(finished):
        with transaction.atomic():
            # A start never announced stays unannounced: "it has finished" says it all.
            written += _claim(
                pk, Notice.FINISHED, now=now, started_notice_at=Coalesce("started_notice_at", now)
            )
    return written


def maintenance_notice_send(*, maintenance: Maintenance, notice: str) -> int:
    """Mail the notice to everyone who hears about this window; returns how many were mailed.
    An address already mailed this notice (a second run of the task) is skipped."""
    recipients = subscribers_reached(components=maintenance_components(maintenance=maintenance))
    context = {
        "maintenance": maintenance,
        "notice": notice,
        "status_page_url": f"{settings.HINDSIGHT_BASE_URL}/status/",
    }
    sent = 0
    for subscriber in recipients.order_by("pk").iterator(chunk_size=500):
        key = f"incidents:maintenance-notice:{maintenance.pk}:{notice}:{subscriber.pk}"
        if not cache.add(key, 1, SENT_MARK_SECONDS):
            continue
        try:
            _message(subscriber, context).send(fail_silently=False)
        except Exception:
            # One refused address must not keep the others from hearing; a redelivered task
            # tries this one again.
            cache.delete(key)
            logger.exception("Maintenance notice %s to subscriber %s failed", notice, subscriber.pk)
            continue
        sent += 1
    return sent


def _message(subscriber: Subscriber, context: dict[str, object]) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(subscriber)
    context = {**context, "unsubscribe_url": unsubscribe, "choice_url": choice_url(subscriber)}
    subject = render_to_string(f"{NOTICE_TEMPLATE}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"{NOTICE_TEMPLATE}_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string(f"{NOTICE_TEMPLATE}_body.html", context), "text/html"
    )
    return message
