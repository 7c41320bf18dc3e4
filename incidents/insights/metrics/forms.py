"""The metrics page's filters: a GET form, its errors beside the fields, and the scope it yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from deployments.models import Service
from incidents.models import Severity

# A year of months by default: enough to see a trend, short enough to read month by month.
DEFAULT_MONTHS = 12
# Longer ranges make charts no one can read (and months the axis cannot label).
MAX_DAYS = 366 * 10


def months_back(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Scope:
    """What the charts count: one service or all, one severity or all, a range of whole days."""

    start: date
    end: date  # inclusive
    service: Service | None = None
    severity: str = ""

    @property
    def start_at(self) -> datetime:
        return _day_start(self.start)

    @property
    def end_before(self) -> datetime:
        return _day_start(self.end + timedelta(days=1))

    @property
    def months(self) -> list[date]:
        """The first day of every month the range touches, in order."""
        first = date(self.start.year, self.start.month, 1)
        months = []
        while first <= self.end:
            months.append(first)
            first = months_back(first, -1)
        return months

    @property
    def weeks(self) -> list[date]:
        """The Monday of every week the range touches, in order."""
        monday = self.start - timedelta(days=self.start.weekday())
        weeks = []
        while monday <= self.end:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks


def default_scope(today: date) -> Scope:
    """The last twelve whole months and this one so far."""
    return Scope(start=months_back(today, DEFAULT_MONTHS), end=today)


class MetricsFilterForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All services",
    )
    severity = forms.ChoiceField(
        choices=[("", "All severities"), *Severity.choices],
        required=False,
        help_text="Counts incidents of this severity, and what they caused.",
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        default = default_scope(today)
        # Shown in the empty fields, so the page says which range it drew.
        self.fields["date_from"].widget.attrs["placeholder"] = default.start.isoformat()
        self.fields["date_to"].widget.attrs["placeholder"] = default.end.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "This date is before the “from” date.")
        elif "date_from" in cleaned and "date_to" in cleaned:
            start, end = self._range(start, end)
            if (end - start).days > MAX_DAYS:
                self.add_error("date_from", "Choose a range of at most ten years.")
        return cleaned

    def _range(self, start: date | None, end: date | None) -> tuple[date, date]:
        """Empty dates filled in: no end is today, no start a year before the end."""
        if start and not end:
            end = max(start, self.today)
        if end and not start:
            start = months_back(end, DEFAULT_MONTHS)
        default = default_scope(self.today)
        return start or default.start, end or default.end

    def scope(self) -> Scope:
        """The scope the valid form asks for."""
        data = self.cleaned_data
        start, end = self._range(data.get("date_from"), data.get("date_to"))
        return Scope(
            start=start,
            end=end,
            service=data.get("service"),
            severity=data.get("severity") or "",
        )
