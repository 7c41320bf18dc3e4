from __future__ import annotations

from django.urls import path

from core import health, views

urlpatterns = [
    # For load balancers and orchestrators, without login (core.health).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("settings/", views.preferences, name="preferences"),
    path("people/", views.people, name="people"),
]
