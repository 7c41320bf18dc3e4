"""Changes that are not deployments: recorded once per external id, listed around a moment with
the deployments, and suspected like a deployment when they come just before health turned red."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from deployments import selectors
from deployments.models import Change, Environment, MaintenanceWindow
from deployments.services import change_record
from tests.deployments.test_correlation import System, at
from tests.factories import (
    T0,
    ChangeFactory,
    EnvironmentFactory,
    MaintenanceWindowFactory,
    ServiceFactory,
    user_with_role,
)
from tests.helpers import assert_violates, run_in_threads

pytestmark = pytest.mark.django_db


class TestRecord:
    def test_a_change_is_recorded_at_now_unless_told(self):
        service = ServiceFactory()
        with time_machine.travel(T0, tick=False):
            change, created = change_record(
                service=service, kind=Change.Kind.FEATURE_FLAG, summary="New checkout on"
            )
        assert created
        assert (change.at, change.environment, change.external_id) == (T0, None, "")

    def test_the_same_external_id_gives_the_first_change_back_unchanged(self):
        service = ServiceFactory()
        first, _ = change_record(
            service=service, kind="config", summary="Pool 20", external_id="cfg-7"
        )
        again, created = change_record(
            service=service, kind="other", summary="Something else", external_id="cfg-7"
        )
        assert not created
        assert again == first
        assert again.summary == "Pool 20"
        _, created_elsewhere = change_record(
            service=ServiceFactory(), kind="config", summary="Pool 20", external_id="cfg-7"
        )
        assert created_elsewhere

    def test_without_an_external_id_every_record_is_a_new_change(self):
        service = ServiceFactory()
        change_record(service=service, kind="config", summary="Pool 20")
        change_record(service=service, kind="config", summary="Pool 20")
        assert Change.objects.count() == 2

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "deploy"}, "kind"),
            ({"link": "javascript:alert(1)"}, "link"),
            ({"link": "file:///etc/passwd"}, "link"),
            ({"summary": ""}, "summary"),
        ],
    )
    def test_what_the_model_refuses_is_refused(self, fields, field):
        values = {"kind": "config", "summary": "Pool 20", **fields}
        with pytest.raises(ValidationError) as excinfo:
            change_record(service=ServiceFactory(), **values)
        assert field in excinfo.value.message_dict
        assert not Change.objects.exists()

    def test_an_environment_of_another_service_is_refused(self):
        with pytest.raises(ValidationError):
            change_record(
                service=ServiceFactory(),
                environment=EnvironmentFactory(),
                kind="config",
                summary="Pool 20",
            )

    def test_the_database_refuses_an_unknown_kind_and_a_second_external_id(self):
        change = ChangeFactory(external_id="cfg-7")
        assert_violates(
            "change_kind_valid", lambda: Change.objects.filter(pk=change.pk).update(kind="deploy")
        )
        assert_violates(
            "change_external_id_unique",
            lambda: ChangeFactory(service=change.service, external_id="cfg-7"),
            columns="deployments_change.service_id, deployments_change.external_id",
        )
        # No external id is no id: any number of changes may have none.
        ChangeFactory(service=change.service)
        ChangeFactory(service=change.service)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_records_of_one_external_id_make_one_change():
    service = ServiceFactory()
    answers = run_in_threads(
        6,
        lambda _i: change_record(
            service=service, kind="config", summary="Pool 20", external_id="cfg-7"
        ),
    )
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert sorted(created for _change, created in answers) == [False] * 5 + [True]
    assert Change.objects.count() == 1


class TestAround:
    def test_changes_around_reach_back_the_window_and_on_to_the_end(self, settings):
        settings.HINDSIGHT_CORRELATION_WINDOW_HOURS = 2
        service = ServiceFactory()
        too_old = ChangeFactory(service=service, at=T0 - timedelta(hours=2, minutes=1))
        first = ChangeFactory(service=service, at=T0 - timedelta(hours=2))
        last = ChangeFactory(service=service, at=T0 + timedelta(minutes=30))
        ChangeFactory(at=T0)  # another service's
        found = list(selectors.changes_around(service=service, start=T0, end=at(30)))
        assert found == [first, last]
        assert too_old not in found

    def test_what_changed_merges_deployments_and_changes_by_time(self):
        system = System()
        early = ChangeFactory(service=system.service, at=at(1))
        deployment = system.deploy(4)  # started at 3
        late = ChangeFactory(service=system.service, at=at(5))
        ChangeFactory(service=system.service, at=at(11))  # after the end
        rows = selectors.what_changed(service=system.service, start=T0, end=at(10))
        assert [(row.at, row.change, row.deployment) for row in rows] == [
            (at(1), early, None),
            (at(3), None, deployment),
            (at(5), late, None),
        ]


class TestSuspectChange:
    def test_the_last_change_before_health_turned_red_is_the_suspect(self):
        system = System()
        ChangeFactory(service=system.service, at=at(-30))
        suspect = ChangeFactory(service=system.service, at=at(-3))
        ChangeFactory(service=system.service, at=at(2))  # after red: a reaction, not a cause
        system.snaps(-10, -1)
        system.snaps(0, 5, failing=[0])
        assert selectors.suspect_change(service=system.service, before=at(1)) == suspect
        found = selectors.correlation(service=system.service, start=at(1), end=at(5))
        assert found.suspect_change == suspect
        assert [row.change for row in found.what_changed if row.change][-1].at == at(2)

    def test_without_any_health_the_last_change_before_the_start_is_suspected(self):
        service = ServiceFactory()
        suspect = ChangeFactory(service=service, at=at(-1))
        ChangeFactory(service=service, at=at(1))
        assert selectors.suspect_change(service=service, before=T0) == suspect

    def test_a_change_older_than_the_window_is_not_a_suspect(self, settings):
        settings.HINDSIGHT_CORRELATION_WINDOW_HOURS = 1
        service = ServiceFactory()
        ChangeFactory(service=service, at=at(-61))
        assert selectors.suspect_change(service=service, before=T0) is None
        assert selectors.correlation(service=service, start=T0, end=at(5)).suspect_change is None

    def test_production_and_the_whole_service_are_suspected_before_another_environment(self):
        system = System()
        whole = ChangeFactory(service=system.service, at=at(-20))
        ChangeFactory(service=system.service, environment=system.preview, at=at(-1))
        assert selectors.suspect_change(service=system.service, before=T0) == whole
        production = ChangeFactory(
            service=system.service, environment=system.production, at=at(-10)
        )
        assert selectors.suspect_change(service=system.service, before=T0) == production

    def test_a_preview_change_is_suspected_when_it_is_all_there_is(self):
        system = System()
        preview = ChangeFactory(service=system.service, environment=system.preview, at=at(-1))
        assert system.preview.kind == Environment.Kind.PREVIEW
        assert selectors.suspect_change(service=system.service, before=T0) == preview


def test_the_admin_shows_changes_and_windows_read_only(client):
    change = ChangeFactory(link="https://flags.example.test/1")
    window = MaintenanceWindowFactory(service=change.service)
    client.force_login(user_with_role("admin", is_staff=True))
    for model, row in ((Change, change), (MaintenanceWindow, window)):
        name = model._meta.model_name
        assert client.get(reverse(f"admin:deployments_{name}_changelist")).status_code == 200
        form = client.get(reverse(f"admin:deployments_{name}_change", args=[row.pk]))
        assert form.status_code == 200
        assert b'name="summary"' not in form.content  # shown, not editable
        assert client.get(reverse(f"admin:deployments_{name}_add")).status_code == 403
