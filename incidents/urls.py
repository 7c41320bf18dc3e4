from __future__ import annotations

from incidents.views import (
    action_items,
    dashboard,
    documents,
    history,
    incident_page,
    section_rows,
)

app_name = "incidents"

# Each view module owns its URL patterns; this list only gathers them. incident_page comes after
# documents, whose fixed paths (incidents/new/) must win over incidents/<reference>/.
urlpatterns = [
    *dashboard.urlpatterns,
    *documents.urlpatterns,
    *history.urlpatterns,
    *incident_page.urlpatterns,
    *section_rows.urlpatterns,
    *action_items.urlpatterns,
]
