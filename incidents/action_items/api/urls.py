from __future__ import annotations

from rest_framework.routers import SimpleRouter

from incidents.action_items.api.views import ActionItemViewSet

router = SimpleRouter(trailing_slash=False)
router.register("action-items", ActionItemViewSet, basename="action-item")

urlpatterns = router.urls
