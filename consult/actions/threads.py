"""Creating threads and changing who is in them (DESIGN §1, §4, §5).

Every membership change is a record entry and starts a new epoch: after a
removal, leave, expiry or revocation the thread refuses messages under any
earlier epoch (``min_epoch``) until a member rotates the key; after an
addition the current epoch stays open until the rotation, which closes it.
"""

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cases.lib.access import access_case
from cases.models import Case
from consult.actions.devices import check_device_unrevoked, current_records_key
from consult.actions.records import do_append_entry, first_signed_copy
from consult.conf import comity_settings
from consult.exceptions import BadInput, Conflict, Forbidden, NotFound
from consult.lib import envelopes as check
from consult.lib.events import notify_close, send_event_on_commit, user_group
from consult.lib.server_key import server_public_key_b64u
from consult.models import Device, Entry, Membership, Thread, User


def locked_thread(thread_id: uuid.UUID | str) -> Thread:
    """The thread row, locked for the rest of the transaction (the record's writer lock)."""
    thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
    if thread is None:
        raise NotFound
    return thread


def active_membership(thread: Thread, user_id: uuid.UUID | str) -> Membership | None:
    return Membership.objects.filter(thread=thread, user_id=user_id, ended_at__isnull=True).first()


def check_create_thread(user: User, device: Device, case_id: str, creation: Any) -> Thread:
    """Open a thread from its signed creation; the creator is its first member.

    Raises:
        NotFound: the case is not one ``user`` sees, or the thread id is taken by a thread they never joined.
        BadInput: malformed, wrong case or server key, or a party lacks a records key.
        BadSignature: the creation is not signed by ``device``.
        Conflict: the client-chosen thread id is one of ``user``'s threads.
    """
    case: Case = access_case(user, case_id)
    creation = check.check_creation_shape(creation)
    if creation["case"] != str(case.pk):
        raise check.fail("creation.case", "does not match the case")
    if creation["sender_device"] != device.pk:
        raise check.fail("creation.sender_device", "is not this device")
    if creation["server_key"] != server_public_key_b64u():
        raise check.fail("creation.server_key", "is not this server's key")
    check.check_object_signature(creation, device.sig_public)
    for authority_id in case.party_ids():
        if current_records_key(authority_id) is None:
            raise BadInput("Both authorities need a records key before threads can be opened.")
    with transaction.atomic():
        taken = Thread.objects.filter(pk=creation["thread"]).first()
        if taken is not None:
            if taken.memberships.filter(user=user).exists():
                raise Conflict("This thread id is taken.")  # e.g. a creation sent twice
            raise NotFound  # someone else's thread: its existence is not for this user to learn
        thread = Thread.objects.create(
            id=creation["thread"], case=case, subject=creation["subject"], history=creation["history"],
            created_by=user, head_hash=b"",
        )  # fmt: skip
        thread = locked_thread(thread.pk)
        entry = do_append_entry(thread, "create", dict(creation), user=user, device=device.pk)
        Membership.objects.create(thread=thread, user=user, joined_seq=entry.seq)
    return thread


def may_invite(actor: User, thread: Thread) -> bool:
    """Officers and supervisors of a party manage membership; liaisons only leave."""
    case = thread.case
    return actor.role in (User.Role.OFFICER, User.Role.SUPERVISOR) and actor.authority_id in case.party_ids()


def _check_target(thread: Thread, target: User, expires: dt.datetime | None) -> None:
    liaison = target.role == User.Role.LIAISON
    if not liaison and (target.authority_id not in thread.case.party_ids() or target.role == User.Role.ADMIN):
        raise NotFound  # not someone who may ever be in this thread
    if liaison and expires is None:
        raise check.fail("change.expires", "a liaison officer's invitation needs a future expiry")
    if expires is not None:
        now, longest = timezone.now(), comity_settings.COMITY_INVITATION_MAX_DAYS
        if expires <= now:
            raise check.fail("change.expires", "must be in the future")
        if expires - now > dt.timedelta(days=longest):
            raise check.fail("change.expires", f"must be at most {longest} days ahead")


def check_membership_change(user: User, device: Device, thread_id: str, change: Any) -> Entry:
    """Apply a device-signed membership change; return its entry (the first one, if it is sent again)."""
    change = check.check_change_shape(change, thread_id)
    if change["sender_device"] != device.pk:
        raise check.fail("change.sender_device", "is not this socket's device")
    check.check_object_signature(change, device.sig_public)
    expires = check.timestamp(change["expires"], "change.expires")
    check_device_unrevoked(device)
    end_due_memberships(thread_id)
    with transaction.atomic():
        thread = locked_thread(thread_id)
        first = first_signed_copy(thread, "member", change, device.pk)
        if first is not None:  # even a leave or a removal sent again after it took effect
            return first
        if active_membership(thread, user.pk) is None:
            raise NotFound
        action = change["action"]
        target = User.objects.filter(pk=change["user"]).first()
        if target is None or (action == "add" and not target.is_active):
            raise NotFound  # a deactivated account may still be removed, so that keys stop going to it
        current = active_membership(thread, target.pk)
        if action == "leave":
            if target != user:
                raise check.fail("change.user", "only you can leave for yourself")
        elif not may_invite(user, thread):
            raise Forbidden("Only officers and supervisors of the two authorities manage members.")
        elif action == "add":
            if current is not None:
                raise Conflict("Already a member.")
            _check_target(thread, target, expires)
        elif target == user:
            raise check.fail("change.user", "leave instead of removing yourself")
        if action != "add" and current is None:
            raise NotFound
        entry = do_append_entry(thread, "member", dict(change), user=user, device=device.pk)
        if action == "add":
            Membership.objects.create(thread=thread, user=target, joined_seq=entry.seq, expires_at=expires)
        else:
            assert current is not None
            end = Membership.End.LEFT if action == "leave" else Membership.End.REMOVED
            _end_membership(thread, current, end, entry.seq)
    return entry


def _end_membership(thread: Thread, membership: Membership, reason: str, seq: int) -> None:
    """End a membership at entry ``seq``: no earlier epoch is accepted again, and their sockets leave."""
    membership.ended_at, membership.end_reason, membership.ended_seq = timezone.now(), reason, seq
    membership.save(update_fields=["ended_at", "end_reason", "ended_seq"])
    thread.min_epoch = thread.epoch + 1
    thread.save(update_fields=["min_epoch"])
    send_event_on_commit(user_group(membership.user_id), notify_close(membership.user_id, thread.pk, reason))


def do_end_membership_by_server(thread_id: uuid.UUID | str, user_id: uuid.UUID | str, reason: str) -> int | None:
    """Expire or revoke a membership, recorded as an ``expiry`` entry with no actor."""
    with transaction.atomic():
        thread = locked_thread(thread_id)
        membership = active_membership(thread, user_id)
        if membership is None:
            return None
        entry = do_append_entry(thread, "expiry", {"user": str(user_id), "reason": reason}, user=None, device=None)
        _end_membership(thread, membership, reason, entry.seq)
    return entry.seq


def check_revoke_membership(actor: User, thread_id: str, user_id: str) -> int:
    """An officer or supervisor of a party revokes an invitation before it expires."""
    check.uuid_text(user_id, "user")
    try:
        thread_key = uuid.UUID(str(thread_id))
    except ValueError:
        raise NotFound from None
    end_due_memberships(thread_key)
    with transaction.atomic():
        thread = Thread.objects.filter(pk=thread_key).select_related("case").first()
        if thread is None or active_membership(thread, actor.pk) is None:
            raise NotFound
        if not may_invite(actor, thread):
            raise Forbidden("Only officers and supervisors of the two authorities revoke invitations.")
        invitation = active_membership(thread, user_id)
        if invitation is not None and invitation.expires_at is None:
            # A member without an end date leaves the record only by a change a device signed.
            raise Conflict("Only a time-limited invitation is revoked; remove other members with a signed change.")
        seq = do_end_membership_by_server(thread.pk, user_id, Membership.End.REVOKED)
    if seq is None:
        raise NotFound
    return seq


def _due_memberships() -> "QuerySet[Membership]":
    """Open memberships whose invitation has run out."""
    return Membership.objects.filter(ended_at__isnull=True, expires_at__lte=timezone.now())


def end_due_memberships(thread_id: uuid.UUID | str) -> None:
    """End the thread's invitations that have expired, before anyone reads or writes the thread.

    The hub's sweep ends them within seconds, but only on a worker that holds
    a socket; an officer or liaison using the HTTP API alone would otherwise
    keep an expired invitation's access until some socket opened. One
    indexed query when nothing is due.
    """
    for user_id in _due_memberships().filter(thread_id=thread_id).values_list("user_id", flat=True):
        do_end_membership_by_server(thread_id, user_id, Membership.End.EXPIRED)


def do_expire_due_memberships() -> list[tuple[str, str]]:
    """End every membership whose expiry has passed; safe to run on several workers at once."""
    expired = []
    for thread_id, user_id in _due_memberships().values_list("thread_id", "user_id")[:100]:
        if do_end_membership_by_server(thread_id, user_id, Membership.End.EXPIRED) is not None:
            expired.append((str(thread_id), str(user_id)))
    return expired


def thread_summary(thread: Thread) -> Mapping[str, Any]:
    members = Membership.objects.filter(thread=thread, ended_at__isnull=True).select_related("user__authority")
    return {
        "id": str(thread.pk),
        "case": str(thread.case_id),
        "subject": thread.subject,
        "history": thread.history,
        "epoch": thread.epoch,
        "min_epoch": thread.min_epoch,
        "head": thread.head_seq,
        "members": [
            {
                "user": str(m.user_id),
                "display_name": m.user.display_name,
                "authority": m.user.authority.code if m.user.authority else None,
                "role": m.user.role,
                "joined_seq": m.joined_seq,
                "expires": m.expires_at.isoformat() if m.expires_at else None,
            }
            for m in members
        ],
    }


def check_mark_read(user: User, device: Device, thread_id: str, seq: int) -> bool:
    """Remember how far a member has read (metadata); True if it moved forward.

    Like every other frame but ``typing`` (which touches nothing), it ends
    the thread's due invitations first and refuses a revoked device.
    """
    check_device_unrevoked(device)
    end_due_memberships(thread_id)
    head = Thread.objects.filter(pk=thread_id).values_list("head_seq", flat=True).first()
    if head is not None and seq > head:
        raise check.fail("seq", f"is past the thread's head ({head})")
    return bool(
        Membership.objects.filter(thread_id=thread_id, user=user, ended_at__isnull=True, read_seq__lt=seq).update(
            read_seq=seq
        )
    )
