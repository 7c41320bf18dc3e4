from __future__ import annotations

from rest_framework.routers import SimpleRouter

from incidents.postmortem.api import views

# Rows nested under their incident; its reference is matched by the views, not here.
NESTED = r"incidents/(?P<incident_ref>[^/]+)"

router = SimpleRouter(trailing_slash=False)
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register(
    f"{NESTED}/timeline-events", views.TimelineEventViewSet, basename="incident-timeline-event"
)
router.register(f"{NESTED}/causes", views.CauseViewSet, basename="incident-cause")
router.register(f"{NESTED}/lessons", views.LessonViewSet, basename="incident-lesson")
router.register(
    f"{NESTED}/action-items", views.IncidentActionItemViewSet, basename="incident-action-item"
)
router.register(
    f"{NESTED}/success-criteria",
    views.SuccessCriterionViewSet,
    basename="incident-success-criterion",
)

urlpatterns = router.urls
