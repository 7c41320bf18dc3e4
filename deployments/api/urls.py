from __future__ import annotations

from rest_framework.routers import SimpleRouter

from deployments.api import views

router = SimpleRouter(trailing_slash=False)
router.register("services", views.ServiceViewSet, basename="service")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("deployments", views.DeploymentViewSet, basename="deployment")
router.register("health-checks", views.HealthCheckViewSet, basename="health-check")
router.register("health-snapshots", views.HealthSnapshotViewSet, basename="health-snapshot")

urlpatterns = [
    *router.urls,
]
