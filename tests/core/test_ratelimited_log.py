"""A warning that repeats on every request is logged once a minute, saying how many it held back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.ratelimited_log import RateLimitedLog

START = datetime(2031, 5, 1, 9, 0, tzinfo=UTC)
NAME = "tests.ratelimited"


@pytest.fixture(autouse=True)
def warnings_captured(caplog) -> None:
    # On the logger itself: an earlier test (a Celery worker's logging setup) may have raised
    # the root logger's level.
    caplog.set_level(logging.WARNING, logger=NAME)


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_the_same_message_is_logged_once_a_minute_then_says_how_many_it_held_back(caplog):
    log = RateLimitedLog(logging.getLogger(NAME), seconds=60)
    with time_machine.travel(START, tick=False) as clock:
        assert log.warning("Cache down: %s", "refused") is True
        for _ in range(5):
            assert log.warning("Cache down: %s", "refused") is False
        clock.shift(timedelta(seconds=59))
        assert log.warning("Cache down: %s", "timeout") is False
        clock.shift(timedelta(seconds=1))
        assert log.warning("Cache down: %s", "timeout") is True
        assert log.warning("Cache down: %s", "timeout") is False
    assert messages(caplog) == ["Cache down: refused", "Cache down: timeout (6 more since)"]
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_each_message_has_its_own_minute(caplog):
    log = RateLimitedLog(logging.getLogger(NAME))
    with time_machine.travel(START, tick=False):
        log.warning("Cache down")
        log.warning("Broker down")
        log.warning("Cache down")
    assert messages(caplog) == ["Cache down", "Broker down"]


def test_a_clock_set_back_logs_at_once_rather_than_stay_silent(caplog):
    log = RateLimitedLog(logging.getLogger(NAME))
    with time_machine.travel(START, tick=False) as clock:
        log.warning("Cache down")
        clock.shift(timedelta(hours=-1))
        log.warning("Cache down")
    assert messages(caplog) == ["Cache down", "Cache down"]
