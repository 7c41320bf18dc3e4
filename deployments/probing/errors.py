"""Why a probe or a guarded request failed, as text a person can act on."""

from __future__ import annotations


class ProbeError(Exception):
    """A network failure; str(error) is the sentence stored with the result."""


class BlockedAddress(ProbeError):
    """The SSRF guard refused the target: its scheme, or an address it resolved to."""


class ConnectTimeout(ProbeError):
    """Resolving, connecting and the TLS handshake took longer than the connect timeout."""
