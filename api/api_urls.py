from __future__ import annotations

from rest_framework.routers import SimpleRouter

from api.views import TokenViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = router.urls
