"""The API's docs page (Swagger UI over the schema), behind a login like every other page."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, its start-up script served as a file (the CSP refuses inline scripts).

    A browser that is not signed in is sent to sign in and back, as every other page does; a
    request that brought credentials of its own (a token) still gets the API's 401 problem."""

    permission_classes = [IsAuthenticated]
    template_name = "api/swagger_ui.html"
    url_name = "api-schema"

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, NotAuthenticated) and "HTTP_AUTHORIZATION" not in self.request.META:
            return redirect_to_login(self.request.get_full_path())  # type: ignore[return-value]
        return super().handle_exception(exc)
