"""Stored HTML follows the renderer: `manage.py rerender_markdown` and the migration that runs it."""

from __future__ import annotations

import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.rendering import render
from incidents.documents.rerendering import STORED_MARKDOWN, stored_markdown_rerender
from incidents.models import Communication, Incident, Maintenance, TimelineEvent
from tests.factories import T0, ActionItemFactory, IncidentFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db

TASKS = "Before we close it:\n- [ ] add the pre-deploy check\n- [x] ~~page the vendor~~"
OLD_HTML = (
    "<p>Before we close it:<br>\n- [ ] add the pre-deploy check<br>\n- [x] ~~page the vendor~~</p>"
)
MIGRATION = "incidents.migrations.0022_rerender_markdown_for_task_lists_and_lists_after_text"


def _stored_as_before() -> tuple[Incident, TimelineEvent]:
    """Rows saved by the earlier renderer: their HTML shows the task list as plain text."""
    incident = IncidentFactory(summary=TASKS, summary_html=OLD_HTML, impact="Checkout was down.")
    incident.impact_html = render(incident.impact)
    incident.save()
    event = TimelineEventFactory(incident=incident, text=TASKS, text_html=OLD_HTML)
    return incident, event


def test_every_model_with_markdown_beside_its_html_is_in_the_list():
    found = {}
    for model in apps.get_app_config("incidents").get_models():
        names = {field.name for field in model._meta.concrete_fields}
        markdown = tuple(
            name for name in sorted(names) if f"{name}_html" in names and not name.endswith("_html")
        )
        if markdown and not model.__name__.startswith("Historical"):
            found[model.__name__] = markdown
    assert found == {name: tuple(sorted(fields)) for name, fields in STORED_MARKDOWN.items()}


def test_the_listed_fields_are_the_ones_the_models_render_on_save():
    for name, fields in STORED_MARKDOWN.items():
        model = apps.get_model("incidents", name)
        declared = getattr(model, "markdown_fields", None)
        if declared is not None:  # Maintenance renders in its service, not through the mixin
            assert tuple(declared) == fields, name


def test_the_command_renders_old_rows_again_and_says_how_many_changed():
    incident, event = _stored_as_before()
    out = StringIO()

    call_command("rerender_markdown", stdout=out)

    incident.refresh_from_db()
    event.refresh_from_db()
    assert '<input type="checkbox" disabled="">' in incident.summary_html
    assert '<input type="checkbox" disabled="" checked=""> <del>page the vendor</del>' in (
        incident.summary_html
    )
    assert event.text_html == incident.summary_html == render(TASKS)
    assert "Incident: 1 changed" in out.getvalue()
    assert "TimelineEvent: 1 changed" in out.getvalue()
    assert "2 rows changed in all" in out.getvalue()


def test_a_second_run_writes_nothing(django_assert_max_num_queries):
    _stored_as_before()
    ActionItemFactory.create_batch(3, detail="Steps:\n- one\n- two")
    stored_markdown_rerender()

    # One read per table (no row changed, so no UPDATE), plus the savepoint.
    with django_assert_max_num_queries(len(STORED_MARKDOWN) + 2):
        assert set(stored_markdown_rerender().values()) == {0}


def test_it_writes_only_the_html_not_the_text_the_version_or_the_history():
    _incident, event = _stored_as_before()
    version = event.version
    history = event.history.count()

    stored_markdown_rerender()

    event.refresh_from_db()
    assert (event.text, event.version, event.history.count()) == (TASKS, version, history)


def test_a_stored_text_the_renderer_now_refuses_keeps_its_html_and_the_rest_goes_on():
    incident, event = _stored_as_before()
    deep = "1. " * 3000  # refused since the renderer's budgets; saved before them
    Incident.objects.filter(pk=incident.pk).update(summary=deep, summary_html="<p>kept</p>")

    stored_markdown_rerender()

    incident.refresh_from_db()
    event.refresh_from_db()
    assert incident.summary_html == "<p>kept</p>"
    assert event.text_html == render(TASKS)


def test_rows_beyond_one_batch_are_all_rendered():
    incident = IncidentFactory()
    TimelineEvent.objects.bulk_create(
        TimelineEvent(incident=incident, occurred_at=T0, text=f"Item {n}:\n- a", text_html="")
        for n in range(7)
    )

    changed = stored_markdown_rerender(batch_size=3)

    assert changed["TimelineEvent"] == 7
    assert set(TimelineEvent.objects.values_list("text_html", flat=True)) >= {
        f"<p>Item {n}:</p>\n<ul>\n<li>a</li>\n</ul>" for n in range(7)
    }


def test_communications_and_maintenance_are_rendered_again_too():
    incident = IncidentFactory()
    communication = Communication.objects.create(
        incident=incident, audience="public", subject="Update", body=TASKS, body_html=OLD_HTML
    )
    window = Maintenance.objects.create(
        title="Database upgrade",
        description=TASKS,
        description_html=OLD_HTML,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
    )

    stored_markdown_rerender()

    communication.refresh_from_db()
    window.refresh_from_db()
    assert communication.body_html == window.description_html == render(TASKS)


def test_the_migration_renders_with_the_models_as_they_were_then():
    incident, event = _stored_as_before()
    module = importlib.import_module(MIGRATION)
    executor = MigrationExecutor(connection)
    before = [("incidents", "0021_incident_import_digest")]
    historical = executor.loader.project_state(before).apps

    module.rerender(historical, None)

    event.refresh_from_db()
    incident.refresh_from_db()
    assert event.text_html == incident.summary_html == render(TASKS)
