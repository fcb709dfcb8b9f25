"""Serialising entries for the wire (DESIGN §5, §7).

An entry's ``canonical`` text is spliced into frames as it is: it is already
canonical JSON, so nothing is re-encoded per socket and clients hash exactly
the bytes the server hashed.
"""

import json
from typing import Any

from consult.lib import heads
from consult.lib.crypto import b64u
from consult.models import Entry


def _purged_fields(entry: Entry) -> str:
    """``,"digest":…,"purged_on":…`` for a purged entry (as :func:`entry_item`), else nothing."""
    if entry.purged_at is None:
        return ""
    return f',"digest":"{b64u(bytes(entry.digest))}","purged_on":"{entry.purged_at.date().isoformat()}"'


def entry_frame(entry: Entry) -> str:
    """The ``{"type":"entry",...}`` frame text for a stored entry (with ``digest`` once purged)."""
    purged = _purged_fields(entry)
    return (
        f'{{"type":"entry","thread":"{entry.thread_id}","seq":{entry.seq},"entry":{entry.canonical},'
        f'"hash":"{b64u(bytes(entry.hash))}","server_sig":"{b64u(bytes(entry.server_sig))}"{purged}}}'
    )


def entry_item(entry: Entry) -> dict[str, Any]:
    """An entry as the HTTP history returns it: ``{"seq","entry","hash","server_sig"}``.

    A purged entry also carries ``digest`` (the SHA-256 of the entry as it was
    written, which the chain hash binds) and ``purged_on``.
    """
    item = {
        "seq": entry.seq,
        "entry": json.loads(entry.canonical),
        "hash": b64u(bytes(entry.hash)),
        "server_sig": b64u(bytes(entry.server_sig)),
    }
    if entry.purged_at is not None:
        item["digest"] = b64u(bytes(entry.digest))
        item["purged_on"] = entry.purged_at.date().isoformat()
    return item


def entry_item_text(entry: Entry) -> str:
    """:func:`entry_item` as JSON text, with the stored canonical entry spliced in unchanged."""
    return (
        f'{{"seq":{entry.seq},"entry":{entry.canonical},'
        f'"hash":"{b64u(bytes(entry.hash))}","server_sig":"{b64u(bytes(entry.server_sig))}"{_purged_fields(entry)}}}'
    )


def load_frames(thread_id: str, after: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` entry frames after ``after``, in ``seq`` order.

    The newest one read is also this process's guess at the thread's head
    (consult.lib.heads), so a thread's first message after a catch-up can be
    appended in one statement rather than through the lock.
    """
    rows = list(Entry.objects.filter(thread_id=thread_id, seq__gt=after).order_by("seq")[:limit])
    if rows:
        heads.remember(thread_id, rows[-1].seq, bytes(rows[-1].hash))
    return [(row.seq, entry_frame(row)) for row in rows]


def head_seq(thread_id: str) -> int:
    from consult.models import Thread

    return int(Thread.objects.filter(pk=thread_id).values_list("head_seq", flat=True).first() or 0)
