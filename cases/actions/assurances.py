"""The assurance register's own entries: checklist, monitoring tasks, and thread handling defaults.

Status changes of an assurance come only from signed items in a thread
(``cases.actions.workflow``); what is recorded here is the register's
assessment around them. Nothing here is content: points, codes and dates.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from cases.lib.access import can_edit_case
from cases.models import (
    Assurance,
    AssuranceCheck,
    AssuranceStatus,
    ChecklistPoint,
    HandlingCode,
    MonitoringTask,
    ThreadHandling,
)
from consult.exceptions import BadInput, Conflict, Forbidden, NotFound
from consult.models import Thread, User

CHECKABLE = (AssuranceStatus.OFFERED, AssuranceStatus.ACCEPTED)


def check_tick_assurance_point(actor: User, assurance: Assurance, point: str, ticked: bool) -> AssuranceCheck:
    """Tick (or untick) one checklist point, dated now, for the side that asked for the assurance.

    Raises:
        NotFound: the actor may not edit the case.
        Forbidden: the actor is not of the assurance's requesting side.
        BadInput: an unknown point.
        Conflict: nothing offered to assess (requested, declined or withdrawn).
    """
    if not can_edit_case(actor, assurance.case):
        raise NotFound
    if actor.authority_id != assurance.requesting_authority_id:
        raise Forbidden("Only the side that asked for the assurance ticks its checklist.")
    if point not in ChecklistPoint.values:
        raise BadInput(fields={"point": ["Unknown checklist point."]})
    if type(ticked) is not bool:
        raise BadInput(fields={"ticked": ["Must be true or false."]})
    if assurance.status not in CHECKABLE:
        raise Conflict(f"A {assurance.status} assurance has nothing to assess.")
    check, _ = AssuranceCheck.objects.update_or_create(
        assurance=assurance, point=point, defaults={"ticked": ticked, "by": actor, "at": timezone.now()}
    )
    return check


def check_add_monitoring_task(actor: User, assurance: Assurance, kind: str, due: dt.date) -> MonitoringTask:
    """Attach a follow-up (visit, report, ...) due on ``due`` to an accepted assurance.

    Raises:
        NotFound: the actor may not edit the case.
        BadInput: an unknown kind or a due date that is not a date.
        Conflict: the assurance is not accepted.
    """
    if not can_edit_case(actor, assurance.case):
        raise NotFound
    errors: dict[str, list[str]] = {}
    if kind not in MonitoringTask.Kind.values:
        errors["kind"] = ["Unknown kind of task."]
    if not isinstance(due, dt.date):
        errors["due"] = ["A date is needed."]
    if errors:
        raise BadInput(fields=errors)
    if assurance.status != AssuranceStatus.ACCEPTED:
        raise Conflict("Monitoring follows an accepted assurance.")
    return MonitoringTask.objects.create(assurance=assurance, kind=kind, due=due, created_by=actor, updated_by=actor)


def check_update_monitoring_task(
    actor: User, task: MonitoringTask, status: str, done_on: dt.date | None
) -> MonitoringTask:
    """Record a task's outcome (done on ``done_on``) or reopen it (status ``open``, no date).

    Raises:
        NotFound: the actor may not edit the case.
        BadInput: an unknown status, a done task without a date, or a date in the future.
    """
    if not can_edit_case(actor, task.assurance.case):
        raise NotFound
    if status not in MonitoringTask.Status.values:
        raise BadInput(fields={"status": ["Unknown status."]})
    if status == MonitoringTask.Status.OPEN:
        done_on = None
    elif done_on is None:
        raise BadInput(fields={"done_on": ["Give the date the task was done."]})
    elif done_on > timezone.localdate():
        raise BadInput(fields={"done_on": ["A task cannot be done in the future."]})
    task.status, task.done_on, task.updated_by = status, done_on, actor
    task.save(update_fields=["status", "done_on", "updated_by", "updated_at"])
    return task


def check_set_thread_handling(actor: User, thread: Thread, code: str | None) -> ThreadHandling | None:
    """Set (or clear, with ``None``) the handling code a thread's items inherit from now on.

    Items already accepted keep the code they were accepted with.

    Raises:
        Forbidden: not an officer or supervisor of one of the case's authorities.
        BadInput: an unknown code.
    """
    if actor.role not in (User.Role.OFFICER, User.Role.SUPERVISOR) or actor.authority_id not in thread.case.party_ids():
        raise Forbidden("Only officers and supervisors of the two authorities set a thread's handling code.")
    if code is not None and code not in HandlingCode.values:
        raise BadInput(fields={"code": ["Unknown handling code."]})
    with transaction.atomic():
        if code is None:
            ThreadHandling.objects.filter(thread=thread).delete()
            return None
        handling, _ = ThreadHandling.objects.update_or_create(thread=thread, defaults={"code": code, "set_by": actor})
    return handling
