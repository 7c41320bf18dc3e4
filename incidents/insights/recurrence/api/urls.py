from __future__ import annotations

from django.urls import path

from incidents.insights.recurrence.api.views import IncidentSimilarView

urlpatterns = [
    path("incidents/<str:ref>/similar", IncidentSimilarView.as_view(), name="incident-similar"),
]
