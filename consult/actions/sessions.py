"""Which sign-in sessions acted as which device, so that revoking a device ends them (consult.actions.devices)."""

import contextlib

from django.db import IntegrityError, transaction

from consult.actions.devices import check_device_unrevoked
from consult.lib.access import access_device
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
