"""A person's own settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.forms import PreferencesForm
from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from core.services import profile_update
from core.timezones import time_zone_of, time_zone_remember


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = PreferencesForm(initial={"time_zone": time_zone_of(request.user)})
        return render(request, "core/preferences.html", {"form": form})
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            profile = profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except ValidationError as error:
            form.add_error("time_zone", error.message_dict.get("time_zone") or error.messages)
        else:
            messages.success(request, f"Times are now shown in {profile.time_zone}.")
            response = redirect("preferences")
            time_zone_remember(response, profile.time_zone)
            return response
    return render(request, "core/preferences.html", {"form": form}, status=422)
