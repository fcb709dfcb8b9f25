"""One channel-layer subscription per worker and thread, fanned out locally.

Channels' usual pattern adds every socket to a group, so each entry costs one
channel-layer delivery (and one deserialisation) per socket. Here each worker
process holds a single hub channel: the first local subscriber of a thread
adds the hub to that thread's group, and the hub hands the entry's
ready-made frame text to every local socket in memory. Nothing another worker
needs lives here: PostgreSQL is the truth and a missed event only delays
delivery until the socket's gap check (DESIGN §5).

The hub also runs the worker's expiry sweep, so liaison invitations end (and
their sockets close) within seconds of expiring.
"""

import asyncio
import contextlib
import logging
import weakref
from collections import defaultdict
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from consult.conf import comity_settings
from consult.lib import async_db, heads
from consult.lib.events import thread_group, user_group

logger = logging.getLogger("comity.hub")


class Listener(Protocol):
    """What a socket offers the hub; calls are synchronous and must not block."""

    user_id: str
    device_id: str
    session_tag: str

    def on_entry(self, thread: str, seq: int, frame: str) -> None: ...

    def on_event(self, thread: str, frame: str) -> None: ...

    def on_close(self, thread: str | None, reason: str) -> None: ...


class Hub:
    """The fan-out point of one event loop (one daphne worker)."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.listeners: set[Listener] = set()
        self.threads: dict[str, set[Listener]] = defaultdict(set)
        self.users: dict[str, set[Listener]] = defaultdict(set)
        self._joined: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: list[asyncio.Task[None]] = []

    async def attach(self, listener: Listener) -> None:
        """Register a socket; starts the hub's reader and expiry sweep if idle."""
        if self.channel is None:
            self.channel = await self.layer.new_channel("comity-hub.")
            self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._sweep())]
        self.listeners.add(listener)
        self.users[listener.user_id].add(listener)
        await self._join(user_group(listener.user_id))

    async def detach(self, listener: Listener) -> None:
        """Forget a socket; the last one out stops the hub's tasks."""
        self.listeners.discard(listener)
        for thread in [t for t, members in self.threads.items() if listener in members]:
            await self.leave_thread(thread, listener)
        self.users[listener.user_id].discard(listener)
        if not self.users[listener.user_id]:
            del self.users[listener.user_id]
            await self._leave(user_group(listener.user_id))
        if not self.listeners:
            await self._stop()

    async def join_thread(self, thread: str, listener: Listener) -> None:
        """Subscribe a socket to a thread; returns once the hub's subscription is in place."""
        self.threads[thread].add(listener)
        await self._join(thread_group(thread))

    async def leave_thread(self, thread: str, listener: Listener) -> None:
        members = self.threads.get(thread)
        if members is None:
            return
        members.discard(listener)
        if not members:
            del self.threads[thread]
            await self._leave(thread_group(thread))

    async def publish(self, group: str, payload: dict[str, Any]) -> None:
        await self.layer.group_send(group, payload)

    async def _join(self, group: str) -> None:
        async with self._locks[group]:
            if group not in self._joined and self.channel is not None:
                await self.layer.group_add(group, self.channel)
                self._joined.add(group)

    async def _leave(self, group: str) -> None:
        async with self._locks[group]:
            if group in self._joined and not self._in_use(group) and self.channel is not None:
                self._joined.discard(group)
                await self.layer.group_discard(group, self.channel)

    def _in_use(self, group: str) -> bool:
        """Whether a socket joined the group again while we waited to leave it."""
        return any(thread_group(t) == group for t in self.threads) or any(user_group(u) == group for u in self.users)

    async def _read(self) -> None:
        assert self.channel is not None
        while True:
            message = await self.layer.receive(self.channel)
            try:
                self._dispatch(message)
            except Exception:  # one bad message must not stop delivery to everyone
                logger.exception("hub could not dispatch a %s event", message.get("type"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "entry":
            if isinstance(message.get("hash"), bytes):  # the next send here can start from it
                heads.remember(message["thread"], message["seq"], message["hash"])
            for listener in list(self.threads.get(message["thread"], ())):
                listener.on_entry(message["thread"], message["seq"], message["frame"])
        elif kind == "event":
            for listener in list(self.threads.get(message["thread"], ())):
                listener.on_event(message["thread"], message["frame"])
        elif kind == "close":
            for listener in list(self.users.get(message["user"], ())):
                reason = message["reason"]
                if reason.startswith("device:") and reason != f"device:{listener.device_id}":
                    continue
                if reason.startswith("session:") and reason != f"session:{listener.session_tag}":
                    continue
                listener.on_close(message["thread"], reason)

    async def _sweep(self) -> None:
        from consult.actions.threads import do_expire_due_memberships

        while True:
            await asyncio.sleep(comity_settings.COMITY_EXPIRY_SWEEP_SECONDS)
            try:
                await database_sync_to_async(do_expire_due_memberships)()
            except Exception:
                logger.exception("expiry sweep failed; retrying")

    async def _stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for group in list(self._joined):
            if self.channel is not None:
                with contextlib.suppress(Exception):
                    await self.layer.group_discard(group, self.channel)
        self._joined.clear()
        self.channel = None
        await async_db.close()  # the worker's own database connection serves only sockets


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per worker process in production)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
