"""Counting time limits: pure date arithmetic, no database (docs/decisions.md, "Deadlines").

A limit of *n* days runs from the day after its start event (the start day
itself is not counted) and ends on the last day of the count:

- calendar days: ``due = start + n days`` (month ends and leap years are
  just the calendar's);
- working days: the *n*-th day after ``start`` that is neither a Saturday, a
  Sunday nor one of the profile's holidays.

Extensions add days of the same kind to the same start.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

CALENDAR = "calendar"
WORKING = "working"
SATURDAY = 5  # date.weekday(): Monday is 0


def is_working_day(day: dt.date, holidays: frozenset[dt.date] = frozenset()) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def add_days(start: dt.date, days: int, day_type: str, holidays: Iterable[dt.date] = ()) -> dt.date:
    """The last day of a limit of ``days`` days of ``day_type`` running from ``start``.

    Args:
        start: the date of the start event (not counted).
        days: the length of the limit, 0 or more.
        day_type: ``"calendar"`` or ``"working"``.
        holidays: days that are not working days (working-day limits only).

    Raises:
        ValueError: a negative length or an unknown kind of day.
    """
    if days < 0:
        raise ValueError("a limit cannot be negative")
    if day_type == CALENDAR:
        return start + dt.timedelta(days=days)
    if day_type != WORKING:
        raise ValueError(f"unknown kind of day {day_type!r}")
    closed = frozenset(holidays)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, closed):
            left -= 1
    return day


def parse_holidays(raw: object) -> frozenset[dt.date]:
    """A profile's ``holidays`` list (``["YYYY-MM-DD", ...]``) as dates; bad values raise ``ValueError``."""
    if not isinstance(raw, list):
        raise ValueError("holidays must be a list of YYYY-MM-DD dates")
    return frozenset(dt.date.fromisoformat(str(value)) for value in raw)


@dataclass(frozen=True)
class Countdown:
    """Where a deadline stands on ``today``: days left (negative once passed) and a state."""

    days_left: int
    state: str  # "met", "passed", "today", "soon" (within the nearest notice threshold) or "running"

    @classmethod
    def of(cls, due: dt.date, today: dt.date, met: bool = False, soon_days: int = 3) -> "Countdown":
        days_left = (due - today).days
        if met:
            state = "met"
        elif days_left < 0:
            state = "passed"
        elif days_left == 0:
            state = "today"
        elif days_left <= soon_days:
            state = "soon"
        else:
            state = "running"
        return cls(days_left, state)


def notice_stage(days_left: int, thresholds: Iterable[int]) -> str | None:
    """The notice a deadline with ``days_left`` is due for, if any.

    ``"passed"`` once the due date is behind us; otherwise ``"d<N>"`` for the
    smallest threshold N with ``days_left <= N``, so a scheduler that missed
    a few days sends the most urgent notice only, never a stale one.
    """
    if days_left < 0:
        return "passed"
    reached = [n for n in thresholds if days_left <= n]
    return f"d{min(reached)}" if reached else None
