"""Accepting message envelopes into the record (DESIGN §4, §7).

The envelope is checked (structure, sizes, encodings, sender device,
signature, epoch, membership) and then stored untouched: the server never
decrypts or logs ``ct``.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, connections, models, transaction
from django.utils import timezone

from cases.actions.workflow import check_workflow_message, month_of, moves_workflow
from cases.models import Case, Side
from consult.actions.devices import check_device_unrevoked
from consult.actions.records import announce_entry, do_append_entry, first_signed_copy, seal_entry
from consult.actions.threads import active_membership, end_due_memberships, locked_thread
from consult.conf import comity_settings
from consult.exceptions import Conflict, NotFound, StaleEpoch
from consult.lib import async_db, heads
from consult.lib import envelopes as check
from consult.lib.crypto import b64u
from consult.lib.rows import from_row, select_columns, statement_cursor
from consult.models import Device, Entry, Thread, User


@dataclass(frozen=True)
class Ack:
    """What the sender is told: the same for a first send and for every retry."""

    client_id: str
    seq: int
    hash: str


def _ack(entry: Entry, client_id: str) -> Ack:
    return Ack(client_id=client_id, seq=entry.seq, hash=b64u(bytes(entry.hash)))


def _close_spent_epoch(thread: Thread) -> None:
    """Close the current epoch once it is full or old: no message is accepted under it again."""
    limits = comity_settings
    full = thread.epoch_messages >= limits.COMITY_EPOCH_MAX_MESSAGES
    started = thread.epoch_started_at
    old = started is not None and timezone.now() - started > timedelta(seconds=limits.COMITY_EPOCH_MAX_SECONDS)
    if thread.epoch and thread.min_epoch <= thread.epoch and (full or old):
        thread.min_epoch = thread.epoch + 1
        thread.save(update_fields=["min_epoch"])


def _epoch_refusal(thread: Thread, epoch: int, joined_seq: int) -> Conflict | StaleEpoch | None:
    """Why a message under ``epoch`` is refused, if it is: only ``min_epoch`` to the newest are open.

    A member who joined after the newest package (``joined_seq``) writes
    under no open epoch yet: every membership change starts a new epoch
    (DESIGN §4), and a key the newcomer holds from before it (shared as
    history) was made for a member list without them.
    """
    if epoch > thread.epoch:
        return Conflict(f"No key package for epoch {epoch} yet.")
    if epoch < thread.min_epoch:
        return StaleEpoch(f"Epoch {epoch} is closed; the current epoch must be at least {thread.min_epoch}.")
    if joined_seq > thread.epoch_seq:
        return StaleEpoch(f"Epoch {epoch} was keyed before you joined; a member's rotation admits you.")
    return None


# The one query before a message's writes, on the hot path of every message.
# It takes the thread's row lock (the record's writer lock) if the sender is a
# current member whose invitation has not run out, sending from a device not
# revoked (the socket's device was checked when it opened, but a revocation
# must hold even if its close event is late). It reads what the send needs
# next: whether ``client_id`` is already stored (see _first_copy); for the
# workflow rules, the case's parties and the thread's default handling code;
# and whether another invitation of the thread is due to end (the send ends it
# first). Written as SQL because built with the ORM it cost the worker as much
# CPU as the three queries it replaced.
LOCK_FOR_SEND_SQL = """
SELECT {thread_columns},
    EXISTS (SELECT 1 FROM consult_entry WHERE thread_id = thread.id AND client_id = %(client_id)s) AS has_copy,
    (SELECT head_seq FROM consult_thread AS snapshot WHERE snapshot.id = thread.id) AS snapshot_head,
    cases_case.requesting_authority_id,
    cases_case.requested_authority_id,
    membership.joined_seq,
    (SELECT code FROM cases_threadhandling WHERE thread_id = thread.id) AS default_handling,
    EXISTS (SELECT 1 FROM consult_membership AS due
        WHERE due.thread_id = thread.id AND due.ended_at IS NULL AND due.expires_at <= %(now)s) AS has_due
FROM consult_thread AS thread
    JOIN consult_membership AS membership ON membership.thread_id = thread.id
    JOIN cases_case ON cases_case.id = thread.case_id
WHERE thread.id = %(thread)s AND membership.user_id = %(user)s AND membership.ended_at IS NULL
    AND (membership.expires_at IS NULL OR membership.expires_at > %(now)s)
    AND EXISTS (SELECT 1 FROM consult_device AS device
        WHERE device.id = %(device)s AND device.user_id = membership.user_id AND device.revoked_at IS NULL)
"""
# Only where the database has row locks: the SQLite demo has none (a write
# locks the whole file), and the ORM's select_for_update() leaves it out too.
ROW_LOCK_SQL = "FOR UPDATE OF thread"
UUID_PARAMETER = models.UUIDField()  # prepares UUIDs as the database stores them (hex text on SQLite)
NOW_PARAMETER = models.DateTimeField()


@functools.cache
def _lock_for_send_sql(db: str) -> str:
    row_locks = connections[db].features.has_select_for_update_of
    columns = select_columns(Thread, "thread", db)
    return LOCK_FOR_SEND_SQL.format(thread_columns=columns) + (ROW_LOCK_SQL if row_locks else "")


def _locked_thread_for_send(thread_id: str, user: User, device: Device, client_id: uuid.UUID) -> Thread:
    """The thread, locked, if ``user`` is a current member sending from an unrevoked device; else :class:`NotFound`."""
    ids = {"thread": thread_id, "user": user.pk, "client_id": client_id}
    params = {name: UUID_PARAMETER.get_db_prep_value(value, connection) for name, value in ids.items()}
    params["device"] = device.pk
    params["now"] = NOW_PARAMETER.get_db_prep_value(timezone.now(), connection)
    with statement_cursor(connection) as cursor:
        cursor.execute(_lock_for_send_sql(connection.alias), params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound
    thread, extra = from_row(Thread, row, connection.alias)
    has_copy, snapshot_head, requesting, requested, joined_seq, default_handling, has_due = extra
    thread.has_copy, thread.snapshot_head = bool(has_copy), snapshot_head  # type: ignore[attr-defined]
    thread.sender_joined_seq = joined_seq  # type: ignore[attr-defined]
    thread.has_due = bool(has_due)  # type: ignore[attr-defined]
    thread.default_handling = default_handling  # type: ignore[attr-defined]
    # The workflow rules read only the case's parties: its other fields stay deferred.
    thread.case = Case.from_db(
        connection.alias,
        ["id", "requesting_authority_id", "requested_authority_id"],
        [thread.case_id, requesting, requested],
    )
    return thread


def _first_copy(thread: Thread, client_id: uuid.UUID) -> Entry | None:
    """The entry already stored for ``client_id`` (this send is a retry), if any.

    The locking query read ``has_copy`` in the snapshot it started with,
    before any wait for the lock, whereas the locked row is the latest
    (PostgreSQL reads it again once the lock is granted). If the head moved in
    between, a copy may have been appended during the wait: ask again.
    """
    waited_past_appends = thread.head_seq != thread.snapshot_head  # type: ignore[attr-defined]
    if thread.has_copy or waited_past_appends:  # type: ignore[attr-defined]
        return Entry.objects.filter(thread=thread, client_id=client_id).first()
    return None


# The one statement of a message appended on a known head (PostgreSQL,
# consult.lib.heads), run on the worker's own connection (consult.lib.async_db)
# in autocommit. The UPDATE moves the head only if it is still that head and
# the send passes every check the locked path makes (member since before the
# epoch's package, device not revoked, epoch open, client_id new, no
# invitation of the thread due to end:
# the locked path ends it first). It takes the thread's row lock like any
# writer, and a writer that moved the head first makes it match nothing. Then
# the entry and its workflow item are inserted from the rows it returned. No
# row back means "take the locked path", which sorts out why (and gives the
# precise error).
APPEND_ON_HEAD_SQL = """
WITH head AS (
    UPDATE consult_thread AS thread
    SET head_seq = %(seq)s::bigint, head_hash = %(hash)s::bytea, epoch_messages = thread.epoch_messages + 1
    WHERE thread.id = %(thread)s::uuid
        AND thread.head_seq = %(seq)s::bigint - 1 AND thread.head_hash = %(previous)s::bytea
        AND %(epoch)s::integer BETWEEN thread.min_epoch AND thread.epoch
        AND thread.epoch_messages < %(max_messages)s::integer
        AND (thread.epoch_started_at IS NULL OR thread.epoch_started_at >= %(oldest_epoch)s::timestamptz)
        AND EXISTS (SELECT 1 FROM consult_membership AS membership
            WHERE membership.thread_id = thread.id AND membership.user_id = %(user)s::uuid
                AND membership.ended_at IS NULL AND membership.joined_seq < thread.epoch_seq)
        AND NOT EXISTS (SELECT 1 FROM consult_membership AS due
            WHERE due.thread_id = thread.id AND due.ended_at IS NULL AND due.expires_at <= %(at)s::timestamptz)
        AND EXISTS (SELECT 1 FROM consult_device AS device
            WHERE device.id = %(device)s::text AND device.user_id = %(user)s::uuid AND device.revoked_at IS NULL)
        AND NOT EXISTS (SELECT 1 FROM consult_entry AS earlier
            WHERE earlier.thread_id = thread.id AND earlier.client_id = %(client_id)s::uuid)
    RETURNING thread.id, thread.case_id
), entry AS (
    INSERT INTO consult_entry (thread_id, seq, at, kind, actor_user_id, actor_device, epoch, client_id,
        canonical, digest, purged_at, hash, server_sig)
    SELECT head.id, %(seq)s::bigint, %(at)s::timestamptz, 'message', %(user)s::uuid, %(device)s::text,
        %(epoch)s::integer, %(client_id)s::uuid, %(canonical)s::text, %(digest)s::bytea, NULL, %(hash)s::bytea,
        %(server_sig)s::bytea
    FROM head
    RETURNING id
)
INSERT INTO cases_item (entry_id, thread_id, case_id, seq, at, month, kind, sender_id, sender_authority_id,
    side, handling, handling_inherited)
SELECT entry.id, head.id, head.case_id, %(seq)s::bigint, %(at)s::timestamptz, %(month)s::date, %(kind)s::text,
    %(user)s::uuid, %(authority)s::bigint,
    CASE WHEN NOT %(acts_for_side)s::boolean THEN ''
        WHEN party.requesting_authority_id = %(authority)s::bigint THEN %(requesting)s::text
        WHEN party.requested_authority_id = %(authority)s::bigint THEN %(requested)s::text
        ELSE '' END,
    COALESCE(%(handling)s::text, handling.code, ''),
    %(handling)s::text IS NULL AND handling.code IS NOT NULL
FROM head CROSS JOIN entry
    JOIN cases_case AS party ON party.id = head.case_id
    LEFT JOIN cases_threadhandling AS handling ON handling.thread_id = head.id
RETURNING entry_id
"""


def _checked_envelope(device: Device, thread_id: str, envelope: Any) -> tuple[Any, uuid.UUID]:
    """The envelope's header and ``client_id``, once its shape, sender and signature are checked."""
    header = check.check_envelope_shape(envelope, thread_id)
    if header["sender_device"] != device.pk:
        raise check.fail("header.sender_device", "is not this socket's device")
    check.check_envelope_signature(envelope, device.sig_public)
    return header, uuid.UUID(header["client_id"])


# A send whose known head another worker moved first reads the head again and
# tries on it, up to HEAD_ATTEMPTS statements in all, instead of queueing for
# the row lock in the pool: with several members of a thread writing through
# both workers, a third of the sends used to take that path, and the pool's
# slower appends made the other worker's heads stale in turn.
HEAD_SQL = "SELECT head_seq, head_hash FROM consult_thread WHERE id = %(thread)s::uuid"
HEAD_ATTEMPTS = 3


async def _append_on_known_head(
    user: User, device: Device, thread_id: str, envelope: Any, header: Any, client_id: uuid.UUID
) -> Ack | None:
    """Append in one statement on the head this process knows; ``None`` if the locked path must decide.

    When the statement matches nothing because the head has moved, the send
    tries again on the head it reads now; when the head has not moved, a
    check failed, and the locked path says which.
    """
    if not async_db.available() or moves_workflow(header):
        return None
    known = heads.take(thread_id)
    for attempt in range(1, HEAD_ATTEMPTS + 1):
        if known is None:
            return None
        ack = await _append_on_head(known, user, device, thread_id, envelope, header, client_id)
        if ack is not None or attempt == HEAD_ATTEMPTS:  # no head to read after the last try
            return ack
        known = await _moved_head(thread_id, known)
    return None


async def _moved_head(thread_id: str, known: tuple[int, bytes]) -> tuple[int, bytes] | None:
    """The thread's head now, if another writer moved it past ``known``; else ``None``."""
    current = await async_db.fetch_one(HEAD_SQL, {"thread": thread_id})
    if current is None or current[1] is None or current[0] == known[0]:
        return None
    return current[0], bytes(current[1])


async def _append_on_head(
    head: tuple[int, bytes],
    user: User,
    device: Device,
    thread_id: str,
    envelope: Any,
    header: Any,
    client_id: uuid.UUID,
) -> Ack | None:
    """The one statement on ``head``; ``None`` if it matched nothing."""
    seq, previous = head[0] + 1, head[1]
    entry = seal_entry(thread_id, seq, previous, "message", envelope, user=user, device=device.pk)
    limits = comity_settings
    params = {
        "thread": thread_id, "seq": seq, "previous": previous, "hash": entry.hash, "epoch": header["epoch"],
        "max_messages": limits.COMITY_EPOCH_MAX_MESSAGES,
        "oldest_epoch": entry.at - timedelta(seconds=limits.COMITY_EPOCH_MAX_SECONDS),
        "user": user.pk, "client_id": client_id, "at": entry.at, "device": device.pk, "canonical": entry.canonical,
        "digest": entry.digest, "server_sig": entry.server_sig, "month": month_of(entry.at), "kind": header["kind"],
        "authority": user.authority_id, "acts_for_side": user.role in (User.Role.OFFICER, User.Role.SUPERVISOR),
        "requesting": Side.REQUESTING, "requested": Side.REQUESTED, "handling": header["meta"].get("handling"),
    }  # fmt: skip
    if await async_db.fetch_one(APPEND_ON_HEAD_SQL, params) is None:
        return None
    entry.epoch, entry.client_id = header["epoch"], client_id
    heads.remember(thread_id, seq, bytes(entry.hash))
    await announce_entry(entry)
    return _ack(entry, header["client_id"])


def _append_locked(user: User, device: Device, thread_id: str, envelope: Any, header: Any, client_id: uuid.UUID) -> Ack:
    """Append under the thread's row lock, where retries racing on several workers find the first copy.

    Invitations of the thread that are due end first, so the record shows
    the expiry (and its new epoch) before this message. An expiry or an epoch
    found spent stands even if this send is refused: the refusal is raised
    once they are committed.
    """
    with transaction.atomic():
        thread = _locked_thread_for_send(thread_id, user, device, client_id)
        first = _first_copy(thread, client_id)
        if first is not None:
            if (first.actor_user_id, first.actor_device) != (user.pk, device.pk):
                # Not a retry: another sender's message holds this client_id, and its ack is theirs.
                raise Conflict("This client_id is taken by another message; send under a new one.")
            return _ack(first, header["client_id"])
        if thread.has_due:  # type: ignore[attr-defined]
            end_due_memberships(thread_id)
            thread = _locked_thread_for_send(thread_id, user, device, client_id)
        _close_spent_epoch(thread)
        refusal = _epoch_refusal(thread, header["epoch"], thread.sender_joined_seq)  # type: ignore[attr-defined]
        if refusal is None:
            entry = _append_message(thread, user, device, envelope, header, client_id)
    if refusal is not None:
        raise refusal
    heads.remember(thread_id, entry.seq, bytes(entry.hash))
    return _ack(entry, header["client_id"])


def _append_message(
    thread: Thread, user: User, device: Device, envelope: Any, header: Any, client_id: uuid.UUID
) -> Entry:
    """The message entry and its workflow item, on the locked ``thread`` whose epoch is open."""
    thread.epoch_messages += 1
    entry = do_append_entry(
        thread, "message", envelope, user=user, device=device.pk, epoch=header["epoch"], client_id=client_id,
        also_save=("epoch_messages",),
    )  # fmt: skip
    default_handling = thread.default_handling  # type: ignore[attr-defined]
    check_workflow_message(user, thread, header, entry, default_handling)  # cases; raising rolls back the entry
    return entry


def check_send_message(user: User, device: Device, thread_id: str, envelope: Any) -> Ack:
    """Store an envelope as a ``message`` entry under the thread's lock; a repeated ``client_id`` returns the first ack.

    For synchronous callers (commands, tests); sockets use :func:`send_message`.
    """
    header, client_id = _checked_envelope(device, thread_id, envelope)
    return _append_locked(user, device, thread_id, envelope, header, client_id)


async def send_message(user: User, device: Device, thread_id: str, envelope: Any) -> Ack:
    """A socket's send: as :func:`check_send_message`, in one statement when the head is known.

    When this process knows the thread's head, the message goes in with
    :data:`APPEND_ON_HEAD_SQL` on the worker's own connection
    (consult.lib.async_db), without a trip through the database thread pool;
    otherwise, or when that statement matches nothing, under the thread's
    row lock in the pool.
    """
    header, client_id = _checked_envelope(device, thread_id, envelope)
    async with heads.turn(thread_id):
        fast = await _append_on_known_head(user, device, thread_id, envelope, header, client_id)
        if fast is not None:
            return fast
        append_locked = async_db.in_db_pool(_append_locked)
        return await append_locked(user, device, thread_id, envelope, header, client_id)  # type: ignore[no-any-return]


def check_acknowledgement(user: User, device: Device, thread_id: str, receipt: Any) -> Entry:
    """Record a formal acknowledgement that the device held the record up to ``seq``; return its entry.

    The same signed receipt sent again returns the entry that holds it.
    """
    receipt = check.check_receipt_shape(receipt, thread_id)
    if receipt["device"] != device.pk:
        raise check.fail("receipt.device", "is not this socket's device")
    check.check_object_signature(receipt, device.sig_public)
    check_device_unrevoked(device)
    end_due_memberships(thread_id)
    with transaction.atomic():
        thread = locked_thread(thread_id)
        if active_membership(thread, user.pk) is None:
            raise NotFound
        first = first_signed_copy(thread, "receipt", receipt, device.pk)
        if first is not None:
            return first
        acknowledged = Entry.objects.filter(thread=thread, seq=receipt["seq"]).first()
        if acknowledged is None or b64u(bytes(acknowledged.hash)) != receipt["hash"]:
            raise check.fail("receipt.hash", "does not match the record at that seq")
        return do_append_entry(thread, "receipt", dict(receipt), user=user, device=device.pk)
