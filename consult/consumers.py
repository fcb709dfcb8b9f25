"""The WebSocket endpoint (DESIGN §7): a thin transport over ``consult.actions``.

One socket per tab at ``/ws/?device=D``. Frames are parsed strictly, checked,
and dispatched to actions run in the database thread pool (a message on a
known head: one statement on the worker's own connection, see
``consult.lib.async_db``); every outgoing frame goes through one queue so
entries leave in ``seq`` order.

Delivery (DESIGN §5): ``sub`` joins the worker's hub *first*, then reads the
record after ``after`` from the database, buffering live entries meanwhile;
a live entry that skips a ``seq`` triggers a catch-up from the database. So
nothing falls in between and nothing is sent twice.
"""

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from consult.actions.keys import check_key_package
from consult.actions.messages import check_acknowledgement, send_message
from consult.actions.sessions import check_session_device, socket_lapse
from consult.actions.threads import check_mark_read, check_membership_change
from consult.conf import comity_settings
from consult.exceptions import BadInput, ComityError, NotFound, RateLimited, TooLarge, ws_error_code
from consult.lib import envelopes as check
from consult.lib.access import access_thread_from_device
from consult.lib.async_db import in_db_pool
from consult.lib.canonical import CanonicalJSONError, parse_json
from consult.lib.crypto import b64u
from consult.lib.entries import head_seq, load_frames
from consult.lib.events import session_tag, thread_group
from consult.lib.hub import get_hub
from consult.lib.ratelimit import TokenBucket
from consult.lib.ws_auth import session_seconds_left
from consult.models import Entry

FRAME_FIELDS = {
    "sub": {"type", "thread", "after"},
    "send": {"type", "thread", "envelope"},
    "keys": {"type", "thread", "package"},
    "member": {"type", "thread", "change"},
    "acknowledge": {"type", "thread", "receipt"},
    "typing": {"type", "thread"},
    "read": {"type", "thread", "seq"},
    "ping": {"type"},
}
RECHECK_SECONDS = 0.3  # a second look at the head after subscribing (pub/sub joins are not instant)
CLOSE_SIGNED_OUT = 4401  # the session ended: signed out, expired, or the account deactivated
CLOSE_REVOKED = 4403  # a membership ended or the device was revoked
CLOSE_ABUSE = 4429


@dataclass
class Subscription:
    """One thread a socket follows: the last ``seq`` sent, and live entries held while catching up."""

    thread: str
    last: int
    syncing: bool = True
    buffer: dict[int, str] = field(default_factory=dict)


class ConsultConsumer(AsyncWebsocketConsumer):
    """A member's socket: subscriptions, sends, key packages, membership changes, receipts."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not self.scope.get("otp_verified"):
            await self.close()  # before accept: the handshake is refused
            return
        device_ids = parse_qs(self.scope.get("query_string", b"").decode()).get("device", [])
        try:
            device_id = device_ids[0] if device_ids else ""
            self.device = await in_db_pool(check_session_device)(user, device_id, self.scope["session"].session_key)
        except NotFound:
            await self.close()
            return
        self.user = user
        self.user_id, self.device_id = str(user.pk), self.device.pk
        self.session_key = self.scope["session"].session_key
        self.session_tag = session_tag(self.session_key)
        self.subs: dict[str, Subscription] = {}
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.bucket = TokenBucket(comity_settings.COMITY_RATE_PER_SECOND, comity_settings.COMITY_RATE_BURST)
        self.refusals: deque[float] = deque()
        self.retry_at = 0.0
        self.tasks: set[asyncio.Future[Any]] = set()
        self.hub = get_hub()
        await self.accept()
        self.writer = asyncio.ensure_future(self._write())
        await self.hub.attach(self)
        self.emit({"type": "hello", "user": self.user_id, "device": self.device_id})
        self._check_session_at(await in_db_pool(session_seconds_left)(self.session_key, self.user_id))

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "hub"):
            return
        if hasattr(self, "session_timer"):
            self.session_timer.cancel()
        for thread in list(self.subs):
            await self._presence(thread, online=False)
        await self.hub.detach(self)
        for task in list(self.tasks):
            task.cancel()
        self.outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer, 1)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hand an ASGI message to its handler, without Channels' per-message connection check.

        Channels closes stale database connections before every message, on
        a hop to its shared sync thread; this consumer does no database work
        there. Its queries run in the pool (``in_db_pool``), whose every call
        already closes stale connections before and after, so the hop only cost
        each incoming frame a second thread round trip.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _spawn(self, work: Any) -> None:
        """Run ``work`` in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- outgoing --------------------------------------------------------------

    def emit(self, frame: dict[str, Any] | str) -> None:
        self.outbox.put_nowait(frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":")))

    async def _write(self) -> None:
        while (text := await self.outbox.get()) is not None:
            # Straight to the ASGI send: every frame here is text already, so
            # Channels' send helpers would only add two calls per copy.
            await self.base_send({"type": "websocket.send", "text": text})

    def error(self, code: str, detail: str, ref: Any, **extra: Any) -> None:
        self.emit({"type": "error", "code": code, "detail": detail, "ref": ref, **extra})

    # --- incoming --------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        wait = self.bucket.take()  # every frame counts, binary and too large ones too
        failure: ComityError | None = None
        try:
            frame = self._parse(text_data)
        except ComityError as exc:
            frame, failure = None, exc
        kind = frame.get("type") if isinstance(frame, dict) else None
        ref = self._ref(frame, kind)
        try:
            if wait:
                await self._refuse_for_rate(wait, ref)
                return
            if failure is not None:
                raise failure
            if not isinstance(kind, str) or kind not in FRAME_FIELDS:
                raise check.fail("type", "unknown frame type")
            check.exact_fields(frame, kind, FRAME_FIELDS[kind])
            if kind != "ping":
                check.uuid_text(frame["thread"], "thread")
            await getattr(self, f"on_{kind}")(frame)
        except ComityError as exc:
            self.error(ws_error_code(exc), exc.detail, ref)

    @staticmethod
    def _parse(text_data: str | None) -> Any:
        """The frame's JSON value; a too-large, binary or unparsable frame is refused."""
        limit = comity_settings.COMITY_MAX_FRAME_BYTES
        if text_data is None:
            raise BadInput("Frames are JSON text.")
        if len(text_data) > limit or len(text_data.encode()) > limit:
            raise TooLarge(f"Frames are at most {limit} bytes.")
        try:
            return parse_json(text_data)
        except CanonicalJSONError as exc:
            raise BadInput(f"Not valid JSON: {exc}") from None

    @staticmethod
    def _ref(frame: Any, kind: Any) -> Any:
        """The ``client_id`` of the frame at fault, else its ``type`` (DESIGN §7)."""
        with contextlib.suppress(Exception):
            client_id = frame["envelope"]["header"]["client_id"]
            if isinstance(client_id, str):
                return client_id
        return kind if isinstance(kind, str) else None

    async def _refuse_for_rate(self, wait: float, ref: Any) -> None:
        """Refuse a frame over the rate; close the socket of a client that ignores ``retry_after``."""
        now = time.monotonic()
        if now < self.retry_at:
            self.refusals.append(now)  # it did not wait as told: that is abuse, not bad luck
        self.retry_at = now + wait
        while self.refusals and self.refusals[0] < now - comity_settings.COMITY_ABUSE_WINDOW_SECONDS:
            self.refusals.popleft()
        self.error(RateLimited.code, "Too many frames; slow down.", ref, retry_after=round(wait, 3))
        if len(self.refusals) >= comity_settings.COMITY_ABUSE_REFUSALS:
            await self.close(code=CLOSE_ABUSE)

    # --- frame handlers -------------------------------------------------------------

    async def on_ping(self, frame: dict[str, Any]) -> None:
        self.emit({"type": "pong"})

    async def on_sub(self, frame: dict[str, Any]) -> None:
        thread, after = frame["thread"], check.integer(frame["after"], "after")
        if thread in self.subs:
            raise check.fail("thread", "is already followed on this socket")
        head = (await in_db_pool(access_thread_from_device)(self.user, self.device_id, thread)).head_seq
        if after > head:  # entries up to ``after`` would never be sent
            raise check.fail("after", f"is past the thread's head ({head})")
        sub = self.subs[thread] = Subscription(thread, after)
        await self.hub.join_thread(thread, self)
        await self._catch_up(sub)
        self.emit({"type": "synced", "thread": thread, "head": sub.last})
        self._flush(sub)
        await self._presence(thread, online=True)
        asyncio.get_running_loop().call_later(RECHECK_SECONDS, self._recheck, sub)

    async def on_send(self, frame: dict[str, Any]) -> None:
        ack = await send_message(self.user, self.device, frame["thread"], frame["envelope"])
        self.emit({"type": "ack", "client_id": ack.client_id, "seq": ack.seq, "hash": ack.hash})

    async def on_keys(self, frame: dict[str, Any]) -> None:
        entry = await in_db_pool(check_key_package)(self.user, self.device, frame["thread"], frame["package"])
        self._ack_signed(entry, "keys")

    async def on_member(self, frame: dict[str, Any]) -> None:
        entry = await in_db_pool(check_membership_change)(self.user, self.device, frame["thread"], frame["change"])
        self._ack_signed(entry, "member")

    async def on_acknowledge(self, frame: dict[str, Any]) -> None:
        entry = await in_db_pool(check_acknowledgement)(self.user, self.device, frame["thread"], frame["receipt"])
        self._ack_signed(entry, "acknowledge")

    def _ack_signed(self, entry: Entry, ref: str) -> None:
        """The ack of a signed object (no ``client_id``): its entry's seq and hash, and which frame it answers."""
        self.emit({"type": "ack", "client_id": None, "seq": entry.seq, "hash": b64u(bytes(entry.hash)), "ref": ref})

    async def on_typing(self, frame: dict[str, Any]) -> None:
        thread = self._subscribed(frame["thread"])
        await self._broadcast(thread, {"type": "typing", "thread": thread, "user": self.user_id})

    async def on_read(self, frame: dict[str, Any]) -> None:
        thread = self._subscribed(frame["thread"])
        seq = check.integer(frame["seq"], "seq")
        if await in_db_pool(check_mark_read)(self.user, self.device, thread, seq):
            await self._broadcast(thread, {"type": "read", "thread": thread, "user": self.user_id, "seq": seq})

    def _subscribed(self, thread: str) -> str:
        if thread not in self.subs:
            raise NotFound("Subscribe to the thread first.")
        return thread

    async def _broadcast(self, thread: str, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        await self.hub.publish(thread_group(thread), {"type": "event", "thread": thread, "frame": text})

    async def _presence(self, thread: str, *, online: bool) -> None:
        await self._broadcast(thread, {"type": "presence", "thread": thread, "user": self.user_id, "online": online})

    # --- delivery -------------------------------------------------------------------

    async def _catch_up(self, sub: Subscription) -> None:
        """Send everything after ``sub.last`` from the database, page by page."""
        page = comity_settings.COMITY_PAGE_ENTRIES
        while True:
            frames = await in_db_pool(load_frames)(sub.thread, sub.last, page)
            for seq, text in frames:
                self.emit(text)
                sub.last = seq
            if len(frames) < page:
                return

    def _flush(self, sub: Subscription) -> None:
        """Send held live entries in order; a gap sends the socket back to the database."""
        while sub.buffer:
            seq = min(sub.buffer)
            text = sub.buffer.pop(seq)
            if seq <= sub.last:
                continue
            if seq != sub.last + 1:
                sub.buffer[seq] = text
                self._spawn(self._refill(sub))
                return
            self.emit(text)
            sub.last = seq
        sub.syncing = False

    async def _refill(self, sub: Subscription) -> None:
        sub.syncing = True
        await self._catch_up(sub)
        self._flush(sub)

    def _recheck(self, sub: Subscription) -> None:
        async def look() -> None:
            if self.subs.get(sub.thread) is sub and not sub.syncing:
                if await in_db_pool(head_seq)(sub.thread) > sub.last and not sub.syncing:
                    await self._refill(sub)

        self._spawn(look())

    # --- hub callbacks (synchronous) ---------------------------------------------------

    def on_entry(self, thread: str, seq: int, frame: str) -> None:
        sub = self.subs.get(thread)
        if sub is None or seq <= sub.last:
            return
        if sub.syncing or seq != sub.last + 1:
            sub.buffer[seq] = frame
            if not sub.syncing:
                sub.syncing = True
                self._spawn(self._refill(sub))
            return
        self.emit(frame)
        sub.last = seq

    def on_event(self, thread: str, frame: str) -> None:
        if thread in self.subs:
            self.emit(frame)

    def on_close(self, thread: str | None, reason: str) -> None:
        signed_out = reason.startswith("session:") or reason in ("deactivated", "credentials")
        self._spawn(self.close(code=CLOSE_SIGNED_OUT if signed_out else CLOSE_REVOKED))

    # --- the session ------------------------------------------------------------------------

    def _check_session_at(self, seconds: float) -> None:
        """Look again when the session is due to expire (it may have been extended since), and meanwhile
        every ``COMITY_SOCKET_RECHECK_SECONDS``, in case a close event was lost (``socket_lapse``)."""

        async def check() -> None:
            look = in_db_pool(socket_lapse)
            lapse, remaining = await look(self.user, self.device_id, self.session_key, list(self.subs))
            if lapse is not None:
                await self.close(code=CLOSE_SIGNED_OUT if lapse == "signed out" else CLOSE_REVOKED)
            else:
                self._check_session_at(remaining)

        delay = min(max(seconds, 0), comity_settings.COMITY_SOCKET_RECHECK_SECONDS)
        self.session_timer = asyncio.get_running_loop().call_later(delay, lambda: self._spawn(check()))
