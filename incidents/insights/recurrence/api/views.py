"""Similar past incidents over the API: the incident page's panel for tooling (a chat bot that
tells the responders what an earlier incident promised and did not do).

GET /incidents/{ref}/similar   at most SIMILAR_SHOWN earlier incidents like this one
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from incidents.insights.recurrence.api.serializers import SimilarIncidentSerializer
from incidents.insights.recurrence.selectors import SIMILAR_SHOWN, similar_incidents
from incidents.models import Incident
from incidents.postmortem.api.views.common import READ_PROBLEMS, REF, incident_or_404, problems


class IncidentSimilarView(GenericAPIView):
    queryset = Incident.objects.all()  # for the role check: view_incident
    serializer_class = SimilarIncidentSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="incident_similar",
        summary="List earlier incidents like this one, with what they left open",
        description=(
            f"What the incident page's *Similar past incidents* panel shows: at most "
            f"{SIMILAR_SHOWN} incidents that started before this one, those alike in more ways "
            "first, then the newest. Similar means the same service with a health check that "
            "failed in both, the same service with a cause of the same category, or a close "
            "title. Each comes with `reasons` and its open action items. An empty list when "
            "nothing looks alike."
        ),
        parameters=[REF],
        responses={200: SimilarIncidentSerializer(many=True), **problems(*READ_PROBLEMS)},
    )
    def get(self, request: Request, ref: str) -> Response:
        incident = incident_or_404(ref)
        return Response(SimilarIncidentSerializer(similar_incidents(incident), many=True).data)
