"""Links from system rows to the floors above, provided by those floors.

A deployment page shows the incidents a deployment is tied to, but deployments never imports
incidents. incidents registers a provider from its AppConfig.ready(); the page asks every
provider once for all the rows it shows, so the links cost one query per provider, not per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    title: str = ""


# provider(deployment_ids) -> {deployment_id: [Link, ...]}
DeploymentLinkProvider = Callable[[list[int]], dict[int, list[Link]]]

_deployment_providers: list[DeploymentLinkProvider] = []


def register_deployment_links(provider: DeploymentLinkProvider) -> None:
    if provider not in _deployment_providers:
        _deployment_providers.append(provider)


def deployment_links(deployment_ids: Iterable[int]) -> dict[int, list[Link]]:
    """Every registered provider's links for these deployments, merged."""
    ids = list(deployment_ids)
    merged: dict[int, list[Link]] = defaultdict(list)
    if not ids:
        return merged
    for provider in _deployment_providers:
        for deployment_id, links in provider(ids).items():
            merged[deployment_id].extend(links)
    return merged
