"""Appending to a thread's record: the gapless, hash-chained, signed log (DESIGN §5).

Every accepted item of a thread is sealed by :func:`seal_entry` and written
under the thread's row lock: by :func:`do_append_entry`, or for a message on
a known head by one statement that takes the same lock (consult.actions.messages).
So concurrent writers on several workers line up and the chain never forks.
"""

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from consult.lib.canonical import canonical_json
from consult.lib.crypto import ecdsa_sign, sha256
from consult.lib.entries import entry_frame
from consult.lib.events import notify_entry, send_event_on_commit, thread_group
from consult.lib.hub import get_hub
from consult.lib.protocol import genesis_hash, server_signed_bytes
from consult.lib.rows import insert_row, update_row
from consult.lib.server_key import server_private_key
from consult.models import Entry, Thread, User


def format_at(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, e.g. ``2026-11-22T10:00:00.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def seal_entry(
    thread_id: str, seq: int, previous: bytes, kind: str, body: Any, *, user: User | None, device: str | None
) -> Entry:
    """The unsaved entry at ``seq`` after the chain hash ``previous``: canonical text, hash, signature."""
    now = datetime.now(UTC)
    entry = {
        "thread": thread_id,
        "seq": seq,
        "at": format_at(now),
        "kind": kind,
        "actor": {"user": str(user.pk) if user else None, "device": device},
        "body": body,
    }
    canonical = canonical_json(entry)
    digest = sha256(canonical)
    chain_hash = sha256(previous + digest)
    signature = ecdsa_sign(server_private_key(), server_signed_bytes(thread_id, seq, chain_hash))
    return Entry(
        thread_id=thread_id, seq=seq, at=now, kind=kind, actor_user_id=user.pk if user else None,
        actor_device=device, canonical=canonical.decode(), digest=digest, hash=chain_hash, server_sig=signature,
    )  # fmt: skip


def previous_hash(thread: Thread) -> bytes:
    """The chain hash a new entry links to: the head's, or the thread's genesis hash."""
    return bytes(thread.head_hash) if thread.head_seq else genesis_hash(str(thread.pk))


def _entry_event(entry: Entry) -> dict[str, Any]:
    return notify_entry(entry.thread_id, entry.seq, bytes(entry.hash), entry_frame(entry))


def publish_entry(entry: Entry) -> None:
    """Wake the thread's sockets once the entry is committed."""
    send_event_on_commit(thread_group(entry.thread_id), _entry_event(entry))


async def announce_entry(entry: Entry) -> None:
    """Wake the thread's sockets from the event loop, for an entry already committed."""
    await get_hub().publish(thread_group(entry.thread_id), _entry_event(entry))


def do_append_entry(
    thread: Thread,
    kind: str,
    body: Any,
    *,
    user: User | None,
    device: str | None,
    epoch: int | None = None,
    client_id: uuid.UUID | None = None,
    also_save: tuple[str, ...] = (),
) -> Entry:
    """Append one entry and publish it once the transaction commits.

    The caller must hold ``thread``'s row lock (``select_for_update``) inside
    a transaction and must have validated ``body``: this writes trusted input.

    Args:
        also_save: further ``thread`` fields the caller changed, saved in the
            same UPDATE as the head.

    Returns:
        The stored entry; ``thread``'s head fields are updated and saved.
    """
    entry = seal_entry(str(thread.pk), thread.head_seq + 1, previous_hash(thread), kind, body, user=user, device=device)
    entry.thread, entry.epoch, entry.client_id = thread, epoch, client_id
    stored = insert_row(entry)
    thread.head_seq, thread.head_hash = stored.seq, stored.hash
    update_row(thread, ("head_seq", "head_hash", *also_save))
    publish_entry(stored)
    return stored


def first_signed_copy(thread: Thread, kind: str, signed: Mapping[str, Any], device_id: str) -> Entry | None:
    """The ``kind`` entry already holding this very object signed by ``device_id`` (a retry whose ack was lost).

    ECDSA signatures are randomised, so an equal ``sig`` from the same device
    means the same signed object, not a new one with the same contents.
    """
    stored = Entry.objects.filter(thread=thread, kind=kind, actor_device=device_id, canonical__contains=signed["sig"])
    return next((entry for entry in stored if json.loads(entry.canonical)["body"]["sig"] == signed["sig"]), None)
