"""API: assurance and clarification registers, checklist, monitoring tasks and handling codes (issue 6 items 1, 2, 4).

A national case-management system reads the same registers as the pages
show. Outsiders get the same 404 as for a missing case; liaison officers see
no register.
"""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema

from cases.actions.assurances import (
    check_add_monitoring_task,
    check_set_thread_handling,
    check_tick_assurance_point,
    check_update_monitoring_task,
)
from cases.lib.access import access_assurance, access_case, access_monitoring_task, visible_cases
from cases.lib.registers import assurances_of, clarifications_of
from cases.models import (
    Assurance,
    AssuranceStatus,
    AssuranceType,
    Case,
    ChecklistPoint,
    HandlingCode,
    Item,
    MonitoringTask,
    ThreadHandling,
)
from cases.views.api import StrictSchema
from consult.exceptions import NotFound
from consult.lib.access import access_thread
from consult.models import User

router = Router(tags=["workflow"])


class StepOut(Schema):
    status: str
    at: dt.datetime
    authority: str
    user: str
    seq: int
    handling: str


class CheckOut(Schema):
    point: str
    label: str
    ticked: bool
    by: str
    at: dt.datetime | None


class TaskOut(Schema):
    id: int
    kind: str
    due: dt.date
    status: str
    done_on: dt.date | None
    overdue: bool


class AssuranceOut(Schema):
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
    handling: list[str]
    history: list[StepOut]
    checklist: list[CheckOut]
    tasks: list[TaskOut]


class ClarificationOut(Schema):
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


class AssuranceFilters(Schema):
    status: AssuranceStatus | None = None
    type: AssuranceType | None = None
    counterpart: str | None = None


class ClarificationFilters(Schema):
    state: str = "all"
    counterpart: str | None = None


class CheckIn(StrictSchema):
    ticked: bool


class TaskIn(StrictSchema):
    kind: MonitoringTask.Kind
    due: dt.date


class TaskPatch(StrictSchema):
    status: MonitoringTask.Status
    done_on: dt.date | None = None


class HandlingIn(StrictSchema):
    code: HandlingCode | None


class ItemOut(Schema):
    seq: int
    kind: str
    at: dt.datetime
    side: str
    handling: str
    inherited: bool


class HandlingOut(Schema):
    thread: str
    default: str | None
    items: list[ItemOut]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _register_cases(user: User) -> Any:
    if user.role not in (User.Role.OFFICER, User.Role.SUPERVISOR):
        raise NotFound  # liaison officers see no register
    return visible_cases(user)


def _one_assurance(assurance: Assurance) -> dict[str, Any]:
    return next(r.as_dict() for r in assurances_of(Case.objects.filter(pk=assurance.case_id)) if r.id == assurance.pk)


@router.get("/cases/{case_id}/assurances", response=list[AssuranceOut], summary="A case's assurance register")
def case_assurances(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = access_case(_user(request), case_id)
    return [r.as_dict() for r in assurances_of(Case.objects.filter(pk=case.pk))]


@router.get("/cases/{case_id}/clarifications", response=list[ClarificationOut], summary="A case's clarifications")
def case_clarifications(request: HttpRequest, case_id: str) -> list[dict[str, Any]]:
    case = access_case(_user(request), case_id)
    return [r.as_dict() for r in clarifications_of(Case.objects.filter(pk=case.pk))]


@router.get("/assurances", response=list[AssuranceOut], summary="Assurance register of my cases")
def assurance_register(request: HttpRequest, filters: Query[AssuranceFilters]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in assurances_of(_register_cases(_user(request)), filters.model_dump())]


@router.get("/clarifications", response=list[ClarificationOut], summary="Clarifications of my cases, most urgent first")
def clarification_register(request: HttpRequest, filters: Query[ClarificationFilters]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in clarifications_of(_register_cases(_user(request)), filters.model_dump())]


@router.put("/assurances/{assurance_id}/checklist/{point}", response=AssuranceOut, summary="Tick a checklist point")
def tick_checklist(request: HttpRequest, assurance_id: str, point: ChecklistPoint, payload: CheckIn) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        assurance = access_assurance(user, assurance_id)
        check_tick_assurance_point(user, assurance, point, payload.ticked)
    return _one_assurance(assurance)


@router.post("/assurances/{assurance_id}/tasks", response={201: TaskOut}, summary="Add a monitoring task")
def add_task(request: HttpRequest, assurance_id: str, payload: TaskIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    with transaction.atomic():
        task = check_add_monitoring_task(user, access_assurance(user, assurance_id), payload.kind, payload.due)
    return 201, _task(task)


@router.patch("/monitoring-tasks/{task_id}", response=TaskOut, summary="Record a monitoring task's outcome")
def update_task(request: HttpRequest, task_id: str, payload: TaskPatch) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        task = check_update_monitoring_task(
            user, access_monitoring_task(user, task_id), payload.status, payload.done_on
        )
    return _task(task)


def _task(task: MonitoringTask) -> dict[str, Any]:
    overdue = task.status == MonitoringTask.Status.OPEN and task.due < timezone.localdate()
    return {"id": task.pk, "kind": task.kind, "due": task.due, "status": task.status, "done_on": task.done_on,
            "overdue": overdue}  # fmt: skip


@router.get("/threads/{thread_id}/handling", response=HandlingOut, summary="A thread's handling codes")
def get_handling(request: HttpRequest, thread_id: str) -> dict[str, Any]:
    thread = access_thread(_user(request), thread_id)
    return _handling(thread.pk)


@router.put("/threads/{thread_id}/handling", response=HandlingOut, summary="Set a thread's default handling code")
def set_handling(request: HttpRequest, thread_id: str, payload: HandlingIn) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        thread = access_thread(user, thread_id)
        check_set_thread_handling(user, thread, payload.code)
    return _handling(thread.pk)


def _handling(thread_id: Any) -> dict[str, Any]:
    items = Item.objects.filter(thread_id=thread_id).order_by("seq")
    return {
        "thread": str(thread_id),
        "default": ThreadHandling.objects.filter(thread_id=thread_id).values_list("code", flat=True).first(),
        "items": [
            {"seq": i.seq, "kind": i.kind, "at": i.at, "side": i.side, "handling": i.handling,
             "inherited": i.handling_inherited}
            for i in items
        ],
    }  # fmt: skip
