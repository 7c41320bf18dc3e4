"""What the import got wrong when documents in other layouts were tried: each case from a small
document of its own."""

from __future__ import annotations

import pytest

from incidents.documents.importer import DocumentError, parse_postmortem
from incidents.documents.plan import postmortem_plan
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


# --- The title names the service ----------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    ["Checkout API: card payments failed", "Checkout API : card payments failed"],
)
def test_a_title_names_its_service_before_a_colon_with_or_without_a_space(title):
    service = ServiceFactory(name="Checkout API", slug="checkout-api")

    plan = postmortem_plan(data=f"# {title}\n\n- [ ] Add a retry\n")

    assert plan.service == service


def test_a_hyphenated_service_name_before_a_colon_is_one_name():
    service = ServiceFactory(name="Ledger Sync", slug="ledger-sync")

    plan = postmortem_plan(data="# ledger-sync: nightly run stalled\n\n- [ ] Add a timeout\n")

    assert plan.service == service


@pytest.mark.parametrize(
    "title", ["Postmortem: the queue backed up", "Incident 2026-03-04: the queue backed up"]
)
def test_a_title_that_opens_with_what_the_document_is_names_no_service(title):
    ServiceFactory(name="Postmortem", slug="postmortem")

    with pytest.raises(DocumentError, match="does not name its service"):
        postmortem_plan(data=f"# {title}\n\n- [ ] Add a retry\n")


# --- A narrative without times ------------------------------------------------------------------

STORY = """# Search - Slow results

**Incident Date:** 2026-03-04 14:10 - 14:50 UTC

## What happened

1. A reindex job started on the primary node
2. Queries queued behind the reindex
3. Results took twenty seconds to come back
"""


def test_numbered_steps_without_times_stay_narrative_in_the_summary():
    draft = parse_postmortem(STORY)

    assert draft.timeline == []
    assert draft.summary == (
        "1. A reindex job started on the primary node\n"
        "2. Queries queued behind the reindex\n"
        "3. Results took twenty seconds to come back"
    )
    assert not any("had no time" in warning for warning in draft.report.warnings)


def test_steps_with_times_in_what_happened_are_still_the_timeline():
    draft = parse_postmortem(
        STORY.replace("1. A reindex", "1. 14:10 A reindex").replace(
            "2. Queries", "2. 14:12 Queries"
        )
    )

    assert [(f"{e.occurred_at:%H:%M}", e.text) for e in draft.timeline] == [
        ("14:10", "A reindex job started on the primary node"),
        ("14:12", "Queries queued behind the reindex"),
        ("14:10", "Results took twenty seconds to come back"),
    ]
    assert draft.summary == ""


# --- Action item titles -------------------------------------------------------------------------


def _titles(markdown: str) -> list[tuple[str, str, str | None]]:
    draft = parse_postmortem(f"# Queue - Backlog\n\n## Action items\n\n{markdown}")
    return [(i.title, i.owner, i.priority) for i in draft.action_items]


@pytest.mark.parametrize(
    ("line", "title"),
    [
        (
            "Lock deploys so two never run concurrently ([runbook](https://wiki.example.org/ops/deploy-lock))",
            "Lock deploys so two never run concurrently ([runbook](https://wiki.example.org/ops/deploy-lock))",
        ),
        (
            "Lock deploys so two never run concurrently (see https://git.example.org/@platform/deployer/issues/7)",
            "Lock deploys so two never run concurrently (see https://git.example.org/@platform/deployer/issues/7)",
        ),
        (
            "Mail the on-call list when the lock is stuck (oncall@example.org)",
            "Mail the on-call list when the lock is stuck (oncall@example.org)",
        ),
        (
            "Pin `@types/node` so the build stops drifting (by 2026 at the latest)",
            "Pin `@types/node` so the build stops drifting (by 2026 at the latest)",
        ),
        (
            "Decide who owns the deploy lock (ask @rin or @tomas)",
            "Decide who owns the deploy lock (ask @rin or @tomas)",
        ),
    ],
)
def test_an_action_item_keeps_its_parentheses_links_and_code_whole(line, title):
    assert _titles(f"- [ ] {line}\n") == [(title, "", "p2")]


def test_an_owner_and_priority_in_brackets_of_their_own_leave_no_empty_brackets_behind():
    assert _titles(
        "- [ ] Lock deploys so two never run concurrently (@rin)\n"
        "- [ ] Alert when a deploy waits on the lock (P1, @tomas)\n"
    ) == [
        ("Lock deploys so two never run concurrently", "rin", "p2"),
        ("Alert when a deploy waits on the lock", "tomas", "p1"),
    ]


# --- Group labels inside a to-do list and qualifiers in headings ----------------------------------


def _items(draft) -> list[tuple[str, str, str]]:
    return [(i.title, i.horizon, i.status) for i in draft.action_items]


def test_group_labels_nested_in_a_task_list_are_horizons_not_open_items():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n## Follow-ups\n\n"
        "- [ ] Today\n"
        "  - [ ] Drain the dead-letter queue\n"
        "  - [x] Page the storage team\n"
        "- [ ] **This week (Next 2-3 Hours):**\n"
        "  - [ ] Alert on queue depth\n"
    )

    assert _items(draft) == [
        ("Drain the dead-letter queue", "today", "open"),
        ("Page the storage team", "today", "done"),
        ("Alert on queue depth", "this_week", "open"),
    ]
    # The label's qualifier says more than the horizon does: kept, as a note.
    assert [n.text for n in draft.final_notes] == ["This week (Next 2-3 Hours)"]


def test_group_labels_on_lines_of_their_own_set_the_horizon_of_the_items_after_them():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n## To do\n\n"
        "**Today:**\n- [ ] Drain the dead-letter queue\n\n"
        "Long term\n- [ ] Move the queue to its own disks\n"
    )

    assert _items(draft) == [
        ("Drain the dead-letter queue", "today", "open"),
        ("Move the queue to its own disks", "long_term", "open"),
    ]


def test_an_item_that_only_mentions_a_horizon_stays_an_item_with_its_steps():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n## To do\n\n- [ ] Finish today\n  - [ ] Drain the queue\n"
    )

    assert [(i.title, [c.title for c in i.children]) for i in draft.action_items] == [
        ("Finish today", ["Drain the queue"])
    ]


def test_a_qualifier_in_a_prose_heading_opens_its_text():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n## Impact (Complete Outage)\n\nNo message was delivered.\n"
    )

    assert draft.impact == "(Complete Outage)\n\nNo message was delivered."


def test_a_qualifier_in_a_list_heading_is_kept_as_a_note_and_reported():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n## Current status\n\n"
        "### Production (https://queue.example.org)\n\n- ✅ **Consumers:** running\n\n"
        "### Known issues (pre-existing)\n\n- Slow admin page\n"
    )

    assert [s.label for s in draft.status_items] == ["Consumers", "Slow admin page"]
    assert [n.text for n in draft.final_notes] == ["Production (https://queue.example.org)"]
    assert [u.where for u in draft.report.unrecognized] == [
        "Current status > Production (https://queue.example.org)"
    ]


def test_a_severity_with_a_qualifier_keeps_its_words_in_the_impact():
    draft = parse_postmortem("# Queue - Backlog\n\n**Severity:** Major (Half the consumers down)\n")

    assert draft.severity == "sev2"
    assert draft.impact == "Severity: Major (Half the consumers down)"


# --- The timeline as a table --------------------------------------------------------------------


def test_a_timeline_table_of_time_kind_and_text_is_read_with_lines_and_pipes_whole():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n**Incident Date:** 2026-03-04\n\n## Timeline\n\n"
        "| Time | Kind | What happened |\n| --- | --- | --- |\n"
        "| 14:10 | Trigger | Reindex started<br>on the primary |\n"
        "| 14:25 | Note | Ran `grep a \\| wc -l` on the logs |\n"
        "| 2026-03-05 00:05 | Resolved | Queue drained |\n"
    )

    assert [(f"{e.occurred_at:%d %H:%M}", e.kind, e.text) for e in draft.timeline] == [
        ("04 14:10", "trigger", "Reindex started\non the primary"),
        ("04 14:25", "note", "Ran `grep a | wc -l` on the logs"),
        ("05 00:05", "resolved", "Queue drained"),
    ]


def test_the_timeline_list_form_is_still_read():
    draft = parse_postmortem(
        "# Queue - Backlog\n\n**Incident Date:** 2026-03-04\n\n## Timeline\n\n"
        "- **14:10** · Trigger · Reindex started\n- 14:30 Queue drained\n"
    )

    assert [(f"{e.occurred_at:%H:%M}", e.kind, e.text) for e in draft.timeline] == [
        ("14:10", "trigger", "Reindex started"),
        ("14:30", "note", "Queue drained"),
    ]


# --- The incident's status line ------------------------------------------------------------------


def test_the_incidents_status_line_keeps_a_warning_sign_and_drops_a_tick():
    warned = parse_postmortem(
        "# Queue - Backlog\n\n**Status:** 🟡 Mitigated - consumers catching up\n"
    )
    ticked = parse_postmortem("# Queue - Backlog\n\n**Status:** ✅ Resolved - queue empty\n")

    assert (warned.status_line, warned.status) == (
        "⚠️ Mitigated - consumers catching up",
        "monitoring",
    )
    assert ticked.status_line == "Resolved - queue empty"
