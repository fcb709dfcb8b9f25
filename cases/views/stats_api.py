"""API: the statistics dashboard as JSON, for supervisors (issue 6 items 5 and 6)."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from cases.forms_workflow import default_period
from cases.lib.access import access_statistics
from cases.stats import Filters, dashboard
from consult.exceptions import BadInput
from consult.models import User

router = Router(tags=["statistics"])


class StatisticsQuery(Schema):
    start: dt.date | None = None
    end: dt.date | None = None
    counterpart: str | None = None


class ColumnOut(Schema):
    key: str
    label: str


class TableOut(Schema):
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class StatisticsOut(Schema):
    authority: str
    start: dt.date
    end: dt.date
    counterpart: str
    tables: dict[str, TableOut]


@router.get("/statistics", response=StatisticsOut, summary="Statistics of my authority's cases (supervisors)")
def statistics(request: HttpRequest, query: Query[StatisticsQuery]) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    authority_id = access_statistics(user)
    start, end = default_period()
    start, end = query.start or start, query.end or end
    if start > end:
        raise BadInput(fields={"start": ["The period must start before it ends."]})
    board = dashboard(Filters(authority_id, start, end, (query.counterpart or "").strip().upper()))
    assert user.authority is not None
    return {
        "authority": user.authority.code, "start": start, "end": end, "counterpart": board.filters.counterpart,
        "tables": {
            t.name: {"title": str(t.title), "columns": [{"key": k, "label": str(v)} for k, v in t.columns],
                     "rows": t.rows}
            for t in board.tables
        },
    }  # fmt: skip
