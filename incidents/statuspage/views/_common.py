"""What the public pages and the subscriber pages share: where their templates are."""

from __future__ import annotations

TEMPLATE_DIR = "incidents/status"
