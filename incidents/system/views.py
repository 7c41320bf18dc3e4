"""The incident page's "Deployments and health" section, and marking a deployment as the cause.

The section is fetched after the page (htmx, on load) so the post-mortem itself stays as quick
as it was; without JavaScript, its link opens the same section as a page of its own. Its query
count is fixed, whatever the number of deployments and snapshots around the incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required, login_required
from deployments import selectors as system
from deployments.models import Deployment, Service
from incidents.models import Cause, Incident
from incidents.postmortem.views import get_incident
from incidents.system.services import deployment_mark_as_cause

# The strip shows this much before the first failure and after the recovery.
STRIP_MARGIN = timedelta(minutes=15)
# However long an incident ran, the strip draws at most this long a stretch ...
STRIP_MAX_SPAN = timedelta(hours=24)
# ... in at most this many columns; past it, neighbouring snapshots share a column.
STRIP_MAX_COLUMNS = 120
LABEL_WIDTH, CELL_HEIGHT, ROW_GAP, AXIS_HEIGHT = 150, 14, 4, 18


@dataclass
class StripCell:
    x: int
    state: str  # ok, failed, maintenance (failed inside a maintenance window only)
    title: str


@dataclass
class StripRow:
    name: str
    y: int
    cells: list[StripCell] = field(default_factory=list)

    @property
    def text_y(self) -> int:
        return self.y + CELL_HEIGHT - 3


@dataclass
class Strip:
    """A picture of each check's answers: one row per check, one cell per snapshot."""

    start: datetime
    end: datetime
    columns: int
    cell_width: int
    rows: list[StripRow]
    markers: list[tuple[int, str]]  # (x, label): the incident's start and end
    hourly: bool = False  # some columns are rolled-up hours, not snapshots

    @property
    def width(self) -> int:
        return LABEL_WIDTH + self.columns * (self.cell_width + 1)

    @property
    def has_maintenance(self) -> bool:
        return any(cell.state == "maintenance" for row in self.rows for cell in row.cells)

    @property
    def height(self) -> int:
        return len(self.rows) * (CELL_HEIGHT + ROW_GAP) + AXIS_HEIGHT

    @property
    def cell_height(self) -> int:
        return CELL_HEIGHT

    @property
    def axis_y(self) -> int:
        return self.height - 4


def strip_span(found: system.Correlation) -> tuple[datetime, datetime]:
    """From a little before the first failure (or the start) to a little after the recovery."""
    bracket = found.bracketing
    first = min(found.start, bracket.first_failed_at or found.start)
    last = max(found.end, bracket.after.taken_at if bracket.after else found.end)
    start = first - STRIP_MARGIN
    return start, min(last + STRIP_MARGIN, timezone.now(), start + STRIP_MAX_SPAN)


def _column_of(
    times: list[datetime], start: datetime, end: datetime
) -> tuple[int, Callable[[datetime], int]]:
    if len(times) <= STRIP_MAX_COLUMNS:
        index = {moment: i for i, moment in enumerate(times)}
        return len(times), index.__getitem__
    span = (end - start) or timedelta(seconds=1)
    return STRIP_MAX_COLUMNS, lambda moment: min(
        STRIP_MAX_COLUMNS - 1, int((moment - start) / span * STRIP_MAX_COLUMNS)
    )


def check_strip(*, service: Service, found: system.Correlation) -> Strip | None:
    """The strip for the correlation's stretch: one column per snapshot, or per hour where
    retention rolled the results up, so an old incident still shows its health."""
    start, end = strip_span(found)
    answers = system.check_answers_between(service=service, start=start, end=end)
    if not answers:
        return None
    times = sorted({a.at for a in answers})
    columns, column_of = _column_of(times, start, end)
    cell_width = 10 if columns <= 60 else 6
    # {check id: {column: [first, last, failed count, total, last failing answer, excused]}}
    cells: dict[int, dict[int, list[Any]]] = {}
    names: dict[int, str] = {}
    for a in answers:
        names.setdefault(a.health_check_id, a.name)
        cell = cells.setdefault(a.health_check_id, {}).setdefault(
            column_of(a.at), [a.at, a.until, 0, 0, "", 0]
        )
        cell[1] = max(cell[1], a.until)
        cell[2] += a.failed
        cell[3] += a.total
        cell[5] += a.excused
        if a.failed and a.answer:
            cell[4] = a.answer
    rows = []
    for position, (check_id, name) in enumerate(names.items()):
        row = StripRow(name=name, y=position * (CELL_HEIGHT + ROW_GAP))
        for column, (first, last, failed, total, answer, resting) in sorted(
            cells[check_id].items()
        ):
            when = f"{first:%H:%M}" if first == last else f"{first:%H:%M} to {last:%H:%M}"
            if failed:
                counted = "" if total == 1 else f" {failed} of {total}"
                state, said = "failed", f"failed{counted}, {answer or 'answers rolled up'}"
            elif resting:
                counted = "" if total == 1 else f" {resting} of {total}"
                state, said = "maintenance", f"failed{counted} inside a maintenance window"
            else:
                state, said = "ok", "ok" if total == 1 else f"ok ({total} snapshots)"
            title = f"{name} at {when}: {said}"
            row.cells.append(
                StripCell(x=LABEL_WIDTH + column * (cell_width + 1), state=state, title=title)
            )
        rows.append(row)
    markers = []
    for moment, label in ((found.start, "start"), (found.end, "end")):
        if start <= moment <= end and times:
            column = column_of(min(times, key=lambda t: abs(t - moment)))
            markers.append((LABEL_WIDTH + column * (cell_width + 1) - 1, label))
    hourly = any(a.hourly for a in answers)
    return Strip(start, end, columns, cell_width, rows, markers, hourly)


def panel_context(incident: Incident) -> dict[str, Any]:
    found = system.correlation(
        service=incident.service, start=incident.started_at, end=incident.resolved_at
    )
    marked = set(
        # A trigger the draft from the facts proposed is not a cause yet: "Mark as cause" stays,
        # and keeps it.
        Cause.objects.filter(
            incident=incident, deployment__isnull=False, proposed=False
        ).values_list("deployment_id", flat=True)
    )
    return {
        "incident": incident,
        "system": found,
        "what_changed": found.what_changed,
        "strip": check_strip(service=incident.service, found=found),
        # The service as it is now, beside how it was then: an old "up" reads as unknown.
        "health_now": system.service_health_now(service=incident.service),
        "suspect_marked": found.suspect is not None and found.suspect.pk in marked,
        "marked_deployments": marked,
    }


@require_GET
@login_required
def system_panel(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    context = panel_context(incident)
    if request.htmx:
        return render(request, "incidents/sections/system.html", context)
    return render(request, "incidents/system_page.html", context)


@require_POST
@editor_required
def mark_as_cause(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = get_incident(reference)
    deployment = get_object_or_404(
        Deployment.objects.select_related("environment"),
        pk=pk,
        environment__service_id=incident.service_id,
    )
    cause, created = deployment_mark_as_cause(
        incident=incident, deployment=deployment, user=request.user
    )
    if created:
        messages.success(request, f"Recorded as the trigger: {cause.title.replace('`', '')}.")
    else:
        messages.info(request, "This deployment is already among the causes.")
    return redirect(
        f"{reverse('incidents:detail', args=[incident.reference])}#row-causes-{cause.pk}"
    )
