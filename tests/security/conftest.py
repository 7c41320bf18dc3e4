"""Fixtures of the security suite: the XSS corpus's world (xss_world.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.communications.defaults import default_templates_ensure
from incidents.documents.services import postmortem_import
from incidents.statuspage.services import component_save, maintenance_create
from tests.factories import (
    ServiceFactory,
    user_with_role,
)
from tests.security.payloads import PAYLOADS, marked
from tests.security.xss_world import PROSE, World, document, prose_everywhere, published_update


@pytest.fixture
def world(client) -> World:
    service = ServiceFactory(slug="shop", name=marked(1, "<svg onload=alert(1)>")[:100])
    editor = user_with_role("editor")
    incident = postmortem_import(data=document(), user=editor, service_slug=service.slug).incident
    client.force_login(editor)
    return World(incident, client, editor)


@pytest.fixture
def public(world):
    """The imported incident with its prose, a published status page update carrying every
    payload, components and a maintenance window named with them."""
    default_templates_ensure()
    prose_everywhere(world)
    update = published_update(world)
    for n in range(0, len(PAYLOADS), 8):
        component_save(name=marked(n, PAYLOADS[n])[:100], order=n)
    now = timezone.now()
    maintenance = maintenance_create(
        title=marked(6, "<img src=x onerror=alert(1)>"),
        description=PROSE,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=1),
    )
    return update, maintenance
