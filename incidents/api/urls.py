from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents.api import views
from incidents.api.views.communications import CommunicationTemplateViewSet, CommunicationViewSet
from incidents.api.views.correlation import IncidentCorrelationView
from incidents.api.views.transfer import IncidentExportView, IncidentImportView

router = SimpleRouter(trailing_slash=False)
router.register("incidents", views.IncidentViewSet, basename="incident")
# Rows nested under their incident; its reference is matched by the views, not here.
_NESTED = r"incidents/(?P<incident_ref>[^/]+)"
router.register(
    f"{_NESTED}/timeline-events", views.TimelineEventViewSet, basename="incident-timeline-event"
)
router.register(f"{_NESTED}/causes", views.CauseViewSet, basename="incident-cause")
router.register(f"{_NESTED}/lessons", views.LessonViewSet, basename="incident-lesson")
router.register(
    f"{_NESTED}/action-items", views.IncidentActionItemViewSet, basename="incident-action-item"
)
router.register(
    f"{_NESTED}/success-criteria",
    views.SuccessCriterionViewSet,
    basename="incident-success-criterion",
)
router.register("action-items", views.ActionItemViewSet, basename="action-item")
router.register(
    "communication-templates", CommunicationTemplateViewSet, basename="communication-template"
)
router.register(
    f"{_NESTED}/communications", CommunicationViewSet, basename="incident-communication"
)

urlpatterns = [
    # Before the router, whose incidents/<ref> would read "import" as a reference.
    path("incidents/import", IncidentImportView.as_view(), name="incident-import"),
    path("incidents/<str:ref>/export", IncidentExportView.as_view(), name="incident-export"),
    *router.urls,
    path(
        "incidents/<str:ref>/correlation",
        IncidentCorrelationView.as_view(),
        name="incident-correlation",
    ),
]
