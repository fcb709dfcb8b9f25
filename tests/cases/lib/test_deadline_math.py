"""Counting limits, checked against examples worked out by hand (docs/decisions.md, "Deadlines")."""

import datetime as dt

import pytest

from cases.lib.deadlines import Countdown, add_days, notice_stage, parse_holidays

D = dt.date
CHRISTMAS = (D(2026, 12, 25), D(2027, 1, 1))
HAND_WORKED = {
    # 18 calendar days from Sunday 31 January 2027: 1 Feb is day 1, so 18 Feb is day 18.
    "calendar from a month end": (D(2027, 1, 31), 18, "calendar", (), D(2027, 2, 18)),
    # 18 + 22 extension = 40: February 2027 has 28 days, so 28 Feb is day 28 and 12 Mar day 40.
    "calendar with the extension, across February": (D(2027, 1, 31), 40, "calendar", (), D(2027, 3, 12)),
    # 2028 is a leap year: 29 Feb is day 29 and 1 Mar day 30.
    "calendar across a leap February": (D(2028, 1, 31), 30, "calendar", (), D(2028, 3, 1)),
    # From 31 Dec 2026: 31 Jan is day 31, 28 Feb day 59, 1 Mar day 60.
    "calendar across the year end": (D(2026, 12, 31), 60, "calendar", (), D(2027, 3, 1)),
    # From Friday 27 Nov 2026: Mon 30 (1), Tue 1 Dec (2), Wed 2 (3), Thu 3 (4), Fri 4 (5).
    "working days over a weekend and a month end": (D(2026, 11, 27), 5, "working", (), D(2026, 12, 4)),
    # The same with Tue 1 Dec a holiday: Mon 30 (1), Wed 2 (2), Thu 3 (3), Fri 4 (4), Mon 7 (5).
    "working days with a holiday": (D(2026, 11, 27), 5, "working", (D(2026, 12, 1),), D(2026, 12, 7)),
    # From Monday 31 May 2027 (month end): Tue 1 Jun (1), Wed 2 (2), Thu 3 (3).
    "working days from a month end": (D(2027, 5, 31), 3, "working", (), D(2027, 6, 3)),
    # From Thu 24 Dec 2026, Fri 25 Dec and Fri 1 Jan holidays: Mon 28 (1), Tue 29 (2), Wed 30 (3),
    # Thu 31 (4), then the holiday and the weekend, Mon 4 Jan (5).
    "working days over Christmas and New Year": (D(2026, 12, 24), 5, "working", CHRISTMAS, D(2027, 1, 4)),
    # From Saturday 30 Jan 2027, the first working day is Monday 1 Feb.
    "working days from a Saturday": (D(2027, 1, 30), 1, "working", (), D(2027, 2, 1)),
    "no days at all": (D(2027, 1, 30), 0, "working", (), D(2027, 1, 30)),
}


@pytest.mark.parametrize(("start", "days", "kind", "holidays", "due"), HAND_WORKED.values(), ids=HAND_WORKED.keys())
def test_add_days__hand_worked_examples(start: dt.date, days: int, kind: str, holidays: tuple, due: dt.date) -> None:
    assert add_days(start, days, kind, holidays) == due


def test_add_days__refuses_negative_limits_and_unknown_kinds() -> None:
    with pytest.raises(ValueError):
        add_days(D(2027, 1, 1), -1, "calendar")
    with pytest.raises(ValueError):
        add_days(D(2027, 1, 1), 1, "lunar")


def test_parse_holidays__iso_dates_only() -> None:
    assert parse_holidays(["2026-12-25"]) == frozenset({D(2026, 12, 25)})
    for bad in ("2026-12-25", ["2026-02-30"], [1]):
        with pytest.raises(ValueError):
            parse_holidays(bad)


NOTICES = {
    "far away": (11, None),
    "ten days left": (10, "d10"),
    "between thresholds": (5, "d10"),
    "three days left": (3, "d3"),
    "due today": (0, "d3"),
    "passed yesterday": (-1, "passed"),
}


@pytest.mark.parametrize(("days_left", "stage"), NOTICES.values(), ids=NOTICES.keys())
def test_notice_stage__most_urgent_threshold_reached(days_left: int, stage: str | None) -> None:
    assert notice_stage(days_left, [10, 3]) == stage


def test_countdown__states() -> None:
    today = D(2027, 3, 10)
    assert Countdown.of(D(2027, 3, 20), today) == Countdown(10, "running")
    assert Countdown.of(D(2027, 3, 12), today) == Countdown(2, "soon")
    assert Countdown.of(today, today) == Countdown(0, "today")
    assert Countdown.of(D(2027, 3, 8), today) == Countdown(-2, "passed")
    assert Countdown.of(D(2027, 3, 8), today, met=True) == Countdown(-2, "met")
