"""Exporting post-mortems: Markdown in the seed's order, JSON in schema hindsight.postmortem/v1,
the download links and views, the CLI, and a fixed number of queries."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from incidents.documents.export_json import SCHEMA
from incidents.documents.exports import export_incident
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    LessonFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small() -> Incident:
    incident = IncidentFactory(title="Queue stuck")
    ActionItemFactory(incident=incident, title="Add a dead-letter queue")
    return incident


@pytest.fixture
def demo() -> Incident:
    call_command("load_demo", stdout=io.StringIO())
    incident = Incident.objects.get(number=1)
    message = Communication(
        incident=incident,
        audience="user_email",
        subject="Brief interruption, now fixed",
        body="Hello,\n\nThe site was down for 16 minutes.",
    )
    message.render_markdown()
    message.save()
    return incident


def test_the_markdown_follows_the_seeds_order_and_holds_every_row_of_the_demo(demo):
    """One test for the demo (loading it is the slow part): order, facts, every row, and action
    items as task lists with priority, kind, owner and due date."""
    text = export_incident(demo.reference, "md").text()

    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == [
        "Summary", "Impact", "Timeline", "Resolution", "Current Status", "Root Cause Analysis",
        "Lessons Learned", "Action Items", "Path Forward", "Communication", "Success Criteria",
        "Final Notes", "Next Step",
    ]  # fmt: skip
    assert text.startswith(f"# {demo.title}\n\n**Reference:** INC-1  \n")
    assert "**Incident Date:** 2026-01-02 06:02 - 06:18 UTC" in text
    assert "**Severity:** SEV1 · Critical" in text
    assert "| Time | Kind | What happened |\n| --- | --- | --- |\n" in text
    for event in demo.timeline_events.all():
        stamp = event.occurred_at.astimezone(UTC).strftime("%H:%M")
        cell = event.text.replace("|", "\\|").replace("\n", "<br>")
        assert f"| {stamp} | {event.get_kind_display()} | {cell} |" in text
    for cause in demo.causes.all():
        assert f"**{cause.title}**" in text
    for lesson in demo.lessons.all():
        assert f"- {lesson.text}" in text
    for criterion in demo.success_criteria.all():
        assert f"- [{'x' if criterion.done else ' '}] {criterion.text}" in text
    for note in demo.final_notes.all():
        assert note.text in text
    for option in demo.priorities.get(order=1).options.all():
        assert f"**{option.label}) {option.title}** · estimate: {option.estimate}" in text
    assert "```\nSubject: Brief interruption, now fixed\n\nHello," in text
    done = demo.action_items.get(title="Roll production back to the last working deployment")
    assert (
        "- [x] Roll production back to the last working deployment p1 mitigate "
        f"@demo-editor due:{done.due_date:%Y-%m-%d}"
    ) in text
    blocking = demo.action_items.filter(blocks_deployments=True).first()
    assert re.search(rf"- \[ \] {re.escape(blocking.title)} p1 .* blocks-deploys\n", text)
    step = demo.action_items.filter(parent__isnull=False).first()
    # Steps are indented under their item.
    assert re.search(rf"\n  - \[ \] {re.escape(step.title)} p\d ", text)
    assert "### Before next deployment" in text


def test_the_json_holds_every_part_in_schema_v1(demo):
    data = export_incident(demo.reference, "json").data
    assert isinstance(data, dict)

    assert data["schema"] == SCHEMA == "hindsight.postmortem/v1"
    assert data["incident"]["reference"] == "INC-1"
    assert data["incident"]["duration_seconds"] == 16 * 60
    assert len(data["timeline"]) == demo.timeline_events.count()
    assert len(data["causes"]) == demo.causes.count()
    assert len(data["action_items"]) == demo.action_items.count()
    assert len(data["path_forward"][0]["options"]) == 3
    assert "Brief interruption, now fixed" in [c["subject"] for c in data["communications"]]
    assert len(data["communications"]) == demo.communications.count()
    steps = [i for i in data["action_items"] if i["parent"]]
    assert {s["parent"] for s in steps} <= {i["id"] for i in data["action_items"]}

    def fields(model, *skip: str) -> set[str]:
        names = {f.name for f in model._meta.concrete_fields if not f.name.endswith("_html")}
        return names - {"incident", *skip}

    # creation_key only tells a second submit of the declare form from a new incident, and
    # import_digest a second import of the same document: bookkeeping, not the post-mortem.
    # proposed_prose is text the draft from the facts proposed, nobody's word until kept.
    assert fields(Incident, "id", "creation_key", "import_digest", "proposed_prose") <= set(
        data["incident"]
    )
    for key, model in (
        ("timeline", TimelineEvent), ("status_items", StatusItem), ("causes", Cause),
        ("lessons", Lesson), ("action_items", ActionItem), ("success_criteria", SuccessCriterion),
        ("path_forward", PathPriority), ("communications", Communication),
        ("final_notes", FinalNote),
    ):  # fmt: skip
        # Hidden timeline lines and proposals nobody kept are left out of the export, so their
        # flags would always be false.
        assert fields(model, "hidden", "proposed") <= set(data[key][0]), key
    assert fields(SolutionOption, "priority") <= set(data["path_forward"][0]["options"][0])
    # What the API documents for it (GET /incidents/{ref}/export), checked as JSON Schema.
    jsonschema.validate(
        json.loads(json.dumps(data)), _as_json_schema(_component("PostmortemExport"))
    )


def _component(name: str) -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    return {**components[name], "components": {"schemas": components}}


def _as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` spelled as JSON Schema, so jsonschema can check it."""
    if isinstance(node, list):
        return [_as_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _as_json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def test_exporting_costs_the_same_queries_for_one_row_or_many(django_assert_num_queries):
    def build(rows: int) -> Incident:
        incident = IncidentFactory(
            resolved_at=datetime(2026, 1, 2, 7, tzinfo=UTC), status="resolved"
        )
        owner = UserFactory()
        for i in range(rows):
            TimelineEventFactory(incident=incident, text=f"event {i}")
            parent = CauseFactory(incident=incident, title=f"cause {i}")
            CauseFactory(incident=incident, title=f"detail {i}", parent=parent)
            LessonFactory(incident=incident, text=f"lesson {i}")
            item = ActionItemFactory(incident=incident, owner=owner, due_date=date(2026, 2, 1))
            ActionItemFactory(
                incident=incident,
                parent=item,
                status=ActionItem.Status.DONE,
                done_at=datetime(2026, 1, 3, tzinfo=UTC),
                done_by=owner,
            )
            SuccessCriterionFactory(incident=incident, text=f"criterion {i}")
        return incident

    small, large = build(1), build(20)
    for fmt in ("md", "json"):
        # the incident, authors, eight sections, options, communications, labels, external
        # references; JSON adds one for the names of the people its rows refer to and one for
        # the attachments
        with django_assert_num_queries(14 if fmt == "md" else 16):
            export_incident(small.reference, fmt)
        with django_assert_num_queries(14 if fmt == "md" else 16):
            export_incident(large.reference, fmt)


# --- Faces --------------------------------------------------------------------------------------


def test_the_download_is_markdown_for_anyone_logged_in(client: Client, small):
    client.force_login(user_with_role("viewer"))

    response = client.get(f"/incidents/{small.reference}/postmortem.md")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{small.reference}-postmortem.md"'
    )
    assert response.content.decode().startswith("# Queue stuck\n")
    json_response = client.get(f"/incidents/{small.reference}/postmortem.json")
    assert json_response["Content-Type"] == "application/json"
    assert json.loads(json_response.content)["schema"] == SCHEMA


def test_the_download_needs_a_login_and_an_existing_incident(client: Client, small):
    assert client.get(f"/incidents/{small.reference}/postmortem.md").status_code == 302
    client.force_login(user_with_role("viewer"))
    assert client.get("/incidents/INC-99/postmortem.md").status_code == 404


def test_the_incident_page_links_the_downloads_and_prints_with_its_own_stylesheet(
    client: Client, small
):
    client.force_login(user_with_role("viewer"))

    html = client.get(f"/incidents/{small.reference}/").content.decode()

    assert f'href="/incidents/{small.reference}/postmortem.md"' in html
    assert f'href="/incidents/{small.reference}/postmortem.json"' in html
    assert re.search(r'<link rel="stylesheet" href="[^"]*css/print\.css" media="print">', html)


def test_the_incident_list_offers_the_import_to_editors_only(client: Client):
    client.force_login(user_with_role("viewer"))
    assert "/incidents/import/" not in client.get("/incidents/").content.decode()
    client.force_login(user_with_role("editor"))
    assert 'href="/incidents/import/"' in client.get("/incidents/").content.decode()


def test_the_command_prints_markdown_or_json(small):
    out = io.StringIO()
    call_command("export_postmortem", small.reference.lower(), stdout=out)
    assert out.getvalue().startswith("# Queue stuck\n")

    out = io.StringIO()
    call_command("export_postmortem", str(small.number), "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["incident"]["title"] == "Queue stuck"


def test_the_command_refuses_an_unknown_reference(db):
    with pytest.raises(CommandError, match="No incident INC-5"):
        call_command("export_postmortem", "INC-5", stdout=io.StringIO())


def test_a_group_heading_is_written_for_each_horizon_in_use():
    incident = IncidentFactory()
    ActionItemFactory(incident=incident, title="Later thing", horizon=Horizon.LONG_TERM)

    text = export_incident(incident.reference, "md").text()

    assert "### Long term\n\n- [ ] Later thing p2 prevent" in text
    assert "### Today" not in text
