from __future__ import annotations

from django.urls import path

from incidents.attachments.api.views import IncidentAttachmentsView

urlpatterns = [
    path(
        "incidents/<str:ref>/attachments",
        IncidentAttachmentsView.as_view(),
        name="incident-attachments",
    ),
]
