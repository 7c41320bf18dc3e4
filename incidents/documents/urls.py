from __future__ import annotations

from django.urls import path

from incidents.documents import views
from incidents.documents.editing import doc_views, text_views

urlpatterns = [
    path("incidents/import/", views.import_start, name="import"),
    path("incidents/import/confirm", views.import_confirm, name="import_confirm"),
    path(
        "incidents/<str:reference>/document/edit",
        doc_views.document_edit,
        name="document_edit",
    ),
    path(
        "incidents/<str:reference>/document/paste",
        doc_views.document_paste,
        name="document_paste",
    ),
    path(
        "incidents/<str:reference>/<str:key>/text",
        text_views.section_text,
        name="section_text",
    ),
    path(
        "incidents/<str:reference>/postmortem.md",
        views.postmortem_download,
        {"fmt": "md"},
        name="postmortem_md",
    ),
    path(
        "incidents/<str:reference>/postmortem.json",
        views.postmortem_download,
        {"fmt": "json"},
        name="postmortem_json",
    ),
    path(
        "incidents/<str:reference>/postmortem.zip",
        views.postmortem_bundle_download,
        name="postmortem_zip",
    ),
]
