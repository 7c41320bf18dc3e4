"""factory_boy factories for the whole suite. Defaults make a valid row with no arguments."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models

from deployments.models import (
    Change,
    Deployment,
    Environment,
    HealthCheck,
    MaintenanceWindow,
    Service,
)
from incidents.models import ActionItem, Cause, Incident, Lesson, SuccessCriterion, TimelineEvent

T0 = datetime(2026, 1, 2, 6, 2, tzinfo=UTC)

M = TypeVar("M", bound=models.Model)


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """A DjangoModelFactory that the type checker knows builds an M. At run time factory_boy's
    metaclass turns `SomeFactory(...)` into the saved model instance; typed, it is one too."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # The metaclass's __call__ returns the model; mypy only reads __new__.
        def __new__(cls, *args: Any, **kwargs: Any) -> M: ...  # type: ignore[misc]


class UserFactory(ModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("pw-for-tests")


class ServiceFactory(ModelFactory[Service]):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    public_url = "https://service.example.test"


class EnvironmentFactory(ModelFactory[Environment]):
    class Meta:
        model = Environment

    service = factory.SubFactory(ServiceFactory)
    name = "production"
    kind = Environment.Kind.PRODUCTION


class DeploymentFactory(ModelFactory[Deployment]):
    class Meta:
        model = Deployment

    environment = factory.SubFactory(EnvironmentFactory)
    external_id = factory.Sequence(lambda n: f"deploy-{n:06d}")
    commit_sha = factory.Sequence(lambda n: hashlib.sha1(str(n).encode()).hexdigest())
    status = Deployment.Status.SUCCEEDED
    started_at = factory.Sequence(lambda n: T0 - timedelta(hours=n + 1))


class HealthCheckFactory(ModelFactory[HealthCheck]):
    class Meta:
        model = HealthCheck

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Check {n}")
    url = "https://service.example.test/health"


class ChangeFactory(ModelFactory[Change]):
    class Meta:
        model = Change

    service = factory.SubFactory(ServiceFactory)
    kind = Change.Kind.CONFIG
    summary = factory.Sequence(lambda n: f"Raised a limit ({n})")
    at = factory.Sequence(lambda n: T0 - timedelta(hours=n + 1))


class MaintenanceWindowFactory(ModelFactory[MaintenanceWindow]):
    """An open window of an hour from T0 unless told otherwise."""

    class Meta:
        model = MaintenanceWindow

    service = factory.SubFactory(ServiceFactory)
    starts_at = T0
    ends_at = factory.LazyAttribute(lambda w: w.starts_at + timedelta(hours=1))


class IncidentFactory(ModelFactory[Incident]):
    """Builds through the ORM with an explicit number; use incident_create to test allocation."""

    class Meta:
        model = Incident

    number = factory.Sequence(lambda n: 1000 + n)
    service = factory.SubFactory(ServiceFactory)
    title = factory.Sequence(lambda n: f"Outage {n}")
    started_at = T0


class TimelineEventFactory(ModelFactory[TimelineEvent]):
    class Meta:
        model = TimelineEvent

    incident = factory.SubFactory(IncidentFactory)
    occurred_at = T0
    text = "Something happened."


class CauseFactory(ModelFactory[Cause]):
    class Meta:
        model = Cause

    incident = factory.SubFactory(IncidentFactory)
    title = "A cause"


class LessonFactory(ModelFactory[Lesson]):
    class Meta:
        model = Lesson

    incident = factory.SubFactory(IncidentFactory)
    kind = Lesson.Kind.WENT_WRONG
    text = "A lesson"


class ActionItemFactory(ModelFactory[ActionItem]):
    class Meta:
        model = ActionItem

    incident = factory.SubFactory(IncidentFactory)
    title = factory.Sequence(lambda n: f"Action {n}")
    status = ActionItem.Status.OPEN
    # A won't do always has its reason (actionitem_wont_do_has_reason).
    closed_reason = factory.LazyAttribute(
        lambda item: "Not worth it." if item.status == ActionItem.Status.WONT_DO else ""
    )


class SuccessCriterionFactory(ModelFactory[SuccessCriterion]):
    class Meta:
        model = SuccessCriterion

    incident = factory.SubFactory(IncidentFactory)
    text = "It works"


def user_with_role(role: str, **kwargs: Any) -> User:
    """A user in one of the three role groups (viewer, editor, admin), named "<role>-user"
    unless a username is given."""
    from django.contrib.auth.models import Group

    kwargs.setdefault("username", f"{role}-user")
    user = UserFactory(**kwargs)
    # Every migrate makes the groups (core's AppConfig), and so does the flush after a
    # transactional test.
    group = Group.objects.get(name=role)
    user.groups.add(group)
    return user
