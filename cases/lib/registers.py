"""The assurance and clarification registers, per case and per authority (issue 6, items 1 and 2).

Read from the workflow tables only (``cases.models.workflow``): columns the
server filled from signed headers, never an entry's ``canonical`` text.
Rows are plain dataclasses shared by the pages, the CSV downloads and the
API, so all three say the same thing.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cases.conf import cases_settings
from cases.lib.search import party_matches
from cases.models import Assurance, AssuranceCheck, AssuranceEvent, Case, ChecklistPoint, Clarification, MonitoringTask


@dataclass(frozen=True)
class Step:
    """One status of an assurance's history."""

    status: str
    at: dt.datetime
    authority: str
    user: str
    seq: int
    handling: str


@dataclass(frozen=True)
class Check:
    point: str
    label: str
    ticked: bool
    by: str
    at: dt.datetime | None


@dataclass(frozen=True)
class Task:
    id: int
    kind: str
    due: dt.date
    status: str
    done_on: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class AssuranceRow:
    """An assurance as the register shows it: who asked, who offered, its history, checklist and tasks."""

    id: int
    case: str
    case_reference: str
    thread: str
    thread_subject: str
    seq: int
    type: str
    status: str
    requesting_authority: str
    requested_authority: str
    asked_by: str
    offered_by: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    handling: list[str] = field(default_factory=list)  # the codes its items carry, first seen first
    history: list[Step] = field(default_factory=list)
    checklist: list[Check] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    @property
    def assessable(self) -> bool:
        """Whether there is an offer for the checklist to assess."""
        return self.status in ("offered", "accepted")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClarificationRow:
    """A clarification request: who must answer, by when, and when they did."""

    id: int
    case: str
    case_reference: str
    thread: str
    seq: int
    asked_by: str
    answer_by: str
    asked_at: dt.datetime
    due: dt.date
    answered_at: dt.datetime | None
    answer_seq: int | None
    open: bool
    overdue: bool
    days_left: int | None
    response_days: float | None
    handling: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name(user: Any) -> str:
    return user.display_name if user is not None else ""


def _check(point: str, label: str, found: AssuranceCheck | None) -> Check:
    if found is None:
        return Check(point, label, ticked=False, by="", at=None)
    return Check(point, label, ticked=found.ticked, by=_name(found.by), at=found.at)


def _assurance_row(assurance: Assurance, today: dt.date) -> AssuranceRow:
    case = assurance.case
    history = [
        Step(e.status, e.at, e.authority.code, _name(e.user), e.item.seq, e.item.handling)
        for e in assurance.events.all()  # prefetched in time order
    ]
    asked = next((s for s in history if s.status == "requested"), None)
    offers = [s for s in history if s.status == "offered"]
    checks = {c.point: c for c in assurance.checks.all()}
    checklist = [_check(point.value, str(point.label), checks.get(point.value)) for point in ChecklistPoint]
    tasks = [
        Task(t.pk, t.kind, t.due, t.status, t.done_on, t.status == MonitoringTask.Status.OPEN and t.due < today)
        for t in assurance.tasks.all()
    ]
    return AssuranceRow(
        id=assurance.pk, case=str(case.pk), case_reference=case.requesting_reference, thread=str(assurance.thread_id),
        thread_subject=assurance.thread.subject, seq=assurance.seq, type=assurance.type, status=assurance.status,
        requesting_authority=assurance.requesting_authority.code,
        requested_authority=assurance.requested_authority.code,
        asked_by=f"{asked.authority} · {asked.user}" if asked else "",
        offered_by=f"{offers[-1].authority} · {offers[-1].user}" if offers else "",
        opened_at=assurance.opened_at, updated_at=assurance.updated_at,
        handling=list(dict.fromkeys(s.handling for s in history if s.handling)), history=history, checklist=checklist,
        tasks=tasks,
    )  # fmt: skip


def assurances_of(cases: QuerySet[Case], filters: Mapping[str, Any] | None = None) -> list[AssuranceRow]:
    """The assurances of ``cases`` (already limited to what the user sees), newest change first.

    ``filters`` may hold ``status``, ``type`` and ``counterpart`` (an authority code or a state).
    """
    filters = filters or {}
    found = Assurance.objects.filter(case__in=cases.values("pk"))
    if filters.get("status"):
        found = found.filter(status=filters["status"])
    if filters.get("type"):
        found = found.filter(type=filters["type"])
    if filters.get("counterpart"):
        other = filters["counterpart"]
        found = found.filter(
            party_matches("case__requesting_authority", other) | party_matches("case__requested_authority", other)
        )
    found = found.select_related(
        "case", "thread", "requesting_authority", "requested_authority"
    ).prefetch_related(
        Prefetch("events", AssuranceEvent.objects.select_related("authority", "user", "item").order_by("at", "pk")),
        Prefetch("checks", AssuranceCheck.objects.select_related("by")),
        "tasks",
    )  # fmt: skip
    today = timezone.localdate()
    return [_assurance_row(a, today) for a in found[: cases_settings.COMITY_REGISTER_ROWS]]


def _clarification_row(item: Clarification, today: dt.date) -> ClarificationRow:
    open_ = item.answered_at is None
    response = (item.answered_at - item.asked_at).total_seconds() / 86400 if item.answered_at else None
    return ClarificationRow(
        id=item.pk, case=str(item.case_id), case_reference=item.case.requesting_reference, thread=str(item.thread_id),
        seq=item.seq, asked_by=item.asked_by.code, answer_by=item.answer_by.code, asked_at=item.asked_at, due=item.due,
        answered_at=item.answered_at, answer_seq=item.answer.seq if item.answer else None, open=open_,
        overdue=open_ and item.due < today, days_left=(item.due - today).days if open_ else None,
        response_days=round(response, 2) if response is not None else None, handling=item.item.handling,
    )  # fmt: skip


def clarifications_of(cases: QuerySet[Case], filters: Mapping[str, Any] | None = None) -> list[ClarificationRow]:
    """The clarifications of ``cases``, most urgent first: open ones by due date, then the latest answered.

    ``filters`` may hold ``state`` (``open``, ``overdue``, ``answered``; any
    other value: all) and ``counterpart`` (an authority code or a state).
    """
    filters = filters or {}
    today = timezone.localdate()
    found = Clarification.objects.filter(case__in=cases.values("pk")).select_related(
        "case", "asked_by", "answer_by", "answer", "item"
    )
    if filters.get("counterpart"):
        other = filters["counterpart"]
        found = found.filter(party_matches("asked_by", other) | party_matches("answer_by", other))
    state = filters.get("state") or "all"
    limit = cases_settings.COMITY_REGISTER_ROWS
    open_ = found.filter(answered_at__isnull=True).order_by("due", "asked_at", "pk")
    if state == "overdue":
        open_ = open_.filter(due__lt=today)
    answered = found.filter(answered_at__isnull=False).order_by("-answered_at", "-pk")
    rows = [] if state == "answered" else list(open_[:limit])
    if state not in ("open", "overdue"):
        rows += list(answered[: max(limit - len(rows), 0)])
    return [_clarification_row(c, today) for c in rows]
