from __future__ import annotations

from deployments.views import gate, health, releases

app_name = "deployments"

# Each view module under deployments/views/ owns its URL patterns; add its `*module.urlpatterns`
# here. All of them live under /system/ (see hindsight/urls.py).
urlpatterns: list = [
    *gate.urlpatterns,
    *health.urlpatterns,
    *releases.urlpatterns,
]
