"""Accepting message envelopes into the record (DESIGN §4, §7).

The envelope is checked (structure, sizes, encodings, sender device,
signature, epoch, membership) and then stored untouched: the server never
decrypts or logs ``ct``.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.actions.workflow import check_workflow_message
from consult.actions.records import do_append_entry
from consult.actions.threads import active_membership, locked_member_thread, locked_thread
from consult.conf import comity_settings
from consult.exceptions import Conflict, NotFound, StaleEpoch
from consult.lib import envelopes as check
from consult.lib.crypto import b64u
from consult.models import Device, Entry, Thread, User


@dataclass(frozen=True)
class Ack:
    """What the sender is told: the same for a first send and for every retry."""

    client_id: str
    seq: int
    hash: str


def _ack(entry: Entry, client_id: str) -> Ack:
    return Ack(client_id=client_id, seq=entry.seq, hash=b64u(bytes(entry.hash)))


def _check_epoch(thread: Thread, epoch: int) -> None:
    """Accept only epochs from ``min_epoch`` to the newest; close an epoch that is full or old."""
    limits = comity_settings
    if thread.epoch and (
        thread.epoch_messages >= limits.COMITY_EPOCH_MAX_MESSAGES
        or (
            thread.epoch_started_at
            and timezone.now() - thread.epoch_started_at > timedelta(seconds=limits.COMITY_EPOCH_MAX_SECONDS)
        )
    ):
        thread.min_epoch = max(thread.min_epoch, thread.epoch + 1)
        thread.save(update_fields=["min_epoch"])
    if epoch > thread.epoch:
        raise Conflict(f"No key package for epoch {epoch} yet.")
    if epoch < thread.min_epoch:
        raise StaleEpoch(f"Epoch {epoch} is closed; the current epoch must be at least {thread.min_epoch}.")


def check_send_message(user: User, device: Device, thread_id: str, envelope: Any) -> Ack:
    """Store an envelope as a ``message`` entry; a repeated ``client_id`` returns the first ack.

    Takes the thread's row lock, so retries racing on several workers find the
    first copy instead of storing a second.
    """
    header = check.check_envelope_shape(envelope, thread_id)
    if header["sender_device"] != device.pk:
        raise check.fail("header.sender_device", "is not this socket's device")
    check.check_envelope_signature(envelope, device.sig_public)
    client_id = uuid.UUID(header["client_id"])
    with transaction.atomic():
        thread = locked_member_thread(thread_id, user)
        first = Entry.objects.filter(thread=thread, client_id=client_id).first()
        if first is not None:
            return _ack(first, header["client_id"])
        _check_epoch(thread, header["epoch"])
        thread.epoch_messages += 1
        entry = do_append_entry(
            thread, "message", envelope, user=user, device=device.pk, epoch=header["epoch"], client_id=client_id,
            also_save=("epoch_messages",),
        )  # fmt: skip
        check_workflow_message(user, thread, header, entry)  # workflow rules (cases); raising rolls back the entry
    return _ack(entry, header["client_id"])


def check_acknowledgement(user: User, device: Device, thread_id: str, receipt: Any) -> int:
    """Record a formal acknowledgement that the device held the record up to ``seq``."""
    receipt = check.check_receipt_shape(receipt, thread_id)
    if receipt["device"] != device.pk:
        raise check.fail("receipt.device", "is not this socket's device")
    check.check_object_signature(receipt, device.sig_public)
    with transaction.atomic():
        thread = locked_thread(thread_id)
        if active_membership(thread, user.pk) is None:
            raise NotFound
        acknowledged = Entry.objects.filter(thread=thread, seq=receipt["seq"]).first()
        if acknowledged is None or b64u(bytes(acknowledged.hash)) != receipt["hash"]:
            raise check.fail("receipt.hash", "does not match the record at that seq")
        return do_append_entry(thread, "receipt", dict(receipt), user=user, device=device.pk).seq
