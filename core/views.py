"""A person's own settings, and the people an owner field suggests."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.forms import PreferencesForm
from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from core.selectors import people_matching, reminder_emails_on
from core.services import profile_update
from core.timezones import time_zone_of, time_zone_remember


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = PreferencesForm(
            initial={
                "time_zone": time_zone_of(request.user),
                "reminder_emails": reminder_emails_on(request.user),
            }
        )
        return render(request, "core/preferences.html", {"form": form})
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            profile = profile_update(
                user=request.user,
                time_zone=form.cleaned_data["time_zone"],
                reminder_emails=form.cleaned_data["reminder_emails"],
            )
        except ValidationError as error:
            form.add_error("time_zone", error.message_dict.get("time_zone") or error.messages)
        else:
            reminders = "on" if profile.reminder_emails else "off"
            messages.success(
                request,
                f"Times are now shown in {profile.time_zone}. Reminder emails are {reminders}.",
            )
            response = redirect("preferences")
            time_zone_remember(response, profile.time_zone)
            return response
    return render(request, "core/preferences.html", {"form": form}, status=422)


@require_GET
@login_required
def people(request: AuthenticatedHttpRequest) -> JsonResponse:
    """`?q=` a prefix of a username or name: at most ten active users, for static/js/people.js.
    The names are those any signed-in reader already sees beside the items they own."""
    found = people_matching(request.GET.get("q", "")[:150])
    return JsonResponse(
        {
            "people": [
                {"username": person.get_username(), "name": person.get_full_name()}
                for person in found
            ]
        }
    )
