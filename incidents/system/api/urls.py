from __future__ import annotations

from django.urls import path

from incidents.system.api.views import IncidentCorrelationView

urlpatterns = [
    path(
        "incidents/<str:ref>/correlation",
        IncidentCorrelationView.as_view(),
        name="incident-correlation",
    ),
]
