"""Every chart of the metrics page, by name; each is one query, whatever the data's size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from incidents.insights.metrics.charts import Chart
from incidents.insights.metrics.forms import Scope
from incidents.insights.metrics.selectors import delivery, follow_through, incidents

ChartSelector = Callable[[Scope, date], Chart]

# In page order: what broke, how fast it was handled, what shipped it, what was promised.
CHARTS: dict[str, ChartSelector] = {
    "incidents": incidents.incidents_by_severity,
    "detect": incidents.time_to_detect,
    "mitigate": incidents.time_to_mitigate,
    "resolve": incidents.time_to_resolve,
    "change-failure-rate": delivery.change_failure_rate,
    "rollback": delivery.detection_to_rollback,
    "deployments": delivery.deployments_per_week,
    "near-misses": delivery.near_misses,
    "items": follow_through.items_created_and_completed,
    "on-time": follow_through.items_done_by_due_date,
    "open-age": follow_through.open_item_age,
    "overdue-owner": follow_through.overdue_by_owner,
    "overdue-service": follow_through.overdue_by_service,
    "cause-categories": incidents.cause_categories,
    "failing-checks": delivery.failing_checks,
}


def charts_all(scope: Scope, today: date) -> list[Chart]:
    return [selector(scope, today) for selector in CHARTS.values()]
