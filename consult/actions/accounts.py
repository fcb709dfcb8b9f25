"""Provisioning authorities and accounts, and enrolling a second factor."""

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from consult.actions.auth import do_close_account_sockets
from consult.conf import comity_settings
from consult.exceptions import BadInput, NotFound
from consult.models import Authority, EnrolmentToken, User


def _validated(instance: Authority | User, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise BadInput(fields=exc.message_dict) from None


def do_create_authority(code: str, country: str, name: str, kind: str = Authority.Kind.CENTRAL) -> Authority:
    authority = Authority(code=code.strip().upper(), country=country.strip().upper(), name=name.strip(), kind=kind)
    _validated(authority)
    authority.save()
    return authority


def do_create_user(
    email: str,
    display_name: str,
    role: str,
    authority: Authority | None,
    password: str | None = None,
) -> User:
    """Create an account; with no password it can only be entered by enrolment link."""
    user = User(email=email.strip().lower(), display_name=display_name.strip(), role=role, authority=authority)
    user.is_staff = role == User.Role.ADMIN
    if role != User.Role.ADMIN and authority is None:
        raise BadInput(fields={"authority": ["Every officer, liaison and supervisor belongs to an authority."]})
    _validated(user, exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def do_issue_enrolment_link(user: User) -> str:
    """Make a single-use, expiring enrolment token and return it (shown once)."""
    token = secrets.token_urlsafe(32)
    EnrolmentToken.objects.create(
        user=user,
        token_sha256=EnrolmentToken.digest(token),
        expires_at=timezone.now() + timedelta(seconds=comity_settings.COMITY_ENROLMENT_LINK_SECONDS),
    )
    return token


def access_enrolment_token(token: str) -> EnrolmentToken:
    """The unused, unexpired enrolment token, or :class:`NotFound`."""
    found = (
        EnrolmentToken.objects.select_related("user")
        .filter(token_sha256=EnrolmentToken.digest(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if found is None or not found.user.is_active:
        raise NotFound("This enrolment link is not valid: it may have expired or been used.")
    return found


def enrolment_url(token: str) -> str:
    """The link an operator hands over for ``token`` (printed by ``add_user`` and ``enrolment_link``)."""
    base: str = comity_settings.COMITY_BASE_URL
    return base.rstrip("/") + reverse("enrol-link", args=[token])


def do_redeem_enrolment(token: str, password: str) -> User:
    """Set the password from an enrolment link and spend the link.

    The user's old second-factor devices are removed, so the link is also how
    an operator resets a lost authenticator.
    """
    with transaction.atomic():
        enrolment = access_enrolment_token(token)
        enrolment = EnrolmentToken.objects.select_for_update().get(pk=enrolment.pk)
        if enrolment.used_at is not None:
            raise NotFound("This enrolment link has already been used.")
        user = enrolment.user
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise BadInput(fields={"password": list(exc.messages)}) from None
        user.set_password(password)
        user.locked_until = None
        user.save(update_fields=["password", "locked_until"])
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        enrolment.used_at = timezone.now()
        enrolment.save(update_fields=["used_at"])
    do_close_account_sockets(user, "credentials")  # HTTP refuses the old sessions now; their sockets end too
    return user


def has_second_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def do_start_totp(user: User) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, made if missing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    return device


def do_confirm_totp(user: User, device: TOTPDevice) -> list[str]:
    """Confirm the authenticator (its first code was checked) and issue backup codes.

    Returns:
        The fresh single-use backup codes, to be shown once.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(comity_settings.COMITY_BACKUP_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=backup, token=code) for code in codes])
    return codes
