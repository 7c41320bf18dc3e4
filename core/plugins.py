"""Plug-in points: how a higher floor adds behaviour to a lower one that never imports it.

The floors, lowest first: core, api and outbox; deployments; incidents. deployments never imports
incidents, yet the gate asks about open action items, a rollback lands on an incident's timeline
and a deployment page links to its incidents. Each of those is one point below: the lower floor
calls it, and the higher floor fills it from its AppConfig.ready(). Every point of the project is
in this module, so this docstring is the whole list:

- **Gate rules** (`gate_rule_register`, `gate_rule`, `gate_rule_kinds`): the function that
  answers for each GateRule kind, `function(rule, context) -> RuleOutcome` (the types are in
  deployments/gate/). deployments registers its own kinds from deployments/gate/rules.py;
  incidents registers `blocking_action_items` (incidents/system/gate.py). The gate's service,
  deployments.services.gate, calls them.
- **Events** (`subscribe`, `announce`): what the system side announces inside the transaction
  that did the work; see EVENTS for each event's keyword arguments. incidents subscribes to
  "rollback_recorded" and "health_failing" (incidents/system/services.py), and to
  "health_changed" (components that follow their checks,
  incidents/statuspage/services/component_status.py). A handler that raises rolls the whole
  write back: the event and its consequences land together or not at all.
- **Deployment links** (`deployment_links_register`, `deployment_links`): links from deployment
  rows to the rows above that name them. incidents provides the incidents a deployment caused
  or happened during (incidents/system/links.py); deployments' pages ask once per page.
- **Feed listeners** (`feed_listen`, `feed_listeners`): functions called with the FeedEvents that
  `feed.services.feed_record` (one) and `feed_record_many` (a batch) record, in the transaction
  that recorded them. incidents queues the
  webhook deliveries of every endpoint that follows the event's kind.
- **Outbox carriers** (`outbox_carry`, `outbox_carries`, `outbox_carried`): the Celery tasks, by
  registered name, that the outbox may publish. deployments registers the post-deploy smoke run,
  incidents the delivery of a sent communication.
- **Delivery kinds** (`delivery_kind_register`, `delivery_kinds`): the models whose rows the one
  delivery engine (core/delivery.py) claims, sends and records, each with its sending function.
  incidents registers emails and messages (incidents/communications/delivery.py), webhooks
  (incidents/webhooks/sending.py) and reminder emails (incidents/insights/reminders/services.py);
  the engine's sweep walks them all.

Registering the same thing twice is a no-op, so ready() may run more than once (tests do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.delivery import DeliveryKind

# --- Gate rules -------------------------------------------------------------------------------

_gate_rules: dict[str, Callable[..., Any]] = {}


def gate_rule_register(kind: str, function: Callable[..., Any]) -> None:
    """`function` answers for GateRule.kind == kind. Another function for the same kind is a
    mistake (two apps claiming one rule), not an override."""
    current = _gate_rules.get(kind)
    if current is not None and current is not function:
        raise ValueError(f"{kind!r} already has an implementation: {current.__qualname__}.")
    _gate_rules[kind] = function


def gate_rule(kind: str) -> Callable[..., Any] | None:
    return _gate_rules.get(kind)


def gate_rule_kinds() -> frozenset[str]:
    return frozenset(_gate_rules)


# --- Events -----------------------------------------------------------------------------------

EVENTS = {
    # deployment: the new Deployment whose rollback_of is set.
    "rollback_recorded": "deployment",
    # change: a HealthChange row, already saved.
    "health_changed": "change",
    # service, environment (or None), snapshots: the consecutive failing HealthSnapshot rows,
    # oldest first. Sent once per run of failures, when the run reaches
    # HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES.
    "health_failing": "service, environment, snapshots",
}

_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def _known(event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; known: {sorted(EVENTS)}.")


def subscribe(event: str, handler: Callable[..., Any]) -> None:
    """Call `handler(**kwargs)` whenever `event` is announced."""
    _known(event)
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def announce(event: str, **kwargs: Any) -> None:
    """Call every subscriber of `event`, in the caller's transaction."""
    _known(event)
    for handler in list(_subscribers[event]):
        handler(**kwargs)


# --- Deployment links -------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    title: str = ""


# provider(deployment_ids) -> {deployment_id: [Link, ...]}, in a fixed number of queries.
DeploymentLinkProvider = Callable[[list[int]], dict[int, list[Link]]]

_deployment_link_providers: list[DeploymentLinkProvider] = []


def deployment_links_register(provider: DeploymentLinkProvider) -> None:
    if provider not in _deployment_link_providers:
        _deployment_link_providers.append(provider)


def deployment_links(deployment_ids: Iterable[int]) -> dict[int, list[Link]]:
    """Every provider's links for these deployments, merged: one call per provider."""
    ids = list(deployment_ids)
    merged: dict[int, list[Link]] = defaultdict(list)
    if not ids:
        return merged
    for provider in _deployment_link_providers:
        for deployment_id, links in provider(ids).items():
            merged[deployment_id].extend(links)
    return merged


# --- Feed listeners -------------------------------------------------------------------------

# listener(events) with the FeedEvents just recorded, in a list: one for a single change, all of
# a bulk write's at once (an import), so a listener can spend one query on the whole batch.
# Typed loosely, as core does not import feed.
FeedListener = Callable[[list[Any]], None]

_feed_listeners: list[FeedListener] = []


def feed_listen(listener: FeedListener) -> None:
    if listener not in _feed_listeners:
        _feed_listeners.append(listener)


def feed_listeners() -> tuple[FeedListener, ...]:
    return tuple(_feed_listeners)


# --- Outbox carriers --------------------------------------------------------------------------

_outbox_carried: set[str] = set()


def outbox_carry(*task_names: str) -> None:
    """Allow these tasks (registered Celery names) through the outbox."""
    _outbox_carried.update(task_names)


def outbox_carries(task_name: str) -> bool:
    return task_name in _outbox_carried


def outbox_carried() -> frozenset[str]:
    return frozenset(_outbox_carried)


# --- Delivery kinds ---------------------------------------------------------------------------

_delivery_kinds: dict[str, DeliveryKind] = {}


def delivery_kind_register(kind: DeliveryKind) -> None:
    """Let the delivery engine's sweep hand back this kind's deliveries. Another kind under the
    same name is a mistake (two apps claiming one), not an override."""
    current = _delivery_kinds.get(kind.name)
    if current is not None and current != kind:
        raise ValueError(f"A delivery kind named {kind.name!r} is already registered.")
    _delivery_kinds[kind.name] = kind


def delivery_kinds() -> tuple[DeliveryKind, ...]:
    return tuple(_delivery_kinds.values())
