"""api.reads.Times writes every time as DRF's DateTimeField would, whatever its fast path."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

from django.utils import timezone as django_timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from api.reads import Times

# Every zone a person may choose is answered in; UTC is the default and every token's zone.
ZONES = ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham"]

# Aware times across the whole range datetime holds, with and without microseconds; the
# offsets include the odd ones of history (Paris kept +00:09:21 until 1911).
aware_times = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30, 23, 59, 59, 999999),
    ),
    st.sampled_from(
        [
            UTC,
            zoneinfo.ZoneInfo("UTC"),
            zoneinfo.ZoneInfo("Europe/Paris"),
            timezone(timedelta(hours=-5)),
            timezone(timedelta(hours=5, minutes=30)),
        ]
    ),
)


def drf(value: datetime) -> str:
    return serializers.DateTimeField().to_representation(value)


@settings(max_examples=300, deadline=None)
@given(value=aware_times, zone=st.sampled_from(ZONES))
def test_times_are_written_as_drf_writes_them_in_every_zone(value, zone):
    with django_timezone.override(zoneinfo.ZoneInfo(zone)):
        assert Times()(value) == drf(value)


@settings(max_examples=2000, deadline=None)
@given(value=aware_times)
def test_times_in_utc_are_written_as_drf_writes_them(value):
    # UTC takes the fast path: many more examples here.
    with django_timezone.override(zoneinfo.ZoneInfo("UTC")):
        assert Times()(value) == drf(value)


def test_a_time_with_microseconds_keeps_them_and_ends_in_z():
    with django_timezone.override(zoneinfo.ZoneInfo("UTC")):
        times = Times()
        assert (
            times(datetime(2026, 1, 2, 6, 0, 5, 120, tzinfo=UTC)) == "2026-01-02T06:00:05.000120Z"
        )
        assert times(datetime(2026, 1, 2, 6, 0, tzinfo=UTC)) == "2026-01-02T06:00:00Z"
        assert times(None) is None


def test_a_time_in_another_zone_is_written_with_its_offset():
    with django_timezone.override(zoneinfo.ZoneInfo("Europe/Paris")):
        assert Times()(datetime(2026, 7, 2, 6, 0, tzinfo=UTC)) == "2026-07-02T08:00:00+02:00"
