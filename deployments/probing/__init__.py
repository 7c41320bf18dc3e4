"""The HTTP prober and its SSRF guard.

    probe_targets(targets, *, max_concurrency, max_per_host, connect_timeout, allowed_networks)
        Probe ProbeTarget values concurrently; one ProbeResult per target, same order. Never
        raises for network trouble: a failure is ok=False with the reason in `error`.
    validate_target_url(url)
        Save-time check of a user-entered URL; raises django ValidationError.
    guarded_request(method, url, *, content=b"", headers=None, timeout=10.0, max_redirects=0)
        One request through the same guard (for webhook delivery and the like); returns a
        GuardedResponse(status_code, headers, body) or raises ProbeError / BlockedAddress.

All of them are sync and run their own event loop (on a thread of their own when the caller is
already inside one), so Celery tasks and Django views call them directly.

Limits come from settings: HINDSIGHT_PROBE_MAX_CONCURRENCY (probes in flight),
HINDSIGHT_PROBE_MAX_PER_HOST (connections per host name), HINDSIGHT_PROBE_CONNECT_TIMEOUT
(resolve + TCP + TLS, per hop) and HINDSIGHT_PROBE_ALLOWED_NETWORKS (CIDRs that opt private
targets in; cloud metadata addresses stay refused). A check's own timeout is its total, counted
from its first connect, so queueing behind busy hosts never eats into it. A free slot goes first
to a probe whose host has not answered yet in the batch, so hosts that hang start their timeouts
early (slots.py says why). Redirects are followed up to 3 hops, each hop guarded, unless the
check expects a 3xx status itself.

Modules: ssrf (which addresses and URLs are refused), transport (resolve, judge, connect, send),
http11 (read the answer), slots (the caps and the queue's order), prober (batches and the sync
faces), errors.
"""

from __future__ import annotations

from deployments.probing.errors import BlockedAddress, ProbeError
from deployments.probing.prober import (
    GuardedResponse,
    ProbeResult,
    ProbeTarget,
    guarded_request,
    probe_targets,
)
from deployments.probing.ssrf import validate_target_url

__all__ = [
    "BlockedAddress",
    "GuardedResponse",
    "ProbeError",
    "ProbeResult",
    "ProbeTarget",
    "guarded_request",
    "probe_targets",
    "validate_target_url",
]
