"""Hindsight settings, one module per topic. Everything that differs between machines comes
from the environment (12-factor), with embedded defaults that boot a fresh clone:

- base.py: Django itself, the database, Redis, Celery, the cache, files, security, email and
  logging;
- background.py: Celery beat's schedule and the delivery engine's timings;
- api.py: the REST API and its OpenAPI document;
- product.py: Hindsight's own HINDSIGHT_* settings;
- security.py: cookies, headers and the Content-Security-Policy, TLS behind a proxy, login
  throttling.

DJANGO_SETTINGS_MODULE stays "hindsight.settings"; tests/settings.py builds on it.
"""

from hindsight.settings.api import *  # noqa: F403
from hindsight.settings.background import *  # noqa: F403
from hindsight.settings.base import *  # noqa: F403
from hindsight.settings.product import *  # noqa: F403
from hindsight.settings.security import *  # noqa: F403
