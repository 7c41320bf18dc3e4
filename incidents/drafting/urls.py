from __future__ import annotations

from django.urls import path

from incidents.drafting import views

urlpatterns = [
    path("incidents/<str:reference>/draft/propose", views.draft_propose, name="draft_propose"),
    path("incidents/<str:reference>/draft/keep", views.draft_keep, name="draft_keep"),
    path("incidents/<str:reference>/draft/discard", views.draft_discard, name="draft_discard"),
]
