"""How a worker's coroutines reach the database: Django in a thread pool, or one statement of its own.

Almost everything runs through Django's ORM, which is synchronous, in the
worker's database thread pool (:func:`in_db_pool`). The exception is the
message path's one statement (``APPEND_ON_HEAD_SQL`` in
consult.actions.messages), run on every message: through the pool it cost
the worker more CPU than the statement itself, in the hop (a thread hand-off
each way, Django's connection checks before and after, the GIL passed back and
forth between the event loop and the pool thread). So it runs here, on an
asynchronous psycopg connection that belongs to the worker's event loop.

That connection is made from Django's own settings for the database (server,
user, options, prepared-statement threshold) and is in autocommit: the
statement is its own transaction. It serves every socket of the worker, one
statement at a time, so a lock wait is bounded (:data:`LOCK_TIMEOUT`): a
thread whose row lock is held by a long transaction must not hold up the
messages of other threads. No row back, or any failure (a lock timeout, a
lost connection), returns ``None`` and the caller takes the locked path in
the pool, which is authoritative and gives the precise error. The hub closes the
connection with its last socket (consult.lib.hub).
"""

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from channels.db import database_sync_to_async
from django.db import connections

logger = logging.getLogger("comity.db")

# Row locks on the message path are held for milliseconds (a locked-path
# append); longer means a rare long transaction, which the pool waits out.
LOCK_TIMEOUT = "50ms"


def in_db_pool(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` in the worker's database thread pool.

    Not thread-sensitive: sockets of different threads write in parallel on
    their own connections (the thread's row lock orders writers of one
    thread), while each socket still handles its frames one at a time.
    """
    return database_sync_to_async(func, thread_sensitive=False)  # type: ignore[no-any-return]


@functools.cache
def available() -> bool:
    """Whether the database is PostgreSQL (the SQLite demo goes through the pool only).

    Asked on every message and fixed for the life of the process: looking up
    Django's connection each time (a context-local read) cost about 1 % of a
    worker's time under load.
    """
    return connections["default"].vendor == "postgresql"


class _Slot:
    """One event loop's connection, made on first use."""

    def __init__(self) -> None:
        self.connecting = asyncio.Lock()
        self.connection: psycopg.AsyncConnection[Any] | None = None

    async def open(self) -> psycopg.AsyncConnection[Any]:
        """The connection, made first if there is none or it was closed."""
        if self.connection is not None and not self.connection.closed:
            return self.connection
        async with self.connecting:
            if self.connection is None or self.connection.closed:
                params = connections["default"].get_connection_params()
                params.pop("cursor_factory", None)  # Django's synchronous cursors; psycopg's own bind on the server
                self.connection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                await self.connection.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            return self.connection


# Keyed by loop, held strongly: a connection must not vanish unclosed with a
# loop that ended (a worker has one loop for its life; tests close them all).
_slots: dict[asyncio.AbstractEventLoop, _Slot] = {}


async def fetch_one(sql: str, params: Mapping[str, Any]) -> Sequence[Any] | None:
    """The first row of one autocommitted statement; ``None`` if it returned none or failed.

    The statement runs to its end even if the caller is cancelled (a socket
    closing mid-send), so the connection is never left half-way through a
    query. Failures are logged by kind only: parameters may be ciphertext.
    """
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop) or _slots.setdefault(loop, _Slot())

    async def run() -> Sequence[Any] | None:
        cursor = await (await slot.open()).execute(sql, params)
        return await cursor.fetchone()

    try:
        return await asyncio.shield(run())
    except psycopg.errors.LockNotAvailable:
        return None
    except psycopg.Error as exc:
        logger.warning("the worker's own database connection failed (%s); taking the locked path", type(exc).__name__)
        if slot.connection is not None and slot.connection.broken:
            slot.connection = None
        return None


async def close() -> None:
    """Close the running loop's connection, if it has one."""
    slot = _slots.pop(asyncio.get_running_loop(), None)
    if slot is not None and slot.connection is not None:
        await slot.connection.close()


def close_all_now() -> None:
    """Close every loop's connection from synchronous code, running loops or not (tests, shutdown).

    Only the socket is closed (libpq's ``PQfinish``): the loops these
    connections belong to may have ended, so nothing is awaited.
    """
    for slot in list(_slots.values()):
        if slot.connection is not None and not slot.connection.closed:
            slot.connection.pgconn.finish()
    _slots.clear()
