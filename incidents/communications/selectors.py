"""Reads of communications."""

from __future__ import annotations

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from incidents.models import (
    Communication,
    Delivery,
)


def communications_with_progress() -> QuerySet[Communication]:
    """Communications newest first, each with its template, author and approver, and how many
    of its deliveries are sent, pending and failed: one query however many there are."""
    return (
        Communication.objects.select_related(
            "template", "created_by", "approved_by", "retracted_by"
        )
        .annotate(
            **{
                f"deliveries_{status}": Count("deliveries", filter=Q(deliveries__status=status))
                for status in Delivery.Status.values
            }
        )
        .order_by("-created_at", "-id")
    )
