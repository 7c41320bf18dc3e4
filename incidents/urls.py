from __future__ import annotations

from django.urls import include, path

from incidents.views import (
    action_items,
    communications,
    dashboard,
    documents,
    history,
    incident_page,
    maintenance,
    section_rows,
    status_page,
    system_panel,
    transfer,
)

app_name = "incidents"

# Each view module owns its URL patterns; this list only gathers them. incident_page comes after
# documents, whose fixed paths (incidents/new/) must win over incidents/<reference>/.
urlpatterns = [
    # The public status page, its feeds and subscriber pages: the only pages without a login.
    # First, so that the page everyone refreshes during an outage resolves in the fewest steps.
    path("status/", include(status_page.urlpatterns)),
    *dashboard.urlpatterns,
    *documents.urlpatterns,
    *transfer.urlpatterns,
    *history.urlpatterns,
    *incident_page.urlpatterns,
    # Before section_rows, whose incidents/<reference>/<section>/<pk>/... would take them.
    *communications.urlpatterns,
    *section_rows.urlpatterns,
    *system_panel.urlpatterns,
    *action_items.urlpatterns,
    path("maintenance/", include(maintenance.urlpatterns)),
]
