"""The OpenAPI description of a viewset of an incident's rows: one decorator that names what
each action takes and answers, including the If-Match problems and, for the timeline, 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets

from api.reads import RowSerializer
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views.common import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_PROBLEMS,
    INCIDENT_REF,
    LIST_PROBLEMS,
    LOCATION,
    READ_PROBLEMS,
    ROW_BAD_IF_MATCH,
    ROW_ETAG,
    ROW_IF_MATCH,
    ROW_NO_IF_MATCH,
    ROW_STALE,
    WRITE_PROBLEMS,
    problems,
)
from incidents.postmortem.api.views.rows_base import AUDIT_LINE, MoveSerializer

_ViewSet = TypeVar("_ViewSet", bound=type[viewsets.GenericViewSet])


def _row_schema(
    *,
    plural: str,
    read: type[RowSerializer],
    write: type[s.IncidentRowSerializer],
    idempotent: bool = False,
    ordering: str = "by hand order (`order`, then `id`)",
    movable: bool = True,
    audited: bool = False,
) -> Callable[[_ViewSet], _ViewSet]:
    create_params = [INCIDENT_REF, LOCATION, ROW_ETAG] + ([IDEMPOTENCY_KEY] if idempotent else [])
    create_problems = WRITE_PROBLEMS + (IDEMPOTENCY_PROBLEMS if idempotent else ())
    guarded = [INCIDENT_REF, ROW_IF_MATCH, ROW_ETAG]
    # 412 and 428 for If-Match; 409 for a line Hindsight wrote, where there are such lines.
    guard_problems = {
        "d400": ROW_BAD_IF_MATCH,
        "d412": ROW_STALE,
        "d428": ROW_NO_IF_MATCH,
        **({"d409": AUDIT_LINE} if audited else {}),
    }
    guard_codes = (412, 428, *((409,) if audited else ()))
    return extend_schema_view(
        list=extend_schema(
            summary=f"List an incident's {plural}",
            description=f"Ordered {ordering}.",
            parameters=[INCIDENT_REF],
            responses={200: read(many=True), **problems(*LIST_PROBLEMS)},
        ),
        retrieve=extend_schema(
            parameters=[INCIDENT_REF, ROW_ETAG], responses={200: read, **problems(*READ_PROBLEMS)}
        ),
        create=extend_schema(
            request=write,
            parameters=create_params,
            responses={201: read, **problems(*create_problems)},
        ),
        update=extend_schema(
            description="Omitted optional fields return to their defaults. Needs If-Match.",
            request=write,
            parameters=guarded,
            responses={200: read, **problems(*WRITE_PROBLEMS, *guard_codes, **guard_problems)},
        ),
        partial_update=extend_schema(
            description="Only the fields sent change. Needs If-Match.",
            request=write,
            parameters=guarded,
            responses={200: read, **problems(*WRITE_PROBLEMS, *guard_codes, **guard_problems)},
        ),
        destroy=extend_schema(
            description="Needs If-Match.",
            parameters=[INCIDENT_REF, ROW_IF_MATCH],
            responses={
                204: OpenApiResponse(description="Deleted."),
                **problems(*READ_PROBLEMS, 400, *guard_codes, **guard_problems),
            },
        ),
        **(
            {
                "move": extend_schema(
                    summary=f"Move one of the {plural} among its siblings",
                    description=(
                        "Renumbers the siblings (same parent and group) 0..n-1, bumping the "
                        "version of each it renumbers. One click: no If-Match."
                    ),
                    request=MoveSerializer,
                    parameters=[INCIDENT_REF, ROW_ETAG],
                    responses={200: read, **problems(*WRITE_PROBLEMS)},
                )
            }
            if movable
            else {}
        ),
    )
