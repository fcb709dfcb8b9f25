"""Statistics on a fixed data set, against figures worked out by hand (issue 6 item 5)."""

import datetime as dt

import pytest

from cases.stats import Filters, dashboard, percentile
from tests.cases.stats_data import PERIOD, TODAY, StatsData, build

pytestmark = pytest.mark.django_db

FLOW = ("carried_forward", "new", "granted", "refused", "withdrawn", "pending")


@pytest.fixture
def data() -> StatsData:
    return build()


def board(data: StatsData, counterpart: str = "") -> dict[str, list[dict]]:
    found = dashboard(Filters(data.fr_mj.pk, *PERIOD, counterpart), today=TODAY)
    return {t.name: t.rows for t in found.tables}


def flows(rows: list[dict], key: str) -> dict[str, tuple[int, ...]]:
    return {row[key]: tuple(row[f] for f in FLOW) for row in rows}


def test_percentile__linear_between_closest_ranks() -> None:
    """[1, 2, 4, 10, 13.5]: median is the 3rd value; p90 sits at rank 3.6, 10 + 0.6 * 3.5 = 12.1."""
    assert percentile([10, 1, 13.5, 2, 4], 0.5) == 4
    assert percentile([1, 2, 4, 10, 13.5], 0.9) == pytest.approx(12.1)
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([], 0.5) is None


def test_cases__carried_forward_new_and_outcomes_by_kind(data: StatsData) -> None:
    """In scope: C1, C2 carried forward; C4, C5, C6, C9 new (C3 ended before, C7 opened after, C8 not ours).

    C2 granted, C9 refused, C4 withdrawn in the period; C5 (granted in July), C6 and C1 still pending.
    """
    rows = board(data)["cases_by_kind"]
    assert flows(rows, "kind") == {
        "extradition": (2, 2, 1, 1, 0, 2),  # C1, C2 | C6, C9 | C2 | C9 | - | C1, C6
        "mla": (0, 2, 0, 0, 1, 1),  # - | C4, C5 | - | - | C4 | C5
        "": (2, 4, 1, 1, 1, 3),  # total: 2 + 4 = 1 + 1 + 1 + 3
    }


def test_cases__by_counterpart_state_and_direction(data: StatsData) -> None:
    tables = board(data)
    assert flows(tables["cases_by_counterpart"], "counterpart") == {
        "DE": (2, 1, 1, 0, 0, 2),  # C1, C2 | C6 | C2 | | | C1, C6
        "IT": (0, 3, 0, 1, 1, 1),  # | C4, C5, C9 | | C9 | C4 | C5
        "": (2, 4, 1, 1, 1, 3),
    }
    assert flows(tables["cases_by_direction"], "direction") == {
        "outgoing": (2, 2, 1, 1, 1, 1),  # C1, C2, C4, C9
        "incoming": (0, 2, 0, 0, 0, 2),  # C5, C6
        "": (2, 4, 1, 1, 1, 3),
    }
    statuses = {row["status"]: row["cases"] for row in tables["cases_by_status"]}
    assert statuses == {"open": 2, "awaiting_information": 1, "decided": 2, "closed": 1}  # C1, C6 | C5 | C2, C9 | C4


def test_cases__counterpart_filter(data: StatsData) -> None:
    """Only Italy: C4, C5 and C9 new; C9 refused, C4 withdrawn, C5 pending."""
    assert flows(board(data, "IT")["cases_by_kind"], "kind")[""] == (0, 3, 0, 1, 1, 1)
    assert flows(board(data, "IT-MG")["cases_by_kind"], "kind")[""] == (0, 3, 0, 1, 1, 1)
    assert flows(board(data, "ES")["cases_by_kind"], "kind")[""] == (0, 0, 0, 0, 0, 0)


def test_clarifications__volume_response_times_and_lateness(data: StatsData) -> None:
    """Asked by us: K1 to K4, K6, K7 asked; K1 to K5 answered in 1, 2, 4, 10 and 13.5 days (median 4, p90 12.1);
    K2 and K4 late; K6, K7 open, K6 overdue. Asked of us: L1, L2; L1 answered in 3 days; L2 open and overdue.
    Clarifications of C1 only: the Italian or third cases have none."""
    rows = {row["direction"]: row for row in board(data)["clarifications"]}
    ours = rows["asked_by_us"]
    assert (ours["asked"], ours["answered"], ours["median_days"], ours["p90_days"]) == (6, 5, 4.0, 12.1)
    assert (ours["answered_late"], ours["open"], ours["overdue"]) == (2, 2, 1)
    theirs = rows["asked_of_us"]
    assert (theirs["asked"], theirs["answered"], theirs["median_days"], theirs["p90_days"]) == (2, 1, 3.0, 3.0)
    assert (theirs["answered_late"], theirs["open"], theirs["overdue"]) == (0, 1, 1)
    assert board(data, "IT")["clarifications"][0]["asked"] == 0


def test_assurances__by_type_and_outcome(data: StatsData) -> None:
    """Opened in the period: death penalty accepted (A1) and declined (A3), torture withdrawn (A2),
    fair trial offered (A4); A5 (July) is outside."""
    rows = {row["type"]: row for row in board(data)["assurances"]}
    statuses = ("requested", "offered", "accepted", "declined", "withdrawn", "total")
    assert {k: tuple(r[s] for s in statuses) for k, r in rows.items()} == {
        "death_penalty": (0, 0, 1, 1, 0, 2),
        "torture": (0, 0, 0, 0, 1, 1),
        "fair_trial": (0, 1, 0, 0, 0, 1),
        "": (0, 1, 1, 1, 1, 4),
    }


def test_overdue__on_15_july(data: StatsData) -> None:
    """We owe L2 (due 20 May); DE owes K6 (due 1 July); C1's hearing (1 July) passed, the met one does not
    count, nor does C4's (withdrawn) or C8's (not ours); one monitoring visit (10 July) is late."""
    tables = board(data)
    assert {row["item"]: row["count"] for row in tables["overdue"]} == {
        "clarifications_we_owe": 1, "clarifications_they_owe": 1, "deadlines": 1, "monitoring_tasks": 1,
    }  # fmt: skip
    assert [(row["due"], row["days_overdue"]) for row in tables["overdue_list"]] == [
        (dt.date(2026, 5, 20), 56),  # 11 days of May, 30 of June, 15 of July
        (dt.date(2026, 7, 1), 14),
        (dt.date(2026, 7, 1), 14),
        (dt.date(2026, 7, 10), 5),
    ]


def test_volume__messages_per_month_by_kind(data: StatsData) -> None:
    """Worked out from stats_data: January T1 and K5's answer; February K1, K2 asked and answered; March K3
    and A1 (3 items); April K4 and A2 (3); May L1 asked and answered, L2, A3 (2); June K6, K7, A4, T2."""
    rows = {row["month"]: row for row in board(data)["volume"]}
    kinds = ("text", "clarification", "answer", "assurance", "messages", "threads")
    assert {m: tuple(r[k] for k in kinds) for m, r in rows.items()} == {
        "2026-01": (1, 0, 1, 0, 2, 1),
        "2026-02": (0, 2, 2, 0, 4, 0),
        "2026-03": (0, 1, 1, 3, 5, 0),
        "2026-04": (0, 1, 1, 3, 5, 0),
        "2026-05": (0, 2, 1, 2, 5, 0),
        "2026-06": (1, 2, 0, 1, 4, 0),
    }
