"""Creating, editing and staffing cases: the one write path for case metadata."""

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.lib.access import can_edit_case
from cases.models import Assignment, Case, Deadline
from consult.actions.retention import do_record_case_status
from consult.exceptions import BadInput, NotFound
from consult.models import Authority, User

# Fields a party may change after creation; the parties themselves never change.
EDITABLE_FIELDS = (
    "requesting_reference",
    "requested_reference",
    "kind",
    "legal_basis",
    "legal_basis_name",
    "status",
    "interpol_notice",
    "outcome",
    "outcome_on",
)
# What an omitted or null field becomes: dates are null, text is empty.
_BLANK: dict[str, Any] = {"outcome_on": None}


def _value(field: str, value: Any) -> Any:
    return _BLANK.get(field, "") if value is None or value == "" else value


def _authority(code: Any, field: str, errors: dict[str, list[str]]) -> Authority | None:
    found = Authority.objects.filter(code=str(code or "").strip().upper()).first()
    if found is None:
        errors.setdefault(field, []).append(f"Unknown authority {code!r}.")
    return found


def _check_deadlines(raw: Iterable[Mapping[str, Any]], errors: dict[str, list[str]]) -> list[tuple[str, dt.date]]:
    deadlines: list[tuple[str, dt.date]] = []
    for index, item in enumerate(raw):
        label = str(item.get("label") or "").strip()
        due = item.get("due")
        if not label or len(label) > 120:
            errors.setdefault("deadlines", []).append(f"Deadline {index + 1}: a label of 1 to 120 characters.")
        if not isinstance(due, dt.date):
            errors.setdefault("deadlines", []).append(f"Deadline {index + 1}: a date is needed.")
        if isinstance(due, dt.date):
            deadlines.append((label, due))
    return deadlines


def _check_outcome(case: Case, errors: dict[str, list[str]]) -> None:
    """An outcome comes with its date, on or after the opening and not in the future (statistics count it)."""
    if bool(case.outcome) != bool(case.outcome_on):
        errors.setdefault("outcome_on", []).append("Give both the outcome and its date, or neither.")
    elif isinstance(case.outcome_on, dt.date):
        opened = timezone.localdate(case.opened_at) if case.opened_at else timezone.localdate()
        if case.outcome_on > timezone.localdate():
            errors.setdefault("outcome_on", []).append("The outcome cannot be in the future.")
        elif case.outcome_on < opened:
            errors.setdefault("outcome_on", []).append("The outcome cannot precede the opening of the case.")


def _check_case(case: Case, errors: dict[str, list[str]]) -> None:
    if case.legal_basis == Case.LegalBasis.BILATERAL and not case.legal_basis_name.strip():
        errors.setdefault("legal_basis_name", []).append("Name the bilateral treaty.")
    if "outcome_on" not in errors:
        _check_outcome(case, errors)
    try:
        case.full_clean(exclude=["requesting_authority", "requested_authority", "created_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise BadInput(fields=errors)


def check_create_case(actor: User, data: Mapping[str, Any]) -> Case:
    """Validate and open a case between the actor's authority and another.

    Args:
        actor: an officer or supervisor of one of the two parties.
        data: authority codes, references, kind, legal basis, status,
            INTERPOL notice and ``deadlines`` (label and ``date``).
    Raises:
        BadInput: with the fields at fault; nothing is written.
    """
    if actor.role not in (User.Role.OFFICER, User.Role.SUPERVISOR) or actor.authority_id is None:
        raise NotFound
    errors: dict[str, list[str]] = {}
    requesting = _authority(data.get("requesting_authority"), "requesting_authority", errors)
    requested = _authority(data.get("requested_authority"), "requested_authority", errors)
    if requesting and requested:
        if requesting == requested:
            errors.setdefault("requested_authority", []).append("A case links two different authorities.")
        elif actor.authority_id not in (requesting.pk, requested.pk):
            errors.setdefault("requesting_authority", []).append("Your authority must be one of the two parties.")
    case = Case(created_by=actor, **{f: _value(f, data.get(f)) for f in EDITABLE_FIELDS})
    case.status = case.status or Case.Status.OPEN
    deadlines = _check_deadlines(data.get("deadlines") or [], errors)
    _check_case(case, errors)
    assert requesting is not None and requested is not None
    case.requesting_authority, case.requested_authority = requesting, requested
    with transaction.atomic():
        case.save()
        Deadline.objects.bulk_create([Deadline(case=case, label=label, due=due) for label, due in deadlines])
        if actor.role == User.Role.OFFICER:
            Assignment.objects.create(case=case, user=actor, assigned_by=actor)
    return case


def check_update_case(actor: User, case: Case, data: Mapping[str, Any]) -> Case:
    """Change a case's metadata; ``deadlines``, if given, replaces the hand-entered ones.

    Raises:
        BadInput: with the fields at fault; nothing is written.
    """
    if not can_edit_case(actor, case):
        raise NotFound
    errors: dict[str, list[str]] = {}
    status_before = case.status
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(case, field, _value(field, data[field]))
    deadlines = _check_deadlines(data["deadlines"], errors) if "deadlines" in data else None
    _check_case(case, errors)
    with transaction.atomic():
        case.save()
        if case.status != status_before:
            do_record_case_status(case, actor, status_before, case.status)
        if deadlines is not None:
            case.deadlines.filter(limit__isnull=True).delete()  # computed deadlines follow the profile
            Deadline.objects.bulk_create([Deadline(case=case, label=label, due=due) for label, due in deadlines])
    return case


def check_set_assignments(actor: User, case: Case, user_ids: Iterable[object]) -> list[User]:
    """Set which officers of the actor's own authority work on the case.

    Each side staffs its own officers; the other side's assignments are left
    as they are. Supervisors see every case of their authority anyway.

    Raises:
        BadInput: an id that is not an active officer of the actor's authority.
    """
    if not can_edit_case(actor, case) or actor.authority_id is None:
        raise NotFound
    try:
        wanted = {str(uuid.UUID(str(i))) for i in user_ids}
    except ValueError:
        raise BadInput(fields={"officers": ["Not a user id."]}) from None
    officers = list(
        User.objects.filter(authority_id=actor.authority_id, role=User.Role.OFFICER, is_active=True, pk__in=wanted)
    )
    unknown = wanted - {str(u.pk) for u in officers}
    if unknown:
        raise BadInput(fields={"officers": ["Only active officers of your authority can be assigned."]})
    with transaction.atomic():
        Assignment.objects.filter(case=case, user__authority_id=actor.authority_id).exclude(user__in=officers).delete()
        existing = set(Assignment.objects.filter(case=case).values_list("user_id", flat=True))
        Assignment.objects.bulk_create(
            [Assignment(case=case, user=u, assigned_by=actor) for u in officers if u.pk not in existing]
        )
    return officers
