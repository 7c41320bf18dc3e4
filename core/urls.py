from __future__ import annotations

from django.urls import path

from core import views

urlpatterns = [
    path("settings/", views.preferences, name="preferences"),
    path("people/", views.people, name="people"),
]
