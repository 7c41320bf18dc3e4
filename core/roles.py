"""The three roles a Hindsight user can hold, as Django groups with model permissions.

Groups rather than per-user permissions: an operator grants a role by adding a person to a group,
and a change to what a role may do reaches everyone holding it.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models import Q

# The apps whose models the roles cover. deployments is read-only below admin: its rows come
# from CI and the prober, not from people typing.
INCIDENTS_APP = "incidents"
DEPLOYMENTS_APP = "deployments"
# Everyone manages their own tokens on their settings page; only admins see all of them.
API_APP = "api"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


def _ensure_permission_rows() -> None:
    # Permissions are created by a post_migrate handler; a call made in the same process right
    # after migrate (or against a database migrated elsewhere) must not depend on its timing.
    for label in ("auth", API_APP, INCIDENTS_APP, DEPLOYMENTS_APP):
        create_permissions(apps.get_app_config(label), verbosity=0)


def _permissions(condition: Q) -> list[Permission]:
    return list(Permission.objects.filter(condition).order_by("pk"))


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create or bring up to date the viewer, editor and admin groups. Safe to run any time."""
    _ensure_permission_rows()
    both_apps = Q(content_type__app_label__in=[INCIDENTS_APP, DEPLOYMENTS_APP])
    incidents_writes = Q(content_type__app_label=INCIDENTS_APP) & (
        Q(codename__startswith="add_")
        | Q(codename__startswith="change_")
        | Q(codename__startswith="delete_")
    )
    people = Q(content_type__app_label="auth", content_type__model__in=["user", "group"])
    api_access = Q(content_type__app_label=API_APP)

    viewer = both_apps & Q(codename__startswith="view_")
    grants = {
        Role.VIEWER: _permissions(viewer),
        Role.EDITOR: _permissions(viewer | incidents_writes),
        Role.ADMIN: _permissions(both_apps | people | api_access),
    }
    groups: dict[str, Group] = {}
    for role, permissions in grants.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        # set() replaces: a permission dropped from a role here is taken away on the next run.
        group.permissions.set(permissions)
        groups[role.value] = group
    return groups
