"""Webhook endpoints: saved with a signing secret, which can be rotated."""

from __future__ import annotations

import secrets

from django.db import transaction

from incidents.models import WebhookEndpoint


def webhook_secret_new() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Store a new or changed endpoint. A new one gets its signing secret here, which its
    owner is shown once."""
    if not endpoint.secret:
        endpoint.secret = webhook_secret_new()
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; deliveries from now on are signed with it."""
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret"])
    return endpoint
