"""The post-mortem's pages: declaring an incident, the incident page edited in place, its rows
and its history."""

from __future__ import annotations

from django.urls import path

from incidents.postmortem import views

urlpatterns = [
    # Before any incidents/<reference>/ pattern, so "new" is never read as a reference.
    path("incidents/new/", views.incident_declare, name="declare"),
    path("incidents/<str:reference>/", views.incident_detail, name="detail"),
    path("incidents/<str:reference>/part/<str:name>", views.fragment, name="fragment"),
    path("incidents/<str:reference>/details/edit", views.details_edit, name="details_edit"),
    path("incidents/<str:reference>/labels/edit", views.tags_edit, name="tags_edit"),
    path("incidents/<str:reference>/text/<str:field>/edit", views.prose_edit, name="prose_edit"),
    path("incidents/<str:reference>/status", views.set_status, name="set_status"),
    path("incidents/<str:reference>/resolve", views.resolve, name="resolve"),
    path(
        "incidents/<str:reference>/postmortem-state",
        views.set_postmortem_state,
        name="set_postmortem_state",
    ),
    path("incidents/<str:reference>/duplicate", views.mark_duplicate, name="mark_duplicate"),
    path(
        "incidents/<str:reference>/duplicate/undo",
        views.unmark_duplicate,
        name="unmark_duplicate",
    ),
    path("incidents/<str:reference>/history/", views.history, name="history"),
    path("incidents/<str:reference>/<str:key>/new", views.section_row_form, name="row_new"),
    path(
        "incidents/<str:reference>/<str:key>/<int:pk>/edit",
        views.section_row_form,
        name="row_edit",
    ),
    path(
        "incidents/<str:reference>/<str:key>/<int:pk>/delete",
        views.section_row_delete,
        name="row_delete",
    ),
    path(
        "incidents/<str:reference>/<str:key>/<int:pk>/move",
        views.section_row_move,
        name="row_move",
    ),
    path(
        "incidents/<str:reference>/timeline/<int:pk>/hidden",
        views.timeline_event_hide,
        name="timeline_hide",
    ),
    path(
        "incidents/<str:reference>/criteria/<int:pk>/done",
        views.criterion_toggle,
        name="criterion_toggle",
    ),
    path(
        "incidents/<str:reference>/actions/<int:pk>/status",
        views.action_item_status,
        name="action_item_status",
    ),
    path("preview", views.markdown_preview, name="preview"),
]
