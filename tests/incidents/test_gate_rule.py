"""The gate rule incidents owns: open action items that block deployments hold the gate shut."""

from __future__ import annotations

import pytest

from deployments import gate, services
from deployments.models import GateRule, GateRun
from incidents.postmortem.services import action_item_complete
from incidents.system.gate import blocking_action_items
from tests.factories import (
    ActionItemFactory,
    EnvironmentFactory,
    IncidentFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

MANIFEST = [{"path": "_worker.js", "size": 419_952, "sha256": "a" * 64}]


@pytest.fixture
def production():
    environment = EnvironmentFactory(service__slug="moodmash", name="production")
    services.gate_rule_create(environment=environment, kind=GateRule.Kind.BLOCKING_ACTION_ITEMS)
    return environment


def ask(environment) -> GateRun:
    return services.gate_evaluate(
        service=environment.service,
        environment=environment,
        commit_sha="c0ffee1",
        manifest=MANIFEST,
    )


def test_incidents_registers_its_rule_when_the_app_is_ready():
    assert gate.implementation(GateRule.Kind.BLOCKING_ACTION_ITEMS) is blocking_action_items


def test_an_open_blocking_item_blocks_and_is_named(production):
    incident = IncidentFactory(service=production.service, number=7)
    item = ActionItemFactory(
        incident=incident,
        title="Fail the build when _worker.js is missing",
        blocks_deployments=True,
    )
    run = ask(production)
    assert run.verdict == GateRun.Verdict.BLOCK
    (reason,) = run.reasons
    assert reason["rule"] == "blocking_action_items"
    assert reason["outcome"] == "block"
    assert "INC-7: Fail the build when _worker.js is missing" in reason["message"]
    assert reason["found"]["items"] == [
        {
            "id": item.pk,
            "reference": "INC-7",
            "title": "Fail the build when _worker.js is missing",
            "status": "open",
            "url": f"/incidents/INC-7/#row-actions-{item.pk}",
        }
    ]


def test_every_blocking_item_is_named_and_no_other(production):
    incident = IncidentFactory(service=production.service, number=3)
    ActionItemFactory(incident=incident, title="First", blocks_deployments=True)
    ActionItemFactory(
        incident=incident, title="Second", blocks_deployments=True, status="in_progress"
    )
    ActionItemFactory(incident=incident, title="Not blocking")
    other_service = IncidentFactory(number=4)
    ActionItemFactory(incident=other_service, title="Elsewhere", blocks_deployments=True)
    (reason,) = ask(production).reasons
    assert [item["title"] for item in reason["found"]["items"]] == ["First", "Second"]
    assert reason["message"].startswith("2 open action items must be finished")


def test_the_gate_passes_once_the_items_are_done(production):
    incident = IncidentFactory(service=production.service)
    item = ActionItemFactory(incident=incident, blocks_deployments=True)
    assert ask(production).verdict == GateRun.Verdict.BLOCK
    action_item_complete(item=item, user=None)
    run = ask(production)
    assert run.verdict == GateRun.Verdict.PASS
    assert run.reasons[0]["found"] == {"items": []}
    assert run.reasons[0]["message"] == "No open action item of moodmash blocks deployments."


def test_a_wont_do_item_no_longer_blocks(production):
    incident = IncidentFactory(service=production.service)
    ActionItemFactory(incident=incident, blocks_deployments=True, status="wont_do")
    assert ask(production).verdict == GateRun.Verdict.PASS


def test_the_gate_page_links_each_blocking_item(client, production):
    incident = IncidentFactory(service=production.service, number=9)
    item = ActionItemFactory(incident=incident, title="Add a build check", blocks_deployments=True)
    ask(production)
    client.force_login(user_with_role("viewer"))
    html = client.get("/system/moodmash/production/gate/").content.decode()
    assert f'<a href="/incidents/INC-9/#row-actions-{item.pk}">INC-9: Add a build check</a>' in html
