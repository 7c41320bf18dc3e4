"""The admin of incidents, one module per room; importing each registers its models."""

from incidents.admin import communications, postmortem, statuspage  # noqa: F401
