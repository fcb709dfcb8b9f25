"""Treaty profiles applied to cases, extensions and met deadlines (docs/decisions.md, "Deadlines").

A case's computed deadlines are :class:`~cases.models.Deadline` rows with a
``limit``; :func:`do_recompute_deadlines` keeps them in step with the case's
profile, its start events and the extensions granted. Hand-entered deadlines
(no ``limit``) are left alone.
"""

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from cases.lib.access import can_edit_case
from cases.lib.deadlines import add_days, parse_holidays
from cases.models import Case, CaseEvent, Deadline, StartEvent, TreatyProfile
from consult.exceptions import BadInput, NotFound
from consult.models import User


def check_set_deadline_profile(
    actor: User, case: Case, profile_code: str | None, events: Mapping[str, dt.date | None]
) -> Case:
    """Choose the case's treaty profile and record the dates its limits run from.

    Args:
        actor: an officer or supervisor of a party who sees the case.
        case: the case (already fetched through ``access_case``).
        profile_code: an active profile's code, or ``None`` for no profile.
        events: start events to set (a date) or clear (``None``); events not
            named are kept.

    Raises:
        NotFound: the actor may not edit the case.
        BadInput: an unknown profile or event, or a date that is not a date.
    """
    if not can_edit_case(actor, case):
        raise NotFound
    errors: dict[str, list[str]] = {}
    profile = None
    if profile_code:
        profile = TreatyProfile.objects.filter(code=profile_code, active=True).first()
        if profile is None:
            errors["profile"] = [f"Unknown treaty profile {profile_code!r}."]
    for event, on in events.items():
        if event not in StartEvent.values:
            errors.setdefault("events", []).append(f"Unknown event {event!r}.")
        elif on is not None and not isinstance(on, dt.date):
            errors.setdefault("events", []).append(f"{event}: a date is needed.")
    if errors:
        raise BadInput(fields=errors)
    with transaction.atomic():
        case.treaty_profile = profile
        case.save(update_fields=["treaty_profile", "updated_at"])
        for event, on in events.items():
            if on is None:
                CaseEvent.objects.filter(case=case, event=event).delete()
            else:
                CaseEvent.objects.update_or_create(case=case, event=event, defaults={"on": on, "recorded_by": actor})
        do_recompute_deadlines(case)
    return case


def do_recompute_deadlines(case: Case) -> list[Deadline]:
    """Bring the case's computed deadlines in line with its profile, events and extensions.

    Returns:
        The computed deadlines that now run, in due order.
    """
    current = {d.limit_id: d for d in Deadline.objects.filter(case=case, limit__isnull=False)}
    running: list[Deadline] = []
    profile = case.treaty_profile
    if profile is not None:
        starts = dict(CaseEvent.objects.filter(case=case).values_list("event", "on"))
        holidays = parse_holidays(profile.holidays)
        for limit in profile.limits.all():
            start = starts.get(limit.start_event)
            if start is None:
                continue
            deadline = current.get(limit.pk) or Deadline(case=case, limit=limit)
            deadline.label, deadline.start = limit.label, start
            deadline.due = add_days(start, limit.days + deadline.extension_days, limit.day_type, holidays)
            deadline.save()
            running.append(deadline)
    kept = [d.pk for d in running]
    Deadline.objects.filter(case=case, limit__isnull=False).exclude(pk__in=kept).delete()
    return sorted(running, key=lambda d: (d.due, d.pk))


def check_extend_deadline(actor: User, deadline: Deadline, days: int) -> Deadline:
    """Grant an extension of a treaty limit: ``days`` in all, at most what the limit allows.

    Raises:
        NotFound: the actor may not edit the case.
        BadInput: a hand-entered deadline, or more days than the limit allows.
    """
    if not can_edit_case(actor, deadline.case):
        raise NotFound
    limit = deadline.limit
    if limit is None:
        raise BadInput(fields={"days": ["Only treaty limits are extended; change a hand-entered date instead."]})
    if type(days) is not int or not 0 <= days <= limit.extension_days:
        raise BadInput(fields={"days": [f"This limit may be extended by 0 to {limit.extension_days} days."]})
    with transaction.atomic():
        deadline.extension_days = days
        deadline.save(update_fields=["extension_days"])
        do_recompute_deadlines(deadline.case)
    deadline.refresh_from_db()
    return deadline


def check_mark_deadline_met(actor: User, deadline: Deadline, on: dt.date | None) -> Deadline:
    """Record that a deadline was met on ``on`` (its countdown and notices stop), or reopen it (``None``).

    Raises:
        NotFound: the actor may not edit the case.
        BadInput: a date in the future.
    """
    if not can_edit_case(actor, deadline.case):
        raise NotFound
    if on is not None and on > timezone.localdate():
        raise BadInput(fields={"met_on": ["A deadline cannot be met in the future."]})
    deadline.met_on = on
    deadline.save(update_fields=["met_on"])
    return deadline
