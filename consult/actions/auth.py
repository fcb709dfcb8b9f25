"""Sign-in: password and second factor, with an account-wide lockout.

After ``COMITY_LOCKOUT_FAILURES`` failed password or code attempts on one
account within ``COMITY_LOCKOUT_WINDOW_SECONDS``, further attempts are refused
for ``COMITY_LOCKOUT_SECONDS`` without being evaluated. Every failure is
logged with the UTC time, the account and the IP address — never the
password or code that was tried.
"""

import logging
from datetime import timedelta

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login

from consult.conf import comity_settings
from consult.exceptions import InvalidCredentials, LockedOut
from consult.lib.events import notify_close, notify_session_closed, send_now, user_group
from consult.models import AuthFailure, User

logger = logging.getLogger("comity.auth")


def client_ip(request: HttpRequest) -> str | None:
    """The peer address; the TLS proxy's own is what daphne reports."""
    return request.META.get("REMOTE_ADDR") or None


def check_not_locked(user: User | None) -> None:
    """Raise :class:`LockedOut` while ``user`` is locked, before any evaluation."""
    if user is None or user.locked_until is None:
        return
    remaining = (user.locked_until - timezone.now()).total_seconds()
    if remaining > 0:
        raise LockedOut(retry_after=int(remaining) + 1)


def do_record_failure(request: HttpRequest, account: str, user: User | None, kind: str) -> None:
    """Log a failed attempt and lock the account once the threshold is hit.

    Locks the user row so that parallel attempts on several workers count
    every failure exactly once.
    """
    now = timezone.now()
    logger.warning(
        "auth failure kind=%s at=%s account=%s ip=%s",
        kind,
        now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        account,
        client_ip(request),
    )
    with transaction.atomic():
        AuthFailure.objects.create(user=user, account=account[:254], ip=client_ip(request), kind=kind, at=now)
        if user is None or kind == AuthFailure.Kind.LOCKED:
            return
        locked = User.objects.select_for_update().get(pk=user.pk)
        window_start = now - timedelta(seconds=comity_settings.COMITY_LOCKOUT_WINDOW_SECONDS)
        if locked.locked_until and locked.locked_until > window_start:
            window_start = locked.locked_until  # failures before the last lock are spent
        recent = AuthFailure.objects.filter(user=locked, at__gte=window_start).exclude(kind=AuthFailure.Kind.LOCKED)
        if recent.count() >= comity_settings.COMITY_LOCKOUT_FAILURES:
            locked.locked_until = now + timedelta(seconds=comity_settings.COMITY_LOCKOUT_SECONDS)
            locked.save(update_fields=["locked_until"])
            logger.warning("account locked account=%s until=%s", account, locked.locked_until.isoformat())


def check_password_login(request: HttpRequest, email: str, password: str) -> User:
    """Check e-mail and password, refusing without evaluation while locked.

    Returns:
        The authenticated user (not yet logged in: the view does that).
    Raises:
        LockedOut: too many recent failures on this account.
        InvalidCredentials: wrong e-mail or password (the same error for both).
    """
    email = email.strip().lower()
    known = User.objects.filter(email=email).first()
    try:
        check_not_locked(known)
    except LockedOut:
        do_record_failure(request, email, known, AuthFailure.Kind.LOCKED)
        raise
    user = authenticate(request, username=email, password=password)
    if user is None:
        do_record_failure(request, email, known, AuthFailure.Kind.PASSWORD)
        raise InvalidCredentials
    assert isinstance(user, User)
    return user


def check_second_factor(request: HttpRequest, user: User, token: str) -> None:
    """Verify a TOTP or backup code and mark the session verified.

    A TOTP code is accepted once only (django-otp keeps the last time step
    used) and a backup code is deleted when used.

    Raises:
        LockedOut: too many recent failures on this account.
        InvalidCredentials: the code matches none of the user's devices.
    """
    try:
        check_not_locked(User.objects.get(pk=user.pk))
    except LockedOut:
        do_record_failure(request, user.email, user, AuthFailure.Kind.LOCKED)
        raise
    token = "".join(token.split())
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(token):
                otp_login(request, device)
                return
    do_record_failure(request, user.email, user, AuthFailure.Kind.OTP)
    raise InvalidCredentials


def do_close_session_sockets(user: User, session_key: str | None) -> None:
    """Close the sockets opened with this session (signing out): the session is gone, so are they."""
    send_now(user_group(user.pk), notify_session_closed(user.pk, session_key))


def do_close_account_sockets(user: User, reason: str = "deactivated") -> None:
    """Close every socket of an account: deactivated or its ``"credentials"`` reset (signed out), or its ``"role"``
    changed (the browser opens them again, acting in the new role)."""
    send_now(user_group(user.pk), notify_close(user.pk, None, reason))
