"""The incident's external references and labels in its create and update requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User

from api.problems import Problem
from incidents.models import Incident
from incidents.postmortem import services


@contextmanager
def references_taken() -> Iterator[None]:
    """A key another incident holds in the same source is a 409 naming that incident, so a
    sync job finds what it made before instead of making a twin."""
    try:
        yield
    except services.ReferenceTaken as taken:
        raise Problem(
            str(taken),
            status_code=409,
            problem_type="external-reference-taken",
            incident=taken.holder,
        ) from None


def pop_tags(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fields.pop(name) for name in ("external_references", "labels") if name in fields}


def set_tags(incident: Incident, tags: dict[str, Any], user: User | None) -> None:
    if "external_references" in tags:
        services.incident_references_set(
            incident=incident,
            references=[services.Reference(**ref) for ref in tags["external_references"]],
            user=user,
        )
    if "labels" in tags:
        services.incident_labels_set(incident=incident, labels=tags["labels"], user=user)
