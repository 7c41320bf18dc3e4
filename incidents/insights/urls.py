from __future__ import annotations

from django.urls import path

from incidents.insights import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="list"),
]
