from __future__ import annotations

from django.urls import path

from incidents.attachments import views

urlpatterns = [
    # The one form of URL the Markdown renderer lets an image load (core.rendering).
    path("attachments/<int:pk>/<str:name>", views.attachment_file, name="attachment_file"),
    path(
        "incidents/<str:reference>/attachments/new",
        views.attachment_upload,
        name="attachment_upload",
    ),
]
