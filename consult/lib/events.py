"""Publishing events to sockets, after the transaction commits (STYLE §4).

PostgreSQL is the truth; these events only say "look" (DESIGN §5). A worker
subscribes once per thread (see ``consult.lib.hub``) and fans out locally, so
one entry costs one channel-layer message per worker, not one per socket.
Payloads are small dicts of ids and the entry's own JSON text.
"""

import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def thread_group(thread_id: uuid.UUID | str) -> str:
    return f"thread.{uuid.UUID(str(thread_id)).hex}"


def user_group(user_id: uuid.UUID | str) -> str:
    return f"user.{uuid.UUID(str(user_id)).hex}"


def send_now(group: str, payload: dict[str, Any]) -> None:
    """Send from synchronous code, outside any transaction."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, payload)


def send_event_on_commit(group: str, payload: dict[str, Any]) -> None:
    """Send once the surrounding transaction has committed (never for a rollback)."""
    transaction.on_commit(lambda: send_now(group, payload))


def notify_entry(thread_id: uuid.UUID | str, seq: int, frame: str) -> dict[str, Any]:
    """The event for a new entry: its ready-made ``entry`` frame text."""
    return {"type": "entry", "thread": str(thread_id), "seq": seq, "frame": frame}


def notify_close(user_id: uuid.UUID | str, thread_id: uuid.UUID | str | None, reason: str) -> dict[str, Any]:
    """Tell the user's sockets to close (revocation, expiry, device revoked)."""
    return {"type": "close", "user": str(user_id), "thread": str(thread_id) if thread_id else None, "reason": reason}
