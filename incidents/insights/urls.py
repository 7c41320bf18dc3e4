from __future__ import annotations

from django.urls import path

from incidents.insights import views
from incidents.insights.recurrence import views as recurrence

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="list"),
    path("incidents/<str:reference>/similar", recurrence.similar_panel, name="similar_panel"),
]
