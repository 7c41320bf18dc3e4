"""The suspects: the last deployment and the last change before a service's health turned red.

The picks themselves live in _common, since the correlation summary makes them too, from the
red moment it has already found.
"""

from __future__ import annotations

from datetime import datetime

from deployments.correlation._common import _last_change, _last_shipped
from deployments.correlation.health import health_turned_red
from deployments.models import Change, Deployment, Service


def suspect_deployment(
    *, service: Service, before: datetime, until: datetime | None = None
) -> Deployment | None:
    """The last deployment that got out before the service's health turned red.

    Red is health_turned_red(); when health never turned, `before` itself. Production is
    suspected ahead of other environments: a preview deployment never broke what users saw.
    Only deployments within the correlation window qualify: a months-old deployment is history,
    not a suspect. Three queries at most.
    """
    red_at = health_turned_red(service=service, before=before, until=until) or before
    return _last_shipped(service=service, red_at=red_at)


def suspect_change(
    *, service: Service, before: datetime, until: datetime | None = None
) -> Change | None:
    """The last change that took effect before the service's health turned red, within the
    correlation window, as suspect_deployment() picks a deployment: red is health_turned_red()
    or `before`, and a change to production or to the whole service is suspected ahead of one
    to another environment. Three queries at most."""
    red_at = health_turned_red(service=service, before=before, until=until) or before
    return _last_change(service=service, red_at=red_at)
