from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from deployments.api import views
from deployments.api.views.changes import ChangeViewSet, MaintenanceWindowViewSet
from deployments.api.views.common import ID_REGEX
from deployments.api.views.gate import GateRuleViewSet, GateRunViewSet, GateView
from deployments.api.views.health_run import HealthCheckRunView

router = SimpleRouter(trailing_slash=False)
router.register("services", views.ServiceViewSet, basename="service")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("deployments", views.DeploymentViewSet, basename="deployment")
router.register("health-checks", views.HealthCheckViewSet, basename="health-check")
router.register("health-snapshots", views.HealthSnapshotViewSet, basename="health-snapshot")
router.register("health-hours", views.HealthHourViewSet, basename="health-hour")
router.register("gate-runs", GateRunViewSet, basename="gate-run")
router.register("gate-rules", GateRuleViewSet, basename="gate-rule")
router.register("changes", ChangeViewSet, basename="change")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = [
    *router.urls,
    path("gate", GateView.as_view(), name="gate"),
    re_path(
        rf"^health-checks/(?P<pk>{ID_REGEX})/run$",
        HealthCheckRunView.as_view(),
        name="health-check-run",
    ),
]
