"""Reads of communications."""

from __future__ import annotations

from django.db.models import (
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
)

from incidents.models import (
    Communication,
    CommunicationComponent,
    Delivery,
)


def communications_with_progress() -> QuerySet[Communication]:
    """Communications newest first, each with its template, author and approver, and how many
    of its deliveries are sent, pending and failed: one query however many there are, and one
    more for the components the status page updates among them name."""
    return (
        Communication.objects.select_related(
            "template", "created_by", "approved_by", "retracted_by"
        )
        .prefetch_related(
            Prefetch(
                "component_statuses",
                queryset=CommunicationComponent.objects.select_related("component__group").order_by(
                    F("component__group__order").asc(nulls_last=True),
                    "component__group__name",
                    "component__order",
                    "component__name",
                    "component_id",
                ),
            )
        )
        .annotate(
            **{
                f"deliveries_{status}": Count("deliveries", filter=Q(deliveries__status=status))
                for status in Delivery.Status.values
            }
        )
        .order_by("-created_at", "-id")
    )
