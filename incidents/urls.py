from __future__ import annotations

from incidents.views import action_items, dashboard, documents

app_name = "incidents"

# Each view module owns its URL patterns; this list only gathers them.
urlpatterns = [
    *dashboard.urlpatterns,
    *documents.urlpatterns,
    *action_items.urlpatterns,
]
