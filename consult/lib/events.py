"""Publishing events to sockets, after the transaction commits (STYLE §4).

PostgreSQL is the truth; these events only say "look" (DESIGN §5). A worker
subscribes once per thread (see ``consult.lib.hub``) and fans out locally, so
one entry costs one channel-layer message per worker, not one per socket.
Payloads are small dicts of ids and the entry's own JSON text.
"""

import asyncio
import hashlib
import os
import uuid
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def thread_group(thread_id: uuid.UUID | str) -> str:
    return f"thread.{uuid.UUID(str(thread_id)).hex}"


def user_group(user_id: uuid.UUID | str) -> str:
    return f"user.{uuid.UUID(str(user_id)).hex}"


def session_tag(session_key: str | None) -> str:
    """A name for a session in close events: its key is a credential and never leaves the server's store."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def send_now(group: str, payload: dict[str, Any]) -> None:
    """Send from synchronous code, outside any transaction.

    In a worker's database thread (an action called from a socket) the send is
    handed to the worker's event loop without waiting for it: the record is
    already committed, and a late or lost signal only delays delivery until
    the sockets' gap check. Elsewhere (commands, tests) it waits.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if (
        loop is not None
        and loop.is_running()
        and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()
    ):
        loop.call_soon_threadsafe(lambda: _keep(loop.create_task(layer.group_send(group, payload))))
        return
    async_to_sync(layer.group_send)(group, payload)


_pending: set[asyncio.Task[None]] = set()


def _keep(task: "asyncio.Task[None]") -> None:
    """Hold a reference until the send is done (the loop keeps only weak ones)."""
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def send_event_on_commit(group: str, payload: dict[str, Any]) -> None:
    """Send once the surrounding transaction has committed (never for a rollback)."""
    transaction.on_commit(lambda: send_now(group, payload))


def notify_entry(thread_id: uuid.UUID | str, seq: int, chain_hash: bytes, frame: str) -> dict[str, Any]:
    """The event for a new entry: its ready-made ``entry`` frame text, and the new head for consult.lib.heads."""
    return {"type": "entry", "thread": str(thread_id), "seq": seq, "hash": chain_hash, "frame": frame}


def notify_close(user_id: uuid.UUID | str, thread_id: uuid.UUID | str | None, reason: str) -> dict[str, Any]:
    """Tell the user's sockets to close (revocation, expiry, device revoked)."""
    return {"type": "close", "user": str(user_id), "thread": str(thread_id) if thread_id else None, "reason": reason}


def notify_session_closed(user_id: uuid.UUID | str, session_key: str | None) -> dict[str, Any]:
    """Tell the sockets opened with one session of the user to close (signed out, or its device revoked)."""
    return notify_close(user_id, None, f"session:{session_tag(session_key)}")
