"""API: treaty profiles, a case's running deadlines, extensions, and my notifications (issue 6 item 3)."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from cases.actions.deadlines import check_extend_deadline, check_mark_deadline_met, check_set_deadline_profile
from cases.actions.notifications import check_mark_notification_read, thresholds
from cases.lib.access import access_case, access_deadline, visible_notifications
from cases.lib.deadlines import Countdown
from cases.models import Case, CaseEvent, Deadline, Notification, StartEvent, TreatyProfile
from cases.views.api import StrictSchema
from consult.exceptions import NotFound
from consult.models import User

router = Router(tags=["deadlines"])


class LimitOut(Schema):
    code: str
    label: str
    start_event: str
    days: int
    day_type: str
    extension_days: int
    reference: str


class ProfileOut(Schema):
    code: str
    name: str
    scope: str
    state_a: str
    state_b: str
    instrument: str
    notes: str
    holidays: list[str]
    limits: list[LimitOut]


class RunningDeadlineOut(Schema):
    id: int
    label: str
    due: dt.date
    computed: bool
    limit: str | None
    start: dt.date | None
    extension_days: int
    extension_max: int
    met_on: dt.date | None
    days_left: int
    state: str


class CaseDeadlinesOut(Schema):
    case: str
    profile: str | None
    events: dict[str, dt.date]
    deadlines: list[RunningDeadlineOut]


class ProfileIn(StrictSchema):
    profile: str | None
    events: dict[StartEvent, dt.date | None] = {}


class ExtensionIn(StrictSchema):
    days: int


class MetIn(StrictSchema):
    met_on: dt.date | None


class NotificationOut(Schema):
    id: int
    case: str
    case_reference: str
    kind: str
    label: str
    due: dt.date
    days_left: int
    created_at: dt.datetime
    read_at: dt.datetime | None


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _staff(user: User) -> User:
    if user.role not in (User.Role.OFFICER, User.Role.SUPERVISOR):
        raise NotFound
    return user


def _deadline(deadline: Deadline, today: dt.date) -> dict[str, Any]:
    countdown = Countdown.of(
        deadline.due, today, met=deadline.met_on is not None, soon_days=min(thresholds(), default=3)
    )
    limit = deadline.limit
    return {
        "id": deadline.pk, "label": deadline.label, "due": deadline.due, "computed": limit is not None,
        "limit": f"{limit.profile.code}/{limit.code}" if limit else None, "start": deadline.start,
        "extension_days": deadline.extension_days, "extension_max": limit.extension_days if limit else 0,
        "met_on": deadline.met_on, "days_left": countdown.days_left, "state": countdown.state,
    }  # fmt: skip


def _case_deadlines(case: Case) -> dict[str, Any]:
    today = timezone.localdate()
    found = Deadline.objects.filter(case=case).select_related("limit__profile").order_by("due", "pk")
    profile = case.treaty_profile.code if case.treaty_profile else None
    return {
        "case": str(case.pk),
        "profile": profile,
        "events": dict(CaseEvent.objects.filter(case=case).values_list("event", "on")),
        "deadlines": [_deadline(d, today) for d in found],
    }


@router.get("/treaty-profiles", response=list[ProfileOut], summary="Treaty profiles and their time limits")
def list_profiles(request: HttpRequest) -> list[dict[str, Any]]:
    _staff(_user(request))
    profiles = TreatyProfile.objects.filter(active=True).prefetch_related("limits")
    return [
        {**{f: getattr(p, f) for f in ("code", "name", "scope", "state_a", "state_b", "instrument", "notes")},
         "holidays": [str(h) for h in p.holidays], "limits": list(p.limits.all())}
        for p in profiles
    ]  # fmt: skip


@router.get("/cases/{case_id}/deadlines", response=CaseDeadlinesOut, summary="A case's deadlines with countdowns")
def case_deadlines(request: HttpRequest, case_id: str) -> dict[str, Any]:
    return _case_deadlines(access_case(_user(request), case_id))


@router.put("/cases/{case_id}/deadline-profile", response=CaseDeadlinesOut, summary="Set profile and start events")
def set_profile(request: HttpRequest, case_id: str, payload: ProfileIn) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        case = access_case(user, case_id)
        events = {str(event.value): on for event, on in payload.events.items()}
        check_set_deadline_profile(user, case, payload.profile, events)
    return _case_deadlines(case)


@router.put("/cases/{case_id}/deadlines/{deadline_id}/extension", response=RunningDeadlineOut,
            summary="Grant an extension (days in all)")  # fmt: skip
def extend(request: HttpRequest, case_id: str, deadline_id: str, payload: ExtensionIn) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        deadline = _of_case(user, case_id, deadline_id)
        deadline = check_extend_deadline(user, deadline, payload.days)
    return _deadline(deadline, timezone.localdate())


@router.put("/cases/{case_id}/deadlines/{deadline_id}/met", response=RunningDeadlineOut,
            summary="Mark a deadline met (or reopen it with null)")  # fmt: skip
def met(request: HttpRequest, case_id: str, deadline_id: str, payload: MetIn) -> dict[str, Any]:
    user = _user(request)
    with transaction.atomic():
        deadline = check_mark_deadline_met(user, _of_case(user, case_id, deadline_id), payload.met_on)
    return _deadline(deadline, timezone.localdate())


def _of_case(user: User, case_id: str, deadline_id: str) -> Deadline:
    case = access_case(user, case_id)
    deadline = access_deadline(user, deadline_id)
    if deadline.case_id != case.pk:
        raise NotFound
    return deadline


@router.get("/notifications", response=list[NotificationOut], summary="My deadline notices, newest first")
def list_notifications(request: HttpRequest, unread: bool = False) -> list[dict[str, Any]]:
    found = visible_notifications(_user(request)).select_related("case")
    if unread:
        found = found.filter(read_at__isnull=True)
    return [_notification(n) for n in found[:200]]


@router.post("/notifications/{notification_id}/read", response=NotificationOut, summary="Mark a notice read")
def read_notification(request: HttpRequest, notification_id: str) -> dict[str, Any]:
    found = check_mark_notification_read(_user(request), notification_id)
    return _notification(Notification.objects.select_related("case").get(pk=found.pk))


def _notification(n: Notification) -> dict[str, Any]:
    return {"id": n.pk, "case": str(n.case_id), "case_reference": n.case.requesting_reference, "kind": n.kind,
            "label": n.label, "due": n.due, "days_left": n.days_left, "created_at": n.created_at,
            "read_at": n.read_at}  # fmt: skip
