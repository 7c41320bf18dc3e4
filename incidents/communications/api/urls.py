from __future__ import annotations

from rest_framework.routers import SimpleRouter

from incidents.communications.api.views import CommunicationTemplateViewSet, CommunicationViewSet
from incidents.postmortem.api.urls import NESTED

router = SimpleRouter(trailing_slash=False)
router.register(
    "communication-templates", CommunicationTemplateViewSet, basename="communication-template"
)
router.register(f"{NESTED}/communications", CommunicationViewSet, basename="incident-communication")

urlpatterns = router.urls
