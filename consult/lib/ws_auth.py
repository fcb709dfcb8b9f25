"""Session + second-factor authentication for WebSocket handshakes.

Channels' auth stack resolves the session user; this adds what django-otp's
middleware does for HTTP: the session's verified device must exist, be
confirmed and belong to that user. Consumers refuse the handshake unless
``scope["otp_verified"]`` is true (DESIGN §7).
"""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device


@database_sync_to_async
def _session_verified(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


class _OTPScopeMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope["otp_verified"] = await _session_verified(scope)
        return await super().__call__(scope, receive, send)


def VerifiedSessionMiddleware(inner: Any) -> Any:  # noqa: N802 - reads like the stack it wraps
    return AuthMiddlewareStack(_OTPScopeMiddleware(inner))
