"""GET /incidents/{ref}/correlation: which deployments and health changes sat around an incident,
the suspect, and where to roll back to. The same reads as the incident page's section."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from deployments import selectors as system
from incidents.models import Incident, TimelineEvent
from incidents.postmortem.api.views.common import READ_PROBLEMS, REF, incident_or_404, problems
from incidents.system.api.serializers import CorrelationSerializer
from incidents.system.selectors import merged_events


class IncidentCorrelationView(GenericAPIView):
    queryset = Incident.objects.all()  # for the role check: view_incident
    serializer_class = CorrelationSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="incident_correlation",
        summary="Deployments and health around an incident",
        description=(
            "The deployments from HINDSIGHT_CORRELATION_WINDOW_HOURS before the incident's "
            "start to its end (now while open), the suspect among them, the changes that are "
            "not deployments in the same window with their suspect, the last known good "
            "deployment as of the start with its rollback command, the health checks' "
            "failures bracketed by the last healthy snapshot before and the first after, and "
            "the deployment and health events within the incident. A fixed number of queries "
            "however many deployments and snapshots there are."
        ),
        parameters=[REF],
        responses={200: CorrelationSerializer, **problems(*READ_PROBLEMS)},
    )
    def get(self, request: Request, ref: str) -> Response:
        incident = incident_or_404(ref, Incident.objects.select_related("service"))
        found = system.correlation(
            service=incident.service, start=incident.started_at, end=incident.resolved_at
        )
        if found.last_known_good is not None:
            found.last_known_good.rollback_command = found.rollback  # type: ignore[attr-defined]  # for the serializer
        written = set(
            TimelineEvent.objects.filter(incident=incident, deployment__isnull=False).values_list(
                "deployment_id", flat=True
            )
        )
        data = {
            "incident": incident.reference,
            "window": found,
            "deployments": found.deployments,
            "suspect": found.suspect,
            "last_known_good": found.last_known_good,
            "changes": found.changes,
            "suspect_change": found.suspect_change,
            "bracketing": found.bracketing,
            "events": merged_events(incident, skip_deployments=written),
        }
        context = {
            **self.get_serializer_context(),
            "suspect_id": found.suspect.pk if found.suspect else None,
            "suspect_change_id": found.suspect_change.pk if found.suspect_change else None,
        }
        return Response(CorrelationSerializer(data, context=context).data)
