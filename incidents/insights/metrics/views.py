"""The metrics page and its CSV downloads: a fixed number of queries at any size of history."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from incidents.insights.metrics.forms import MetricsFilterForm, default_scope
from incidents.insights.metrics.selectors import CHARTS, charts_all
from incidents.insights.metrics.svg import chart_svg


@require_GET
@login_required
def metrics(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = MetricsFilterForm(request.GET, today=today)
    valid = form.is_valid()
    if request.GET.get("format") == "csv":
        return _csv(request, form if valid else None)
    # Charts of filters that do not validate would answer a question nobody asked.
    scope = form.scope() if valid else default_scope(today)
    charts = charts_all(scope, today) if valid else []
    return render(
        request,
        "incidents/metrics/page.html",
        {
            "form": form,
            "scope": scope,
            "charts": [(chart, chart_svg(chart)) for chart in charts],
            "query": request.GET.urlencode(),
        },
    )


def _csv(request: AuthenticatedHttpRequest, form: MetricsFilterForm | None) -> HttpResponse:
    selector = CHARTS.get(request.GET.get("chart", ""))
    if selector is None:
        raise Http404("No such chart.")
    if form is None:
        return HttpResponse(
            "The filters are not valid: correct them on the metrics page.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    chart = selector(form.scope(), form.today)
    response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="hindsight-{chart.name}.csv"'
    return response
