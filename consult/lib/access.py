"""Who may use a thread, a device or a user's keys (DESIGN §1).

``access_*`` functions fetch an object *and* enforce permission, raising
:class:`~consult.exceptions.NotFound` for outsiders exactly as for a thing
that does not exist. A thread's expired invitations end (consult.actions.threads)
before its membership is looked at, so an expired liaison is an outsider at once.
"""

import uuid

from django.db.models import Q

from cases.lib.access import visible_cases
from cases.models import Case
from consult.actions.threads import end_due_memberships
from consult.exceptions import NotFound
from consult.models import Device, Membership, RecordsKey, Thread, User


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def is_member(user: User, thread_id: uuid.UUID | str) -> bool:
    return Membership.objects.filter(thread_id=thread_id, user=user, ended_at__isnull=True).exists()


def access_thread_member(user: User, thread_id: object) -> Thread:
    """A thread ``user`` is a current member of."""
    key = _uuid(thread_id)
    end_due_memberships(key)
    thread = Thread.objects.filter(pk=key, memberships__user=user, memberships__ended_at__isnull=True).first()
    if thread is None:
        raise NotFound
    return thread


def access_thread_from_device(user: User, device_id: str, thread_id: object) -> Thread:
    """A thread ``user`` is a current member of, asked from a device still unrevoked (a socket's ``sub``)."""
    access_device(user, device_id)
    return access_thread_member(user, thread_id)


def access_thread(user: User, thread_id: object) -> Thread:
    """A thread ``user`` may see the metadata of: members, and staff who see its case."""
    key = _uuid(thread_id)
    end_due_memberships(key)
    thread = (
        Thread.objects.filter(pk=key)
        .filter(Q(memberships__user=user, memberships__ended_at__isnull=True) | Q(case__in=visible_cases(user)))
        .select_related("case")
        .first()
    )
    if thread is None:
        raise NotFound
    return thread


def access_device(user: User, device_id: object) -> Device:
    """One of ``user``'s certified, unrevoked devices."""
    device = Device.objects.filter(pk=str(device_id), user=user, revoked_at__isnull=True).first()
    if device is None:
        raise NotFound
    return device


def access_user_keys(viewer: User, user_id: object) -> User:
    """A user whose public keys ``viewer`` may fetch to include them in a thread, or to check a records key.

    Colleagues of the same authority, people ``viewer`` shares a thread with,
    staff of a counterpart in a case ``viewer`` sees, and liaison officers
    (whom any officer may invite). Also, even once deactivated, whoever
    certified the current records key of a party to a thread ``viewer`` is
    in or a case ``viewer`` sees: every epoch key is wrapped to that key, so
    each client checks its certificate first.
    """
    target = User.objects.filter(pk=_uuid(user_id)).select_related("authority").first()
    if target is None or viewer.authority_id is None:
        raise NotFound
    if target.is_active and _may_include(viewer, target):
        return target
    if _certifies_records_key_for(target, viewer):
        return target
    raise NotFound


def _may_include(viewer: User, target: User) -> bool:
    """Whether ``viewer`` may include ``target`` in a thread (see :func:`access_user_keys`)."""
    if target.authority_id == viewer.authority_id or target.role == User.Role.LIAISON:
        return True
    shared_thread = Membership.objects.filter(
        user=target, ended_at__isnull=True, thread__memberships__user=viewer, thread__memberships__ended_at__isnull=True
    ).exists()
    counterpart = visible_cases(viewer).filter(
        Q(requesting_authority_id=target.authority_id) | Q(requested_authority_id=target.authority_id)
    )
    return shared_thread or counterpart.exists()


def _certifies_records_key_for(certifier: User, viewer: User) -> bool:
    """Whether ``certifier`` certified the current records key of a party whose case ``viewer`` works on."""
    certified = RecordsKey.objects.filter(certified_by=certifier, retired_at__isnull=True).values("authority_id")
    party = Q(requesting_authority_id__in=certified) | Q(requested_authority_id__in=certified)
    in_thread = Membership.objects.filter(user=viewer, ended_at__isnull=True).values("thread__case_id")
    return Case.objects.filter(party, pk__in=in_thread).exists() or visible_cases(viewer).filter(party).exists()
