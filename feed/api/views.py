"""GET /api/v1/events: every change, in the order it committed, for sync jobs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.problems import PROBLEM_CONTENT_TYPE, Problem
from feed.api.serializers import FeedEventSerializer, FeedPageSerializer
from feed.kinds import EventKind
from feed.models import FeedEvent
from feed.selectors import CursorExpired, feed_page

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class FeedQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False)
    kind = serializers.ListField(child=serializers.ChoiceField(choices=EventKind.choices))
    incident = serializers.RegexField(r"^INC-[1-9][0-9]{0,17}$", required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


QUERY = frozenset(FeedQuerySerializer().fields)


class FeedView(GenericAPIView):
    """Every change, in the order it committed, deletions included.

    Start with no `after` (or with the `next` of the page a resync began with), then pass each
    page's `next` as `after`. A page shorter than `limit` means you are up to date: ask again
    later with its `next`. Events are kept HINDSIGHT_FEED_RETENTION_DAYS (90 by default): a
    cursor older than that answers 410, and the job resynchronises from the lists, continuing
    from the `next` the 410 names.
    """

    queryset = FeedEvent.objects.all()  # for the roles' permission: view_feedevent
    pagination_class = None
    filter_backends: list[type] = []

    @extend_schema(
        operation_id="events_list",
        parameters=[
            OpenApiParameter(
                "after", int, description="The `next` of the last page read; none at the start."
            ),
            OpenApiParameter(
                "kind",
                str,
                many=True,
                enum=EventKind.values,
                description="Only these kinds (repeat the parameter for several).",
            ),
            OpenApiParameter(
                "incident",
                str,
                pattern=r"^INC-[1-9][0-9]{0,17}$",
                description="Only events of this incident and what belongs to it.",
            ),
            OpenApiParameter(
                "limit", int, description=f"Events per page, 1 to {MAX_LIMIT} ({DEFAULT_LIMIT})."
            ),
        ],
        responses={
            200: FeedPageSerializer,
            (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(description="A bad or unknown parameter."),
            (410, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                description="The cursor is older than the oldest kept event. Resynchronise from "
                "the lists, then continue from `next`."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - QUERY)
        if unknown:
            raise ValidationError(
                {
                    name: [f"Unknown parameter. Allowed: {', '.join(sorted(QUERY))}."]
                    for name in unknown
                }
            )
        params = {
            name: request.query_params.getlist(name)
            if name == "kind"
            else request.query_params[name]
            for name in request.query_params
        }
        query = FeedQuerySerializer(data={"kind": [], **params})
        query.is_valid(raise_exception=True)
        values = query.validated_data
        try:
            page = feed_page(
                after=values.get("after"),
                limit=values["limit"],
                kinds=values["kind"],
                incident=values.get("incident", ""),
            )
        except CursorExpired as expired:
            raise Problem(
                f"Events up to position {expired.purged_through} are no longer kept, so some "
                "after your cursor may be gone. Resynchronise from the lists, then continue "
                "from `next`.",
                status_code=410,
                problem_type="cursor-expired",
                next=str(expired.latest),
            ) from None
        return Response(
            {
                "next": str(page.next_cursor),
                "results": [FeedEventSerializer(event).data for event in page.events],
            }
        )
