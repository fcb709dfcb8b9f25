"""Publishing identities, registering and revoking devices, records keys (DESIGN §4).

The server verifies every certificate it stores and refuses what fails.
"""

from collections.abc import Mapping
from typing import Any

from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone

from consult.exceptions import BadInput, Conflict, NotFound
from consult.lib import envelopes as check
from consult.lib.events import notify_close, notify_session_closed, send_event_on_commit, user_group
from consult.lib.protocol import (
    MAX_PBKDF2_ITERATIONS,
    PBKDF2_ITERATIONS,
    allowed_iterations,
    device_certificate_bytes,
    records_certificate_bytes,
    succession_bytes,
)
from consult.models import Authority, Device, DeviceSession, IdentityKey, RecordsKey, ReplacedIdentity, User

WRAPPED_FIELDS = frozenset({"kdf", "iter", "salt", "iv", "ct"})
IDENTITY_FIELDS = frozenset({"identity", "backup", "identity_wrapped", "backup_wrapped"})


def check_wrapped_key(wrapped: Any, field: str) -> dict[str, Any]:
    """A passphrase-wrapped private key ``{"kdf","iter","salt","iv","ct"}`` (DESIGN §4)."""
    wrapped = check.exact_fields(wrapped, field, WRAPPED_FIELDS)
    if wrapped["kdf"] != "PBKDF2-SHA256":
        raise check.fail(f"{field}.kdf", "must be PBKDF2-SHA256")
    if not allowed_iterations(wrapped["iter"]):
        raise check.fail(f"{field}.iter", f"must be {PBKDF2_ITERATIONS}..{MAX_PBKDF2_ITERATIONS}")
    check.binary(wrapped["salt"], f"{field}.salt", 16)
    check.binary(wrapped["iv"], f"{field}.iv", check.IV_BYTES)
    check.binary(wrapped["ct"], f"{field}.ct", minimum=check.TAG_BYTES + 32, maximum=512)
    return dict(wrapped)


def check_publish_identity(user: User, data: Mapping[str, Any], session_key: str | None = None) -> IdentityKey:
    """Publish (or replace) the user's identity and backup keys.

    Replacing the identity key revokes every device it certified: their
    certificates no longer verify, and counterparts must re-verify. The new
    key must vouch for the one it replaces (``succession``, a signature over
    :func:`~consult.lib.protocol.succession_bytes`), so that what the old
    devices signed stays verifiable. The session that replaces it
    (``session_key``) stays signed in to certify a new device.
    """
    optional = {"succession"} & set(data) if isinstance(data, dict) else set()
    data = check.exact_fields(data, "identity", IDENTITY_FIELDS | optional)
    new_identity = check.point(data["identity"], "identity")
    fields = {
        "identity_public": new_identity,
        "backup_public": check.point(data["backup"], "backup"),
        "identity_wrapped": check_wrapped_key(data["identity_wrapped"], "identity_wrapped"),
        "backup_wrapped": check_wrapped_key(data["backup_wrapped"], "backup_wrapped"),
    }
    with transaction.atomic():
        previous = IdentityKey.objects.select_for_update().filter(user=user).first()
        if previous is not None and previous.identity_public != new_identity:
            ReplacedIdentity.objects.create(
                user=user,
                identity_public=previous.identity_public,
                successor_public=new_identity,
                successor_sig=_checked_succession(user, previous.identity_public, new_identity, data),
            )
            for device in Device.objects.filter(user=user, revoked_at__isnull=True):
                do_revoke_device(device, keep_session=session_key)
        elif previous is None and "succession" in data:  # (on the same key again, a retried replacement: no-op)
            raise check.fail("succession", "a first identity key has no key to replace")
        identity, _ = IdentityKey.objects.update_or_create(user=user, defaults=fields)
    return identity


def _checked_succession(user: User, previous: str, identity: str, data: Mapping[str, Any]) -> str:
    """The new identity's signature vouching for ``previous``, once checked."""
    if "succession" not in data:
        raise check.fail("succession", "a new identity key must sign the one it replaces")
    check.binary(data["succession"], "succession", check.SIGNATURE_BYTES)
    check.check_signature(succession_bytes(str(user.pk), previous, identity), data["succession"], identity)
    return str(data["succession"])


def check_register_device(user: User, data: Mapping[str, Any]) -> Device:
    """Register a device whose certificate the user's identity key signed."""
    data = check.exact_fields(data, "device", {"v", "user", "device", "dh", "sig", "certificate"})
    if type(data["v"]) is not int or data["v"] != 1 or data["user"] != str(user.pk):
        raise check.fail("user", "must be v1 and name you")
    device_id = check.device_id(data["device"], "device")
    dh, sig = check.point(data["dh"], "dh"), check.point(data["sig"], "sig")
    identity = IdentityKey.objects.filter(user=user).first()
    if identity is None:
        raise BadInput("Publish your identity key before registering a device.")
    signed = device_certificate_bytes(str(user.pk), device_id, dh, sig)
    check.check_signature(signed, data["certificate"], identity.identity_public)
    try:
        with transaction.atomic():
            return Device.objects.create(
                id=device_id, user=user, dh_public=dh, sig_public=sig, certificate=data["certificate"],
                identity_public=identity.identity_public,
            )  # fmt: skip
    except IntegrityError:
        raise Conflict("This device id is already registered.") from None


def do_revoke_device(device: Device, keep_session: str | None = None) -> None:
    """Revoke a device; its sockets close, and it receives no further keys.

    The sessions that acted as it end too, but for ``keep_session``, the
    signed-in user's own doing the revocation.
    """
    device.revoked_at = timezone.now()
    device.save(update_fields=["revoked_at"])
    group = user_group(device.user_id)
    bound = DeviceSession.objects.filter(device=device).exclude(session_id=keep_session).values("session_id")
    sessions = Session.objects.filter(pk__in=bound)
    # The sessions' closes go first: their sockets get "signed out" (4401), on which the browser
    # stops reconnecting, rather than "revoked" (4403), on which it would try again.
    for session_key in sessions.values_list("pk", flat=True):
        send_event_on_commit(group, notify_session_closed(device.user_id, session_key))
    sessions.delete()
    send_event_on_commit(group, notify_close(device.user_id, None, f"device:{device.pk}"))


def check_device_unrevoked(device: Device) -> None:
    """Refuse a socket's device revoked since the socket opened: its close event may still be on its way."""
    if not Device.objects.filter(pk=device.pk, revoked_at__isnull=True).exists():
        raise NotFound


def check_revoke_device(user: User, device_id: str, session_key: str | None = None) -> None:
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(pk=device_id, user=user, revoked_at__isnull=True).first()
        if device is None:
            raise NotFound
        do_revoke_device(device, keep_session=session_key)


def check_publish_records_key(user: User, authority: Authority, data: Mapping[str, Any]) -> RecordsKey:
    """A supervisor publishes (or rotates) the authority's records key."""
    if user.role != User.Role.SUPERVISOR or user.authority_id != authority.pk:
        raise NotFound
    data = check.exact_fields(data, "records_key", {"v", "authority", "certified_by", "dh", "certificate", "wrapped"})
    if (
        type(data["v"]) is not int
        or data["v"] != 1
        or data["authority"] != authority.code
        or data["certified_by"] != str(user.pk)
    ):
        raise check.fail("certified_by", "must be v1, this authority, and you")
    dh = check.point(data["dh"], "dh")
    wrapped = None if data["wrapped"] is None else check_wrapped_key(data["wrapped"], "wrapped")
    identity = IdentityKey.objects.filter(user=user).first()
    if identity is None:
        raise BadInput("Publish your identity key before certifying a records key.")
    signed = records_certificate_bytes(authority.code, str(user.pk), dh)
    check.check_signature(signed, data["certificate"], identity.identity_public)
    with transaction.atomic():
        RecordsKey.objects.select_for_update().filter(authority=authority, retired_at__isnull=True).update(
            retired_at=timezone.now()
        )
        return RecordsKey.objects.create(
            authority=authority, dh_public=dh, certified_by=user, certificate=data["certificate"], wrapped=wrapped
        )


def current_records_key(authority_id: int) -> RecordsKey | None:
    return RecordsKey.objects.filter(authority_id=authority_id, retired_at__isnull=True).first()
