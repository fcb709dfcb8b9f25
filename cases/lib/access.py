"""Who may see a case (DESIGN §1).

A user sees a case only if their authority is a party *and* they are assigned;
supervisors see every case of their authority. Liaison officers never see the
case list, and admins see metadata only through the Django admin. Everyone
else gets :class:`~django.http.Http404`, never 403, so that the existence of a
case is not disclosed.
"""

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404

from cases.models import Assurance, Case, Deadline, MonitoringTask, Notification
from consult.models import User


def visible_cases(user: User) -> QuerySet[Case]:
    """The cases ``user`` may see, as a queryset to filter further."""
    if not user.is_authenticated or user.authority_id is None:
        return Case.objects.none()
    parties = Q(requesting_authority_id=user.authority_id) | Q(requested_authority_id=user.authority_id)
    if user.role == User.Role.SUPERVISOR:
        return Case.objects.filter(parties)
    if user.role == User.Role.OFFICER:
        return Case.objects.filter(parties, assignments__user=user)
    return Case.objects.none()


def visible_notifications(user: User) -> QuerySet[Notification]:
    """``user``'s deadline notices of cases they may still see: an officer taken off a case loses its notices."""
    return Notification.objects.filter(user=user, case__in=visible_cases(user))


def access_case(user: User, case_id: uuid.UUID | str) -> Case:
    """Fetch a case ``user`` may see, or raise ``Http404`` as for a missing one."""
    try:
        key = uuid.UUID(str(case_id))
    except ValueError:
        raise Http404 from None
    case = visible_cases(user).select_related("requesting_authority", "requested_authority").filter(pk=key).first()
    if case is None:
        raise Http404
    return case


def can_edit_case(user: User, case: Case) -> bool:
    """Officers and supervisors who can see a case may edit its metadata."""
    return user.role in (User.Role.OFFICER, User.Role.SUPERVISOR) and user.authority_id in case.party_ids()


def can_see_statistics(user: User) -> bool:
    """Statistics are for supervisors, over their own authority's cases (DESIGN §1)."""
    return bool(user.is_authenticated and user.role == User.Role.SUPERVISOR and user.authority_id is not None)


def access_statistics(user: User) -> int:
    """The authority whose statistics ``user`` may read, or ``Http404`` as for a missing page."""
    if not can_see_statistics(user):
        raise Http404
    assert user.authority_id is not None
    return user.authority_id


def _key(value: object) -> int:
    """A row id from a URL: 1 to 18 ASCII digits (within a 64-bit key), else ``Http404``."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise Http404
    return int(text)


def access_assurance(user: User, assurance_id: object) -> Assurance:
    """An assurance of a case ``user`` sees, or ``Http404``."""
    found = Assurance.objects.filter(pk=_key(assurance_id), case__in=visible_cases(user)).select_related("case").first()
    if found is None:
        raise Http404
    return found


def access_monitoring_task(user: User, task_id: object) -> MonitoringTask:
    """A monitoring task of an assurance ``user`` sees, or ``Http404``."""
    found = (
        MonitoringTask.objects.filter(pk=_key(task_id), assurance__case__in=visible_cases(user))
        .select_related("assurance__case")
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_deadline(user: User, deadline_id: object) -> Deadline:
    """A deadline of a case ``user`` sees, or ``Http404``."""
    found = (
        Deadline.objects.filter(pk=_key(deadline_id), case__in=visible_cases(user))
        .select_related("case", "limit")
        .first()
    )
    if found is None:
        raise Http404
    return found
