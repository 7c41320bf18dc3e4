"""The service face of editing a section as text: apply what a text changes, or find out what it
would do (a dry run, rolled back), through SectionApplier (textedit)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction

from incidents.documents.editing.held import Conflict, written_changes
from incidents.documents.editing.sectiontext import first_day
from incidents.documents.editing.textdiff import Change, Opened, Plan, plan
from incidents.documents.editing.textedit import Rollback, SectionApplier
from incidents.documents.rowtext import RowTextError
from incidents.models import Incident


@dataclass
class Outcome:
    plan: Plan
    errors: list[tuple[int, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    applied: bool = False

    @property
    def changes(self) -> list[Change]:
        return self.plan.changes

    @property
    def empty(self) -> bool:
        return self.plan.empty

    @property
    def applied_changes(self) -> list[Change]:
        """The changes written: all but the held rows' edits and removals."""
        return written_changes(self.plan.changes, self.conflicts)


def section_text_apply(
    *,
    incident: Incident,
    section: str,
    opened: Opened,
    text: str,
    user: User | None,
    dry_run: bool = False,
) -> Outcome:
    """Apply what `text` changes in one transaction, or (dry_run) find out what it would do and
    roll it back. Errors (with line numbers) apply nothing; conflicting rows are held back and
    everything else is written."""
    day = first_day(incident.started_at)
    try:
        the_plan = plan(section, opened, text, day=day)
    except RowTextError as error:
        return Outcome(plan=Plan([], [], {}, []), errors=error.errors)
    outcome = Outcome(plan=the_plan)
    if the_plan.empty:
        return outcome
    applier = SectionApplier(incident, section, the_plan, user)
    try:
        with transaction.atomic():
            applier.run()
            if applier.errors or dry_run:
                raise Rollback()
    except Rollback:
        pass
    outcome.errors = sorted(applier.errors)
    outcome.conflicts = applier.conflicts
    outcome.applied = not (dry_run or applier.errors)
    return outcome
