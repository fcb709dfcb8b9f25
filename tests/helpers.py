"""Shared factories for tests: authorities, people, verified sessions."""

import itertools
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.actions.cases import check_create_case, check_set_assignments
from cases.models import Case
from consult.actions.accounts import do_create_authority, do_create_user
from consult.models import Authority, User

PASSWORD = "a-long-test-password-1"
_serial = itertools.count(1)


def make_authority(code: str | None = None, country: str = "FR") -> Authority:
    code = code or f"{country}-T{next(_serial)}"
    return do_create_authority(code, country, f"Authority {code}")


def make_user(authority: Authority | None, role: str = User.Role.OFFICER, email: str | None = None) -> User:
    email = email or f"user{next(_serial)}@example.org"
    return do_create_user(email, email.split("@")[0], role, authority, password=PASSWORD)


def add_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_now(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the authenticator would show now (or ``offset_steps`` later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def verified_client(user: User, **kwargs: Any) -> Client:
    """A test client whose session is signed in and OTP-verified."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or add_totp(user)
    client = Client(**kwargs)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_case(actor: User, counterpart: Authority, **fields: Any) -> Case:
    assert actor.authority is not None
    data = {
        "requesting_authority": actor.authority.code,
        "requested_authority": counterpart.code,
        "requesting_reference": f"REF-{next(_serial)}",
        "kind": Case.Kind.EXTRADITION,
        "legal_basis": Case.LegalBasis.RECIPROCITY,
    }
    data.update(fields)
    return check_create_case(actor, data)


def assign(actor: User, case: Case, *officers: User) -> None:
    check_set_assignments(actor, case, [o.pk for o in officers])
