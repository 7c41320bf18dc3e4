from __future__ import annotations

from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("<str:reference>/", views.incident_detail, name="detail"),
]
