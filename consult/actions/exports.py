"""Exporting a thread's record (DESIGN §5 "Export").

Only supervisors of one of the case's two authorities may export, after a
fresh second-factor check; everyone else gets not-found. The export itself
becomes an entry, so the record shows who took it and when. The server hands
out ciphertext, certificates and keys' public halves: the supervisor's
browser decrypts with the authority's records key.
"""

import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user

from consult.actions.auth import check_not_locked, do_record_failure
from consult.actions.records import do_append_entry
from consult.actions.threads import end_due_memberships, locked_thread
from consult.exceptions import InvalidCredentials, NotFound
from consult.lib.bundle import FORMAT
from consult.lib.entries import entry_item
from consult.lib.server_key import server_public_key_b64u
from consult.models import AuthFailure, Device, Entry, IdentityKey, Membership, RecordsKey, Thread, User
from consult.models.blobs import Blob


def access_record(user: User, thread_id: str) -> Thread:
    """A thread whose record ``user`` may export: supervisors of a party authority."""
    thread = Thread.objects.filter(pk=thread_id).select_related("case").first() if _is_uuid(thread_id) else None
    if thread is None or user.role != User.Role.SUPERVISOR or user.authority_id not in thread.case.party_ids():
        raise NotFound
    return thread


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def check_fresh_second_factor(request: HttpRequest, user: User, code: str) -> None:
    """A code from the user's authenticator, now, whatever the session says."""
    check_not_locked(User.objects.get(pk=user.pk))
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.persistent_id.startswith("otp_totp") and device.verify_token("".join(str(code).split())):
                return
    do_record_failure(request, user.email, user, AuthFailure.Kind.OTP)
    raise InvalidCredentials("The code is not valid: exporting needs a fresh code from your authenticator.")


def check_export(request: HttpRequest, user: User, thread_id: str, code: str) -> dict[str, Any]:
    """Record the export as an entry and return everything a bundle is built from."""
    thread = access_record(user, thread_id)
    check_fresh_second_factor(request, user, code)
    end_due_memberships(thread.pk)  # the bundle and its export entry come after any expiry
    with transaction.atomic():
        locked = locked_thread(thread.pk)
        do_append_entry(locked, "export", {"by": str(user.pk), "format": FORMAT}, user=user, device=None)
        # Read under the same lock: a bundle ends with its export entry, so nothing may slip in after it.
        data = record_data(thread)
    return {**data, "wrapped_records_keys": wrapped_records_keys(user)}


def wrapped_records_keys(user: User) -> list[dict[str, Any]]:
    """Every records key of the exporter's own authority, newest first, with its wrapped private key.

    Packages written before a records-key rotation are wrapped to a retired
    key: the browser unlocks each with the records passphrase. ``wrapped`` is
    null for a key kept off-line. Nothing of the other authority.
    """
    if user.authority_id is None:
        return []
    keys = RecordsKey.objects.filter(authority_id=user.authority_id).order_by("-created_at", "-pk")
    return [
        {
            "dh": k.dh_public,
            "wrapped": k.wrapped,
            "created_at": k.created_at.isoformat(),
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
        }
        for k in keys
    ]


def record_data(thread: Thread) -> dict[str, Any]:
    """The record bundle's raw material: entries, members, certificates, server key."""
    case = thread.case
    entries = list(Entry.objects.filter(thread=thread).order_by("seq"))
    memberships = Membership.objects.filter(thread=thread).select_related("user__authority").order_by("joined_seq")
    users = {m.user_id for m in memberships} | {e.actor_user_id for e in entries if e.actor_user_id}
    records_keys = list(
        RecordsKey.objects.filter(authority_id__in=case.party_ids()).select_related("authority").order_by("created_at")
    )
    users |= {k.certified_by_id for k in records_keys}
    devices = Device.objects.filter(user_id__in=users)
    identities: dict[str, list[str]] = {}
    for device in devices:
        identities.setdefault(str(device.user_id), []).append(device.identity_public)
    for identity in IdentityKey.objects.filter(user_id__in=users):
        identities.setdefault(str(identity.user_id), []).append(identity.identity_public)
    return {
        "format": FORMAT,
        "thread": {"id": str(thread.pk), "subject": thread.subject, "history": thread.history},
        "case": {
            "id": str(case.pk),
            "requesting_authority": case.requesting_authority.code,
            "requested_authority": case.requested_authority.code,
            "requesting_reference": case.requesting_reference,
            "requested_reference": case.requested_reference,
            "kind": case.kind,
        },
        "server_key": server_public_key_b64u(),
        "items": [entry_item(e) for e in entries],
        "members": [_member(m) for m in memberships],
        "identities": {u: sorted(set(keys) - {""}) for u, keys in identities.items()},
        "devices": {
            d.pk: {
                "v": 1,
                "user": str(d.user_id),
                "device": d.pk,
                "dh": d.dh_public,
                "sig": d.sig_public,
                "certificate": d.certificate,
                "identity": d.identity_public,
            }
            for d in devices
        },
        "records_keys": [
            {
                "v": 1,
                "authority": k.authority.code,
                "certified_by": str(k.certified_by_id),
                "dh": k.dh_public,
                "certificate": k.certificate,
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            }
            for k in records_keys
        ],
        "blobs": [
            {"id": str(b.pk), "sha256": b.sha256, "size": b.size}
            for b in Blob.objects.filter(thread=thread).order_by("created_at")
        ],
    }


def _member(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return {
        "user": str(user.pk),
        "display_name": user.display_name,
        "authority": user.authority.code if user.authority else None,
        "role": user.role,
        "joined_seq": membership.joined_seq,
        "ended_seq": membership.ended_seq,
        "end_reason": membership.end_reason or None,
    }
