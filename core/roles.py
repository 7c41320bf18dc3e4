"""The three roles a Hindsight user can hold, as Django groups with model permissions.

Groups rather than per-user permissions: an operator grants a role by adding a person to a group,
and a change to what a role may do reaches everyone holding it.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import Q

# The apps whose models the roles cover. deployments is read-only below admin: its rows come
# from CI and the prober, not from people typing.
INCIDENTS_APP = "incidents"
DEPLOYMENTS_APP = "deployments"
# Everyone manages their own tokens on their settings page; only admins see all of them.
API_APP = "api"
DELETE_INCIDENT = "delete_incident"
# Every role reads the change feed (/api/v1/events): it holds what the lists show already.
FEED_APP = "feed"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


def _ensure_permission_rows(using: str) -> None:
    # Permissions are created by a post_migrate handler; a call made in the same process right
    # after migrate (or against a database migrated elsewhere) must not depend on its timing.
    for label in ("admin", "auth", API_APP, FEED_APP, INCIDENTS_APP, DEPLOYMENTS_APP):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)


def _permissions(condition: Q, using: str) -> list[Permission]:
    return list(Permission.objects.using(using).filter(condition).order_by("pk"))


def roles_ensure(using: str = DEFAULT_DB_ALIAS) -> dict[str, Group]:
    """Create or bring up to date the viewer, editor and admin groups. Safe to run any time.

    Runs after every migrate (core's AppConfig), so an install or an upgrade has the roles as
    defined here without a separate step."""
    with transaction.atomic(using=using):
        return _roles_write(using)


def _roles_write(using: str) -> dict[str, Group]:
    _ensure_permission_rows(using)
    both_apps = Q(content_type__app_label__in=[INCIDENTS_APP, DEPLOYMENTS_APP])
    incidents_writes = (
        Q(content_type__app_label=INCIDENTS_APP)
        & (
            Q(codename__startswith="add_")
            | Q(codename__startswith="change_")
            | Q(codename__startswith="delete_")
        )
        # Deleting a whole incident takes its post-mortem and its messages with it: an admin's
        # call, made in the admin after a confirmation that names what goes. Editors delete
        # rows of a post-mortem, or mark a mistaken incident as a duplicate.
        & ~Q(codename=DELETE_INCIDENT)
    )
    people = Q(content_type__app_label="auth", content_type__model__in=["user", "group"])
    api_access = Q(content_type__app_label=API_APP)
    # The admin's log (who deleted which incident, among the rest), read in the admin.
    admin_log = Q(content_type__app_label="admin", codename="view_logentry")

    feed = Q(content_type__app_label=FEED_APP, codename="view_feedevent")
    viewer = (both_apps & Q(codename__startswith="view_")) | feed
    grants = {
        Role.VIEWER: _permissions(viewer, using),
        Role.EDITOR: _permissions(viewer | incidents_writes, using),
        Role.ADMIN: _permissions(both_apps | people | api_access | admin_log | feed, using),
    }
    groups: dict[str, Group] = {}
    for role, permissions in grants.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        # set() replaces: a permission dropped from a role here is taken away on the next run.
        group.permissions.set(permissions)
        groups[role.value] = group
    return groups
