from __future__ import annotations

from django.urls import path

from incidents.system import views

urlpatterns = [
    path("incidents/<str:reference>/system", views.system_panel, name="system_panel"),
    path(
        "incidents/<str:reference>/system/deployments/<int:pk>/mark-as-cause",
        views.mark_as_cause,
        name="mark_as_cause",
    ),
]
