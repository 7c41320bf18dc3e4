"""Reading the facts people write in words: dates, times, ranges, durations, severities,
statuses, owners and due dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from api.serializers import MAX_YEAR as API_MAX_YEAR
from api.serializers import MIN_YEAR as API_MIN_YEAR
from incidents.models import ActionItem, Incident, Severity

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month_name>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DATE_RE = re.compile(
    r"(?P<iso>(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2}))"
    rf"|(?P<md>{_MONTH}\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<md_y>\d{{4}}))"
    rf"|(?P<dm>(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH.replace('month_name', 'dm_month')}\s+(?P<dm_y>\d{{4}}))",
    re.I,
)
TIME_RE = re.compile(
    r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?::(?P<s>[0-5]\d))?(?:\.\d+)?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?"
    r"(?:\s*(?P<tz>UTC|GMT|Z\b|[+-]\d{2}:?\d{2}))?",
    re.I,
)
ZONE_RE = re.compile(
    r"\b(?:UTC|GMT)\s*(?P<offset>[+-]\d{1,2}(?::?\d{2})?)?|(?P<bare>[+-]\d{2}:\d{2})\b"
)
DURATION_PART_RE = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)?)\s*(?P<unit>d(?:ays?)?|h(?:ours?|rs?)?|m(?:in(?:ute)?s?)?|s(?:ec(?:ond)?s?)?)\b",
    re.I,
)
RANGE_SPLIT_RE = re.compile(r"\s+(?:-|\u2013|\u2014|to|until|till)\s+|\s*[\u2013\u2014]\s*")


# The dates an import reads: the API's range, less a year at the top, so that a time zone or an
# end past midnight added to the last day cannot pass the largest date Python holds.
MIN_YEAR = API_MIN_YEAR
MAX_YEAR = API_MAX_YEAR - 1
# Longer than any outage: a duration beyond it is a typo (or an attack on the arithmetic), and
# the line is kept as a note instead.
MAX_DURATION = timedelta(days=366)


def parse_date(text: str) -> date | None:
    """The first date in `text`, or None when there is none or it is outside MIN_YEAR to
    MAX_YEAR (so the line is kept as written, not read)."""
    match = DATE_RE.search(text)
    if not match:
        return None
    try:
        if match.group("iso"):
            found = date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
        elif match.group("md"):
            month = MONTHS[match.group("month_name").lower()]
            found = date(int(match.group("md_y")), month, int(match.group("md_d")))
        else:
            month = MONTHS[match.group("dm_month").lower()]
            found = date(int(match.group("dm_y")), month, int(match.group("dm_d")))
    except ValueError:
        return None
    return found if MIN_YEAR <= found.year <= MAX_YEAR else None


def _zone(text: str) -> timezone | None:
    match = ZONE_RE.search(text)
    if not match:
        return None
    offset = match.group("offset") or match.group("bare")
    if not offset:
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = (
        (int(digits[:-2] or 0), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    )
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _time(match: re.Match[str]) -> time:
    hour = int(match.group("h"))
    ampm = (match.group("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return time(hour, int(match.group("min")), int(match.group("s") or 0))


@dataclass
class Moment:
    """A time of day, maybe with its date and zone, as found in a line."""

    when: time
    day: date | None
    zone: timezone | None
    end: int  # where in the text the time ended

    def on(self, default_day: date, default_zone: timezone = UTC) -> datetime:
        return datetime.combine(
            self.day or default_day, self.when, tzinfo=self.zone or default_zone
        )


def find_moment(text: str) -> Moment | None:
    match = TIME_RE.search(text)
    if not match:
        return None
    zone = match.group("tz")
    day_match = DATE_RE.search(text[: match.start()])
    return Moment(
        when=_time(match),
        day=parse_date(day_match.group(0)) if day_match else None,
        zone=_zone(zone) if zone else _zone(text[match.end() :][:12]),
        end=match.end(),
    )


@dataclass
class Span:
    start: datetime | None
    end: datetime | None


def parse_span(text: str, default_day: date | None) -> Span:
    """ "2026-01-02 06:02 - 06:18 UTC", "Jan 2, 2026 23:50 to Jan 3 00:10", or one moment."""
    parts = RANGE_SPLIT_RE.split(text, maxsplit=1)
    zone = _zone(text) or UTC
    day = parse_date(text) or default_day
    start = find_moment(parts[0])
    if start is None or day is None:
        return Span(None, None)
    begin = start.on(day, start.zone or zone)
    if len(parts) < 2:
        return Span(begin, None)
    stop = find_moment(parts[1])
    if stop is None:
        return Span(begin, None)
    finish = stop.on(stop.day or begin.date(), stop.zone or zone)
    if finish < begin and stop.day is None:
        finish += timedelta(days=1)  # 23:50 - 00:10 runs past midnight
    return Span(begin, finish)


def parse_datetime(text: str, default_day: date | None) -> datetime | None:
    moment = find_moment(text)
    written_day = parse_date(text)
    day = written_day or default_day
    if moment is None:
        return datetime.combine(written_day, time(0), tzinfo=UTC) if written_day else None
    if day is None:
        return None
    return moment.on(day, moment.zone or _zone(text) or UTC)


def parse_duration(text: str) -> timedelta | None:
    """ "16 minutes", "1h 20m", "1:20"; None when there is none or it is longer than
    MAX_DURATION."""
    total = timedelta()
    found = False
    for match in DURATION_PART_RE.finditer(text):
        amount = float(match.group("n").replace(",", "."))
        if amount > MAX_DURATION.total_seconds():  # beyond it in any unit; timedelta overflows
            return None
        unit = match.group("unit").lower()[0]
        total += {
            "d": timedelta(days=amount),
            "h": timedelta(hours=amount),
            "m": timedelta(minutes=amount),
            "s": timedelta(seconds=amount),
        }[unit]
        if total > MAX_DURATION:  # checked as it grows: many parts could still overflow
            return None
        found = True
    if not found:
        clock = re.fullmatch(r"\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*", text)
        if clock:
            return timedelta(
                hours=int(clock.group(1)),
                minutes=int(clock.group(2)),
                seconds=int(clock.group(3) or 0),
            )
        return None
    return total if total <= MAX_DURATION else None


def describe_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts) or f"{int(value.total_seconds())} seconds"


_SEVERITY_WORDS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"\bsev(?:erity)?[\s\-_]*([0-5])\b", re.I), None),
    (
        re.compile(r"\b(critical|emergency|blocker|complete outage|total outage)\b", re.I),
        Severity.SEV1,
    ),
    (re.compile(r"\b(major|high|severe)\b", re.I), Severity.SEV2),
    (re.compile(r"\b(medium|moderate|normal)\b", re.I), Severity.SEV3),
    (re.compile(r"\b(low|minor|trivial|cosmetic)\b", re.I), Severity.SEV4),
    (re.compile(r"^\s*\**p([0-4])\b", re.I), None),
)


def parse_severity(text: str) -> str | None:
    """The earliest severity word in the text: "Critical (Complete Outage)" -> sev1,
    "SEV-2" -> sev2."""
    best: tuple[int, str] | None = None
    for pattern, severity in _SEVERITY_WORDS:
        match = pattern.search(text)
        if not match:
            continue
        if severity is None:
            number = int(match.group(1))
            severity = Severity.values[min(max(number, 1), 4) - 1]
        if best is None or match.start() < best[0]:
            best = (match.start(), severity)
    return best[1] if best else None


_STATUS_WORDS = (
    (
        re.compile(r"\b(resolved|closed|fixed|complete|completed|done|restored|over)\b", re.I),
        Incident.Status.RESOLVED,
    ),
    (re.compile(r"\b(monitoring|mitigated|stable)\b", re.I), Incident.Status.MONITORING),
    (re.compile(r"\b(identified)\b", re.I), Incident.Status.IDENTIFIED),
    (re.compile(r"\b(investigating|ongoing|open|active)\b", re.I), Incident.Status.INVESTIGATING),
)


def parse_status(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for pattern, status in _STATUS_WORDS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), status)
    return best[1] if best else None


def parse_postmortem_state(text: str) -> str | None:
    words = text.lower()
    if "review" in words:
        return Incident.PostmortemState.IN_REVIEW
    if "publish" in words or "final" in words:
        return Incident.PostmortemState.PUBLISHED
    if "draft" in words:
        return Incident.PostmortemState.DRAFT
    return None


ACTION_KINDS = {
    "prevent": ActionItem.Kind.PREVENT, "prevention": ActionItem.Kind.PREVENT,
    "preventive": ActionItem.Kind.PREVENT, "preventative": ActionItem.Kind.PREVENT,
    "mitigate": ActionItem.Kind.MITIGATE, "mitigation": ActionItem.Kind.MITIGATE,
    "repair": ActionItem.Kind.MITIGATE, "fix": ActionItem.Kind.MITIGATE,
    "process": ActionItem.Kind.PROCESS, "documentation": ActionItem.Kind.PROCESS,
    "detect": ActionItem.Kind.DETECT, "detection": ActionItem.Kind.DETECT,
    "monitoring": ActionItem.Kind.DETECT, "alerting": ActionItem.Kind.DETECT,
}  # fmt: skip
PRIORITIES = {"p0": "p1", "p1": "p1", "p2": "p2", "p3": "p3", "p4": "p3"}
ITEM_STATUSES = {
    "in progress": ActionItem.Status.IN_PROGRESS,
    "started": ActionItem.Status.IN_PROGRESS,
    "wont do": ActionItem.Status.WONT_DO,
    "won't do": ActionItem.Status.WONT_DO,
    "cancelled": ActionItem.Status.WONT_DO,
    "done": ActionItem.Status.DONE,
    "complete": ActionItem.Status.DONE,
    "completed": ActionItem.Status.DONE,
    "fixed": ActionItem.Status.DONE,
    "open": ActionItem.Status.OPEN,
    "todo": ActionItem.Status.OPEN,
    "to do": ActionItem.Status.OPEN,
    "not started": ActionItem.Status.OPEN,
}
