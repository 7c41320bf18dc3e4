from __future__ import annotations

from rest_framework.routers import SimpleRouter

from incidents.webhooks.api.views import WebhookViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
