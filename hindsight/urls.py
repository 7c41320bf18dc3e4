from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from api.docs import DocsView
from api.problems import unknown_api_url
from core.timezones import ZoneLoginView
from incidents.urls import api_urlpatterns as incidents_api

api_v1 = [
    path("", include("api.api_urls")),
    path("", include("feed.api.urls")),
    path("", include("deployments.api.urls")),
    path("", include(incidents_api)),
]

urlpatterns = [
    path("login/", ZoneLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # Right after the API's routes: whatever they did not take is a problem 404, also under
    # DEBUG, where Django answers an unresolved URL with its HTML page and not handler404.
    re_path(r"^api/v1/(?P<rest>.*)$", unknown_api_url),
    # The schema and its docs are behind a login like every other page.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="api-schema",
    ),
    path("api/docs/", DocsView.as_view(), name="api-docs"),
    path("", include("api.urls")),
    path("", include("core.urls")),
    path("system/", include("deployments.urls")),
    path("", include("incidents.urls")),
]

# Unknown URLs under /api/ answer a problem+json 404 like the rest of the API.
handler404 = "api.problems.not_found"
handler400 = "api.problems.bad_request"
handler500 = "api.problems.server_error"
