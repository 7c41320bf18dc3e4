"""An import, planned: the parsed draft plus what its names mean in this database (the service,
owners, authors). Reads only, so the upload preview and `?dry_run=true` can show exactly what an
import would write without writing it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.text import slugify

from deployments.models import Service
from incidents.documents.importer import DocumentError, Draft, parse_postmortem
from incidents.documents.importer.draft import ItemDraft, NoteDraft, Unrecognized
from incidents.documents.selectors import incident_imported_before
from incidents.documents.text import heading_words
from incidents.models import FinalNote, Incident

# "MoodMash - Post-Mortem & Recovery Plan" names its service before the dash, "Checkout API:
# payments failed" before the colon, which people write without a space before it. A hyphen
# inside a name ("checkout-api") is part of it; only a spaced dash separates.
_TITLE_SERVICE_RE = re.compile(
    r"^\s*(?P<name>[^:\u2013\u2014]{2,60}?)(?:\s+[-\u2013\u2014]|\s*:)\s+\S"
)
# What stands before the colon of "Postmortem: ..." or "Incident 2026-01-02: ..." says what
# the document is, not which service; guessing a service from it would file the incident wrongly.
_NOT_A_SERVICE = frozenset({
    "postmortem", "post", "mortem", "incident", "report", "outage", "rca", "retrospective",
    "review", "summary", "sev", "sev1", "sev2", "sev3", "sev4", "p1", "p2", "p3", "update",
})  # fmt: skip


@dataclass
class ImportPlan:
    draft: Draft
    service: Service | None  # None: `new_service` will be created
    new_service: tuple[str, str] | None = None  # (name, slug)
    owners: dict[str, User] = field(default_factory=dict)
    authors: list[User] = field(default_factory=list)
    # The incident this document seems to be already, and why (the same text, or the same
    # service and start): the faces offer to update it instead of making a twin.
    duplicate: Incident | None = None
    duplicate_reason: str = ""

    @property
    def service_label(self) -> str:
        if self.service is not None:
            return f"{self.service.name} ({self.service.slug})"
        assert self.new_service is not None  # set whenever service is None
        name, slug = self.new_service
        return f"{name} ({slug}), a new service"


class AlreadyImported(DocumentError):
    """The document looks imported already; `incident` is the one it was imported as."""

    def __init__(self, incident: Incident, reason: str) -> None:
        super().__init__(
            "duplicate",
            f'This document looks already imported as {incident.reference} "{incident.title}" '
            f"({reason}).",
        )
        self.incident = incident
        self.reason = reason


def _owner_names(items: list[ItemDraft]) -> set[str]:
    names = set()
    stack = list(items)
    while stack:
        item = stack.pop()
        if item.owner:
            names.add(item.owner)
        stack.extend(item.children)
    return names


_NAMED_SLUG_RE = re.compile(r"^(?P<name>.*?)\s*\(`?(?P<slug>[-\w]+)`?\)$")


def _find_service(written: str) -> Service | None:
    """By slug or name, case aside; "MoodMash (`moodmash`)" is a name with its slug."""
    both = _NAMED_SLUG_RE.match(written)
    name, slug = (both.group("name"), both.group("slug")) if both else (written, slugify(written))
    return (
        Service.objects.filter(
            Q(slug__iexact=slug)
            | Q(slug__iexact=name)
            | Q(name__iexact=name)
            | Q(name__iexact=written)
        )
        .order_by("pk")
        .first()
    )


def _new_service(written: str) -> tuple[str, str]:
    both = _NAMED_SLUG_RE.match(written)
    name, slug = (both.group("name"), both.group("slug")) if both else (written, slugify(written))
    return name[:100], slugify(slug)[:100]


def _service(draft: Draft, slug: str | None, create: bool) -> tuple[Service | None, tuple | None]:
    if slug:
        service = Service.objects.filter(slug=slug).first()
        if service is None and create and slugify(slug) == slug:
            draft.report.warnings.append(f'Service "{slug}" does not exist yet; it is created.')
            return None, (slug, slug)
        if service is None:
            raise DocumentError("service", f'There is no service "{slug}".')
        return service, None
    named = draft.service
    if not named:
        guess = _TITLE_SERVICE_RE.match(draft.title)
        named = guess.group("name").strip() if guess and _names_a_service(guess) else ""
    if named:
        service = _find_service(named)
        if service is not None:
            return service, None
        if create and _new_service(named)[1]:
            draft.report.warnings.append(f'Service "{named}" does not exist yet; it is created.')
            return None, _new_service(named)
        raise DocumentError(
            "service",
            f'The document names the service "{named}", which does not exist here; choose one.',
        )
    raise DocumentError("service", "The document does not name its service; choose one.")


def _names_a_service(guess: re.Match[str]) -> bool:
    words = heading_words(guess.group("name")).split()
    return bool(words) and not any(w in _NOT_A_SERVICE or w.isdigit() for w in words)


def _users(names: set[str]) -> dict[str, User]:
    """Users by the names written, exact username first, else the one that differs by case."""
    if not names:
        return {}
    user_model = get_user_model()
    found: dict[str, User] = {}
    lowered = {name.lower() for name in names}
    candidates = user_model.objects.annotate(lowered=Lower(user_model.USERNAME_FIELD)).filter(
        lowered__in=lowered, is_active=True
    )
    by_lower: dict[str, User] = {}
    for user in candidates:
        found[user.get_username()] = user
        by_lower.setdefault(user.lowered, user)
    return {
        name: found.get(name) or by_lower[name.lower()]
        for name in names
        if name.lower() in by_lower
    }


def postmortem_plan(
    *,
    data: bytes | str,
    title: str | None = None,
    service_slug: str | None = None,
    create_service: bool = False,
) -> ImportPlan:
    """Parse `data` and resolve its names; raises DocumentError (code "service" when the
    service cannot be settled)."""
    draft = parse_postmortem(data, title=title)
    service, new_service = _service(draft, service_slug, create_service)
    owner_names = _owner_names(draft.action_items)
    users = _users(owner_names | set(draft.authors) | set(draft.responders))
    owners = {name: users[name] for name in owner_names if name in users}
    unknown = sorted(owner_names - set(owners))
    draft.report.unknown_owners = unknown
    authors = []
    for name in dict.fromkeys([*draft.authors, *draft.responders]):
        if name in users and users[name] not in authors:
            authors.append(users[name])
    missing_authors = [n for n in dict.fromkeys(draft.authors) if n not in users]
    if missing_authors:
        # Not dropped: a note names them, and the report says why they are not authors.
        text = "**Authors:** " + ", ".join(missing_authors)
        draft.final_notes.append(NoteDraft(kind=FinalNote.Kind.OTHER, text=text))
        draft.report.unrecognized.append(Unrecognized(where="", text=text))
        draft.report.count("Other notes (kept verbatim)")
        draft.report.warnings.append(
            "Authors with no Hindsight user (kept in a note): " + ", ".join(missing_authors)
        )
    before = incident_imported_before(
        digest=draft.digest, service=service, started_at=draft.started_at
    )
    duplicate, reason = before if before is not None else (None, "")
    return ImportPlan(
        draft=draft,
        service=service,
        new_service=new_service,
        owners=owners,
        authors=authors,
        duplicate=duplicate,
        duplicate_reason=reason,
    )
