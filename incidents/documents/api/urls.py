from __future__ import annotations

from django.urls import path

from incidents.documents.api.views import IncidentExportView, IncidentImportView

urlpatterns = [
    # Before the incidents router, whose incidents/<ref> would read "import" as a reference.
    path("incidents/import", IncidentImportView.as_view(), name="incident-import"),
    path("incidents/<str:ref>/export", IncidentExportView.as_view(), name="incident-export"),
]
