"""Key packages and backup wraps (DESIGN §4).

A ``create``/``rotate`` package must be addressed to exactly every current
member device plus both authorities' records keys; the server refuses one
that is not, so that no epoch key silently skips a member or the record.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from consult.actions.devices import check_device_unrevoked, current_records_key
from consult.actions.records import do_append_entry, first_signed_copy
from consult.actions.threads import active_membership, end_due_memberships, locked_thread
from consult.exceptions import Conflict, Forbidden, NotFound
from consult.lib import envelopes as check
from consult.lib.crypto import b64u
from consult.models import BackupWrap, Device, Entry, Membership, Thread, User


def expected_members(thread: Thread) -> dict[str, set[str]]:
    """Current members and their certified, unrevoked devices: ``{user: {device, ...}}``."""
    members = Membership.objects.filter(thread=thread, ended_at__isnull=True).values_list("user_id", flat=True)
    expected: dict[str, set[str]] = {str(user): set() for user in members}
    for device_id, user_id in Device.objects.filter(user_id__in=members, revoked_at__isnull=True).values_list(
        "id", "user_id"
    ):
        expected[str(user_id)].add(device_id)
    return expected


def _records_recipients(thread: Thread) -> set[str]:
    recipients = set()
    for authority_id in thread.case.party_ids():
        key = current_records_key(authority_id)
        if key is None:
            raise Conflict("An authority has no records key.")
        recipients.add(f"records:{key.authority.code}")
    return recipients


def _check_full_package(thread: Thread, package: Mapping[str, Any], signer: Membership) -> None:
    """``create``/``rotate``: the next epoch, to every member device and both records keys.

    A package for an epoch that already has one lost a race (two members
    rotating at once): ``conflict``, so its client reads the record again and
    rotates from there only if it still must.
    """
    if package["epoch"] <= thread.epoch:
        raise Conflict(f"epoch {package['epoch']} already has its key package; the thread is at epoch {thread.epoch}.")
    if package["epoch"] != thread.epoch + 1:
        raise check.fail("package.epoch", f"must be {thread.epoch + 1}")
    if (package["reason"] == "create") != (thread.epoch == 0):
        raise check.fail("package.reason", "create makes epoch 1; later epochs rotate")
    if thread.epoch and signer.joined_seq > thread.epoch_seq:
        raise Forbidden("Only a member of the previous epoch may rotate the key.")
    prev = None if thread.epoch == 0 else b64u(bytes(Entry.objects.get(thread=thread, seq=thread.epoch_seq).hash))
    if package["prev"] != prev:
        raise check.fail("package.prev", "must be the hash of the previous epoch's package entry")
    if package["history"] != thread.history:
        raise check.fail("package.history", "does not match the thread")
    expected = expected_members(thread)
    listed = {m["user"]: set(m["devices"]) for m in package["members"]}
    if listed != expected or len(package["members"]) != len(listed):
        raise check.fail("package.members", "must list every current member with all their devices")
    want = {d for devices in expected.values() for d in devices} | _records_recipients(thread)
    got = [(r["id"], r["kind"]) for r in package["recipients"]]
    required = {r for r, kind in got if kind != "backup"}
    backups = {r for r, kind in got if kind == "backup"}
    if len(got) != len(set(got)) or required != want:
        raise check.fail("package.recipients", "must be every member device and both records keys")
    if any(r not in {f"backup:{u}" for u in expected} for r in backups):
        raise check.fail("package.recipients", "backup wraps only to current members")
    for rid, kind in got:
        if (kind == "device") == (":" in rid) or not rid.startswith(
            {"device": "", "records": "records:"}.get(kind, "backup:")
        ):
            raise check.fail("package.recipients", f"{rid} is not a {kind} recipient")


def _check_history_package(thread: Thread, package: Mapping[str, Any], user: User) -> None:
    """``history``: a past epoch re-wrapped, by a member who held it, for members' devices (shared history only).

    The rules each client applies before trusting such a package (DESIGN §4),
    so that the record holds none that every client would reject.
    """
    if thread.history != "shared":
        raise Forbidden("This thread does not share history with newcomers.")
    if not 1 <= package["epoch"] <= thread.epoch:
        raise check.fail("package.epoch", "must be an existing epoch")
    if package["history"] != thread.history or package["prev"] is not None:
        raise check.fail("package", "a history package names the thread's policy and no prev")
    package_entries = Entry.objects.filter(thread=thread, kind="keys", epoch=package["epoch"]).order_by("seq")
    made_at = package_entries.values_list("seq", flat=True).first() or 0  # the create or rotate
    held = Membership.objects.filter(thread=thread, user=user, joined_seq__lt=made_at).filter(
        Q(ended_seq__isnull=True) | Q(ended_seq__gt=made_at)
    )
    if not held.exists():
        raise Forbidden("Only a member who held that epoch may share it.")
    expected = expected_members(thread)
    listed = {m["user"]: set(m["devices"]) for m in package["members"]}
    if any(user_id not in expected or not devices <= expected[user_id] for user_id, devices in listed.items()):
        raise check.fail("package.members", "history goes only to current members and their devices")
    wanted = {d for devices in listed.values() for d in devices}
    got = [recipient["id"] for recipient in package["recipients"] if recipient["kind"] == "device"]
    if len(got) != len(package["recipients"]) or len(got) != len(set(got)) or set(got) != wanted:
        raise check.fail("package.recipients", "history goes to exactly the listed members' devices")


def check_key_package(user: User, device: Device, thread_id: str, package: Any) -> Entry:
    """Store a signed key package as a ``keys`` entry; start its epoch if new.

    Sending the same package again returns the entry that holds it and stores
    nothing, as a repeated ``client_id`` does for messages.
    """
    package = check.check_package_shape(package, thread_id)
    if package["sender_device"] != device.pk:
        raise check.fail("package.sender_device", "is not this socket's device")
    check.check_object_signature(package, device.sig_public)
    check_device_unrevoked(device)
    end_due_memberships(thread_id)
    with transaction.atomic():
        thread = locked_thread(thread_id)
        signer = active_membership(thread, user.pk)
        if signer is None:
            raise NotFound
        first = first_signed_copy(thread, "keys", package, device.pk)
        if first is not None:
            return first
        if package["reason"] == "history":
            _check_history_package(thread, package, user)
            return do_append_entry(thread, "keys", dict(package), user=user, device=device.pk, epoch=package["epoch"])
        _check_full_package(thread, package, signer)
        entry = do_append_entry(thread, "keys", dict(package), user=user, device=device.pk, epoch=package["epoch"])
        thread.epoch, thread.epoch_seq = package["epoch"], entry.seq
        thread.epoch_started_at, thread.epoch_messages = timezone.now(), 0
        # Only the new epoch is open: an older one used after its rotation
        # would escape the per-epoch limits, which count the newest alone.
        thread.min_epoch = package["epoch"]
        thread.save(update_fields=["epoch", "epoch_seq", "epoch_started_at", "epoch_messages", "min_epoch"])
    return entry


def packages_for_device(thread: Thread, device_id: str) -> list[dict[str, Any]]:
    """Key package entries with a wrap for ``device_id``, oldest first."""
    found = []
    for entry in Entry.objects.filter(thread=thread, kind="keys").order_by("seq"):
        package = json.loads(entry.canonical)["body"]
        if any(r["id"] == device_id for r in package["recipients"]):
            found.append({"seq": entry.seq, "epoch": package["epoch"], "package": package})
    return found


def check_store_backup_wrap(user: User, data: Any) -> BackupWrap:
    """Store my epoch-key wrap to my backup key; the first stored wins, repeats are no-ops.

    Only a current member stores wraps: a former one holds no use for them,
    and the answer must not tell them how far the thread's epochs went on.
    """
    data = check.exact_fields(data, "backup", {"thread", "epoch", "eph", "iv", "ct"})
    thread_id = check.uuid_text(data["thread"], "thread")
    epoch = check.integer(data["epoch"], "epoch", 1)
    fields = {
        "eph": check.point(data["eph"], "eph"),
        "iv": data["iv"] if check.binary(data["iv"], "iv", check.IV_BYTES) else "",
        "ct": data["ct"] if check.binary(data["ct"], "ct", check.WRAPPED_KEY_BYTES) else "",
    }
    end_due_memberships(thread_id)
    thread = Thread.objects.filter(pk=thread_id, memberships__user=user, memberships__ended_at__isnull=True).first()
    if thread is None or epoch > thread.epoch:
        raise NotFound
    try:
        with transaction.atomic():
            wrap, _ = BackupWrap.objects.get_or_create(user=user, thread=thread, epoch=epoch, defaults=fields)
    except IntegrityError:
        wrap = BackupWrap.objects.get(user=user, thread=thread, epoch=epoch)
    return wrap
