from __future__ import annotations

import pytest
from django.db import transaction

from core import plugins
from feed.kinds import EventKind
from feed.models import FeedEvent
from feed.services import feed_acting_as, feed_actor, feed_record, feed_token_set
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class _ChangeFailed(Exception):
    pass


def _record_then_fail() -> None:
    with transaction.atomic():
        feed_record(kind=EventKind.INCIDENT_DECLARED, subject_id="INC-1", data={})
        raise _ChangeFailed


def test_an_event_and_its_listeners_roll_back_with_the_change():
    heard: list[FeedEvent] = []
    listener = heard.extend
    plugins.feed_listen(listener)
    try:
        with pytest.raises(_ChangeFailed):
            _record_then_fail()
        assert not FeedEvent.objects.exists()
        assert [event.kind for event in heard] == ["incident.declared"]

        event = feed_record(
            kind=EventKind.ACTION_ITEM_CREATED, subject_id=7, data={"id": 7}, incident="INC-1"
        )
    finally:
        plugins._feed_listeners.remove(listener)
    assert FeedEvent.objects.get().subject_id == "7"
    assert event.subject == "action_item"
    assert event.position is None  # given by the sequencer, to committed rows only


def test_a_token_name_left_behind_outside_a_request_never_names_another_persons_change():
    someone, editor = UserFactory(), UserFactory()
    with feed_acting_as(""):
        feed_token_set("ci-token", owner=someone.pk)  # as a view called without middleware
        assert feed_actor(editor) == editor.username
        assert feed_actor(someone) == "ci-token"
