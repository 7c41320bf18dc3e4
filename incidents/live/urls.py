"""The live updates of an incident page."""

from __future__ import annotations

from django.urls import path

from incidents.live import views

urlpatterns = [
    path("incidents/<str:reference>/live", views.live_state, name="live_state"),
    path("incidents/<str:reference>/live/parts", views.live_parts, name="live_parts"),
]
