"""Which sign-in sessions acted as which device, so that revoking a device ends them (consult.actions.devices).

Also what an open socket asks of the database now and then
(:func:`socket_lapse`): close events end sockets at once, but they travel
by the channel layer and may be lost, and the database is the truth.
"""

import contextlib
from collections.abc import Iterable
from typing import Literal

from django.db import IntegrityError, transaction

from consult.actions.devices import check_device_unrevoked
from consult.exceptions import NotFound
from consult.lib.access import access_device, access_thread_member
from consult.lib.ws_auth import session_seconds_left
from consult.models import Device, DeviceSession, User


def do_bind_session(session_key: str | None, device: Device) -> None:
    """Note that a session acted as ``device`` (registered it, opened a socket or read keys as it)."""
    if not session_key:
        return
    # A session signed out meanwhile has no row left to point to: nothing to bind.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        DeviceSession.objects.get_or_create(device=device, session_id=session_key)


def check_session_device(user: User, device_id: object, session_key: str | None) -> Device:
    """One of ``user``'s unrevoked devices, which this session now acts as."""
    device = access_device(user, device_id)
    do_bind_session(session_key, device)
    # Checked again once bound: a revocation committed between the two found no binding to end.
    check_device_unrevoked(device)
    return device


Lapse = Literal["signed out", "revoked"]


def socket_lapse(
    user: User, device_id: str, session_key: str | None, threads: Iterable[str]
) -> tuple[Lapse | None, float]:
    """What has ended for a socket opened as ``user`` on ``device_id``, and its session's seconds left.

    "signed out": its session no longer signs the user in (expired, signed
    out, password or second factor reset, account deactivated) or its device
    was revoked, as the close events for those say. "revoked": the account's
    role changed (the socket reopens with the new one) or it is no longer a
    member of one of ``threads``.
    """
    remaining = session_seconds_left(session_key, str(user.pk))
    try:
        access_device(user, device_id)
    except NotFound:
        remaining = 0
    if remaining <= 0:
        return "signed out", 0
    if User.objects.filter(pk=user.pk).values_list("role", flat=True).first() != user.role:
        return "revoked", remaining
    for thread in threads:
        try:
            access_thread_member(user, thread)
        except NotFound:
            return "revoked", remaining
    return None, remaining
