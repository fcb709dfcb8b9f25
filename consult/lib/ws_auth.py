"""Session + second-factor authentication for WebSocket handshakes.

A socket reads its session once, at the handshake, and never writes it. So
instead of Channels' session and auth middleware (which give the consumer a
lazy user, resolved again on every attribute read, and wrap every outgoing
frame in a check whether the session needs saving), the handshake loads the
session and its user once, with Channels' own ``get_user``, and puts both in
the scope. It then adds what django-otp's middleware does for HTTP: the
session's verified device must exist, be confirmed and belong to that user.
Consumers refuse the handshake unless ``scope["otp_verified"]`` is true
(DESIGN §7), and close the socket when its session ends
(:func:`session_seconds_left`).
"""

from datetime import datetime
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device


def _second_factor_holds(user: Any, persistent_id: str | None) -> bool:
    """Whether the session's verified OTP device still exists, is confirmed and is ``user``'s."""
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


@database_sync_to_async
def _session_verified(scope: dict[str, Any]) -> bool:
    user, session = scope["user"], scope["session"]
    return bool(user.is_authenticated) and _second_factor_holds(user, session.get(DEVICE_ID_SESSION_KEY))


class _VerifiedSession(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        scope = dict(scope, session=store(scope["cookies"].get(settings.SESSION_COOKIE_NAME)))
        scope["user"] = await get_user(scope)
        scope["otp_verified"] = await _session_verified(scope)
        return await super().__call__(scope, receive, send)


def session_seconds_left(session_key: str | None, user_id: str) -> float:
    """Seconds until a socket's session expires; 0 once it no longer signs the user in as the handshake did.

    That is: the session expired or was signed out, the account was
    deactivated, its password changed since (Django's session hash, as HTTP
    checks it), or the session's second factor is gone (an enrolment link
    resets both). Read from the session store's row, whose expiry moves when
    the session is saved again, rather than from the cookie age the handshake
    saw (sessions live in the database, Django's default engine, which Comity
    keeps).
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    row = store.model.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).first()
    if row is None:
        return 0
    data = store.decode(row.session_data)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or str(data.get(SESSION_KEY)) != user_id:
        return 0
    if not constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return 0
    if not _second_factor_holds(user, data.get(DEVICE_ID_SESSION_KEY)):
        return 0
    expires: datetime = row.expire_date
    return (expires - timezone.now()).total_seconds()


def VerifiedSessionMiddleware(inner: Any) -> Any:  # noqa: N802 - reads like the stack it wraps
    return CookieMiddleware(_VerifiedSession(inner))
