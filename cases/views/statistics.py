"""The statistics dashboard for supervisors: tables, SVG charts and a CSV per table."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from cases.forms_workflow import StatisticsFilterForm, default_period
from cases.lib.access import access_statistics
from cases.lib.charts import bar_chart, column_chart
from cases.lib.export import csv_response
from cases.models import Case
from cases.stats import FLOW, FLOW_LABELS, TABLE_NAMES, Dashboard, Filters, Table, dashboard, table_named
from consult.models import Authority, User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def counterparts(authority_id: int) -> list[tuple[str, str]]:
    """The states and authorities the authority has cases with, for the filter."""
    other = Authority.objects.filter(
        pk__in=Case.objects.filter(requesting_authority_id=authority_id).values("requested_authority_id")
    ) | Authority.objects.filter(
        pk__in=Case.objects.filter(requested_authority_id=authority_id).values("requesting_authority_id")
    )
    found = list(other.distinct().order_by("country", "code").values_list("code", "country"))
    states = sorted({country for _, country in found})
    return [(c, c) for c in states] + [(code, f"{country} · {code}") for code, country in found]


def _filters(request: HttpRequest) -> tuple[StatisticsFilterForm, Filters]:
    """Parse the filters; invalid ones fall back to the default period and every counterpart."""
    authority_id = access_statistics(_user(request))
    choices = counterparts(authority_id)
    form = StatisticsFilterForm(request.GET or {}, counterparts=choices)
    if form.is_valid():
        data = form.cleaned_data
        return form, Filters(authority_id, data["start"], data["end"], data.get("counterpart") or "")
    start, end = default_period()
    return form, Filters(authority_id, start, end)


def charts(board: Dashboard) -> dict[str, SafeString]:
    """The dashboard's charts; each table they draw is shown beside them."""
    total = board.table("cases_by_kind").rows[-1]
    assurances = board.table("assurances")
    statuses = [key for key, _label in assurances.columns[1:-1]]
    volume = board.table("volume").rows
    return {
        "flow": bar_chart("chart-flow", _("Case flow in the period"),
                          [(str(FLOW_LABELS[f]), [total[f]]) for f in FLOW]),
        "counterparts": bar_chart(
            "chart-counterparts", _("Cases by counterpart state (carried forward and new)"),
            [(r["label"], [r["carried_forward"], r["new"]]) for r in board.table("cases_by_counterpart").rows[:-1]],
            [str(FLOW_LABELS["carried_forward"]), str(FLOW_LABELS["new"])],
        ),
        "assurances": bar_chart(
            "chart-assurances", _("Assurances by type and outcome"),
            [(r["label"], [r[s] for s in statuses]) for r in assurances.rows[:-1]],
            [str(label) for _key, label in assurances.columns[1:-1]],
        ),
        "volume": column_chart("chart-volume", _("Messages per month"), [(r["month"], r["messages"]) for r in volume]),
    }  # fmt: skip


def _table_view(table: Table) -> dict[str, Any]:
    """A table as the template walks it: each row's cells with their column label (for phones)."""
    columns = [(key, str(label)) for key, label in table.columns]  # translate each label once, not per cell
    rows = [{"cells": [(label, row.get(key)) for key, label in columns]} for row in table.rows]
    return {"name": table.name, "title": str(table.title), "columns": columns, "rows": rows}


def statistics(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    board = dashboard(filters)
    tables = {t.name: _table_view(t) for t in board.tables}
    context: dict[str, Any] = {
        "form": form, "board": board, "tables": tables, "charts": charts(board), "query": request.GET.urlencode(),
    }  # fmt: skip
    return render(request, "comity/cases/statistics.html", context)


def statistics_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLE_NAMES:
        access_statistics(_user(request))
        raise Http404
    _form, filters = _filters(request)
    found = table_named(filters, table)
    name = f"{table}_{filters.start.isoformat()}_{filters.end.isoformat()}"
    return csv_response(name, [(key, str(label)) for key, label in found.columns], found.rows)
