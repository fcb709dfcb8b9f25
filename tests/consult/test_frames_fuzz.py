"""Property-based bad input at the WebSocket endpoint (DESIGN §7, §9).

Random JSON, random frames of every type and mutated valid signed objects are
thrown at one socket. Every frame must get exactly one answer (an error with
the right ``ref``, or ``pong`` for a real ping), the socket must stay usable,
and nothing may change in the database.

Hypothesis drives synchronous examples; the socket lives on one event loop
that each example runs until its frames are answered, so a single
``WebsocketCommunicator`` serves every example of a test.
"""

import asyncio
import contextlib
import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from consult.actions.threads import check_membership_change, do_end_membership_by_server
from consult.asgi import application
from consult.client import (
    build_acknowledgement,
    build_key_package,
    build_membership_change,
    make_payload,
    seal_envelope,
    sign_object,
)
from consult.client.keys import Device as ClientDevice
from consult.lib.canonical import CanonicalJSONError, parse_json
from consult.lib.crypto import b64u
from consult.lib.protocol import envelope_signed_bytes
from consult.models import BackupWrap, Device, Entry, Membership, Thread
from tests.helpers import verified_client
from tests.realtime import Peer, World, make_world, open_thread, package_recipients, rotate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")
MAX_SAFE = 2**53 - 1
LIMIT = 256 * 1024
ERROR_CODES = {"bad_frame", "forbidden", "not_found", "bad_signature", "stale_epoch", "conflict"}
SEND_KINDS = {"text", "clarification", "answer", "assurance", "document", "note"}
FUZZ = hypothesis.settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# --- one socket, driven from synchronous examples ----------------------------------


class Crashed(AssertionError):
    """The consumer died, or never answered, instead of replying with an error."""


class Socket:
    """A ``WebsocketCommunicator`` on a private event loop, reconnected only after a crash."""

    POOL = 4

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(self.POOL)  # the consumer's database threads, to close their connections
        self.loop.set_default_executor(self.pool)
        self.sockets: list[WebsocketCommunicator] = []
        self.ws = self._connect()

    def _connect(self) -> WebsocketCommunicator:
        cookie = f"sessionid={verified_client(self.peer.user).cookies['sessionid'].value}".encode()

        async def connect() -> WebsocketCommunicator:
            ws = WebsocketCommunicator(
                application, f"/ws/?device={self.peer.device.id}", headers=[ORIGIN, HOST, (b"cookie", cookie)]
            )
            connected, _ = await ws.connect()
            assert connected
            assert json.loads((await ws.receive_output(3))["text"])["type"] == "hello"
            return ws

        ws = self.loop.run_until_complete(connect())
        self.sockets.append(ws)
        return ws

    async def _next(self, timeout: float = 5) -> dict[str, Any]:
        """The next frame out, raising at once if the application died meanwhile."""
        get = asyncio.ensure_future(self.ws.output_queue.get())
        done, _ = await asyncio.wait({get, self.ws.future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if get in done:
            output = get.result()
            if output["type"] != "websocket.send":
                raise Crashed(f"the socket closed: {output}")
            return dict(json.loads(output["text"]))
        get.cancel()
        if self.ws.future.done():
            self.ws.future.result()
            raise Crashed("the application ended")
        raise Crashed(f"no answer within {timeout} s")

    async def _exchange(self, text: str | None, data: bytes | None, pongs: int) -> list[dict[str, Any]]:
        await self.ws.send_input({"type": "websocket.receive", "text": text, "bytes": data})  # "" is a frame too
        await self.ws.send_to(text_data='{"type":"ping"}')
        replies = []
        while pongs:
            reply = await self._next()
            replies.append(reply)
            pongs -= reply == {"type": "pong"}
        return replies[:-1]

    def exchange(self, text: str | None = None, data: bytes | None = None, pongs: int = 1) -> list[dict[str, Any]]:
        """Send one frame and a ping; return everything answered before the ping's pong."""
        try:
            return self.loop.run_until_complete(self._exchange(text, data, pongs))
        except Exception as exc:
            self.ws = self._connect()  # so that the remaining examples (and shrinking) still run
            shown = repr(text if data is None else data)
            raise Crashed(f"the consumer failed on {shown[:400]}: {exc!r}") from exc

    def close(self) -> None:
        async def disconnect() -> None:
            for ws in self.sockets:
                with contextlib.suppress(Exception):
                    await ws.disconnect()
            leftovers = asyncio.all_tasks() - {asyncio.current_task()}  # a crashed socket's hub tasks
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
            await sync_to_async(connections.close_all)()  # the thread-sensitive thread (sessions)

        def close_connections(barrier: threading.Barrier) -> None:
            barrier.wait(timeout=10)  # one call per pool thread
            connections.close_all()

        self.loop.run_until_complete(disconnect())
        barrier = threading.Barrier(self.POOL)
        for done in [self.pool.submit(close_connections, barrier) for _ in range(self.POOL)]:
            done.result()
        self.pool.shutdown()
        self.loop.close()


# --- the scene: a thread with history, and valid frames to mutate -----------------


@dataclass
class Scene:
    """fr's socket in a thread at epoch 3 (epochs 1-2 closed by a revocation), and valid unsent frames."""

    world: World
    thread: str
    other_thread: str  # exists, but fr is not a member
    socket: Socket
    bases: dict[str, dict[str, Any]] = field(default_factory=dict)


def snapshot() -> tuple[Any, ...]:
    """Everything a frame could change."""
    return (
        list(Entry.objects.order_by("thread_id", "seq").values_list("thread_id", "seq")),
        list(Thread.objects.order_by("pk").values_list("pk", "head_seq", "epoch", "min_epoch", "epoch_messages")),
        list(Membership.objects.order_by("pk").values_list("pk", "ended_at", "read_seq")),
        list(Device.objects.order_by("pk").values_list("pk", "revoked_at")),
        BackupWrap.objects.count(),
    )


def _envelope(peer: Peer, thread: str, epoch: int, kind: str = "text", **meta: str) -> dict[str, Any]:
    return seal_envelope(
        peer.device, b"k" * 32, thread=thread, epoch=epoch, kind=kind,  # type: ignore[arg-type]
        payload=make_payload("Is the offence punishable by at least one year?"), meta=meta,
    )  # fmt: skip


def _package(scene_world: World, thread_id: str) -> dict[str, Any]:
    thread = Thread.objects.get(pk=thread_id)
    members, recipients = package_recipients(thread)
    prev = b64u(bytes(Entry.objects.get(thread=thread, seq=thread.epoch_seq).hash))
    return build_key_package(
        scene_world.fr.device, thread=thread_id, epoch=thread.epoch + 1, reason="rotate", history="shared",
        members=members, recipients=recipients, epoch_key=b"e" * 32, prev=prev,
    )  # fmt: skip


def build_scene() -> Scene:
    world = make_world()
    thread_id, _ = open_thread(world.fr, world.case)
    for target, expires in ((world.de, None), (world.liaison, (timezone.now() + timedelta(days=1)).isoformat())):
        change = build_membership_change(
            world.fr.device, thread=thread_id, action="add", user=str(target.user.pk), expires=expires
        )
        check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    rotate(world.fr, thread_id)
    do_end_membership_by_server(thread_id, world.liaison.user.pk, Membership.End.REVOKED)
    rotate(world.fr, thread_id)
    other_thread, _ = open_thread(world.fr_supervisor, world.case)
    thread = Thread.objects.get(pk=thread_id)
    assert (thread.epoch, thread.min_epoch) == (3, 3)
    head = Entry.objects.get(thread=thread, seq=thread.head_seq)
    fr = world.fr
    change = {"type": "member", "thread": thread_id}
    bases = {
        "send text": {"type": "send", "thread": thread_id, "envelope": _envelope(fr, thread_id, 3)},
        "send assurance": {
            "type": "send", "thread": thread_id,
            "envelope": _envelope(fr, thread_id, 3, "assurance", type="torture", status="requested"),
        },
        "send document": {
            "type": "send", "thread": thread_id,
            "envelope": _envelope(fr, thread_id, 3, "document", doc_type="warrant"),
        },
        "send clarification": {
            "type": "send", "thread": thread_id,
            "envelope": _envelope(fr, thread_id, 3, "clarification", due="2026-12-01"),
        },
        "acknowledge": {
            "type": "acknowledge", "thread": thread_id,
            "receipt": build_acknowledgement(fr.device, thread=thread_id, seq=head.seq, hash_=bytes(head.hash)),
        },
        "keys": {"type": "keys", "thread": thread_id, "package": _package(world, thread_id)},
        "add member": {
            **change,
            "change": build_membership_change(
                fr.device, thread=thread_id, action="add", user=str(world.fr_supervisor.user.pk)
            ),
        },
        "remove member": {
            **change,
            "change": build_membership_change(fr.device, thread=thread_id, action="remove", user=str(world.de.user.pk)),
        },
    }  # fmt: skip
    return Scene(world, thread_id, other_thread, Socket(world.fr), bases)


@pytest.fixture
def scene(settings: Any) -> Iterator[Scene]:
    settings.COMITY_RATE_PER_SECOND, settings.COMITY_RATE_BURST = 1e9, 10**9  # fuzzing is not abuse
    built = build_scene()
    yield built
    built.socket.close()


# --- what an answer must look like --------------------------------------------------


def expected_ref(frame: Any) -> Any:
    """DESIGN §7: the ``client_id`` of the frame at fault, else its ``type``."""
    if not isinstance(frame, dict):
        return None
    envelope = frame.get("envelope")
    if isinstance(envelope, dict) and isinstance(envelope.get("header"), dict):
        client_id = envelope["header"].get("client_id")
        if isinstance(client_id, str):
            return client_id
    kind = frame.get("type")
    return kind if isinstance(kind, str) else None


def parsed(text: str) -> tuple[bool, Any]:
    """Whether the server can read ``text`` as strict JSON at all (and the value)."""
    try:
        return True, parse_json(text)
    except CanonicalJSONError:
        return False, None


def is_valid_sub(value: Any, scene: Scene) -> bool:
    """A well-formed subscription to fr's own thread: a real request, not bad input."""
    return (
        isinstance(value, dict)
        and set(value) == {"type", "thread", "after"}
        and value["type"] == "sub"
        and value["thread"] == scene.thread
        and type(value["after"]) is int
        and value["after"] >= 0
    )


def throw(scene: Scene, text: str | None = None, data: bytes | None = None, code: str | None = None) -> None:
    """Send one frame; it must get exactly one error (or a pong if it is a real ping)."""
    readable, value = parsed(text) if text is not None else (False, None)
    if text is not None and len(text.encode()) > LIMIT:
        readable, code = False, "too_large"  # refused before it is read
    if readable and is_valid_sub(value, scene):
        return  # the one random frame that is simply valid and answered with entries
    if readable and value == {"type": "ping"}:
        assert scene.socket.exchange(text, pongs=2) == [{"type": "pong"}]
        return
    replies = scene.socket.exchange(text, data)
    assert len(replies) == 1, (text, replies)
    error = replies[0]
    assert error["type"] == "error" and set(error) == {"type", "code", "detail", "ref"}, error
    assert error["code"] == code if code else error["code"] in ERROR_CODES, (text, error)
    assert error["ref"] == (expected_ref(value) if readable else None), (text, error)
    assert isinstance(error["detail"], str) and error["detail"]


def throw_all(scene: Scene, frames: list[tuple[str | None, bytes | None]]) -> None:
    before = snapshot()
    for text, data in frames:
        throw(scene, text, data)
    assert snapshot() == before


def still_usable(scene: Scene) -> None:
    assert scene.socket.exchange('{"type":"ping"}', pongs=2) == [{"type": "pong"}]
    assert len(scene.socket.sockets) == 1, "a frame crashed the consumer (see the failures above)"


# --- strategies -----------------------------------------------------------------

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
    | st.sampled_from([0, 1, -1, MAX_SAFE, -MAX_SAFE])
    | st.text(max_size=24)
)
JSON_VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)  # fmt: skip
HUGE_INTS = st.integers(min_value=MAX_SAFE + 1, max_value=2**70).flatmap(lambda n: st.sampled_from([n, -n]))
B64 = st.binary(max_size=80).map(b64u)
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
FLIP_TO = st.sampled_from(B64_ALPHABET + '=+/. é\x00\n"\\')


@st.composite
def nested_junk(draw: st.DrawFn) -> Any:
    value = draw(LEAVES)
    for _ in range(draw(st.integers(min_value=2, max_value=60))):
        value = draw(st.sampled_from([[value], {"x": value}, {"header": value}, [value, 0]]))
    return value


def raw_frames(scene: Scene) -> st.SearchStrategy[tuple[str | None, bytes | None]]:
    """Text that may not be JSON at all, JSON the server must refuse, and binary frames."""
    thread = scene.thread
    texts = st.one_of(
        st.text(max_size=200),
        JSON_VALUES.map(json.dumps),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: json.dumps({"type": "ping", "x": f})),
        HUGE_INTS.map(lambda n: json.dumps({"type": "sub", "thread": thread, "after": n})),
        st.integers(min_value=1, max_value=100_000).map(lambda n: "[" * n + "]" * n),
        st.integers(min_value=1, max_value=50_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.sampled_from([
            '{"type":"ping","x":"\\ud800"}', '{"type":"ping","type":"ping"}', '{"type":"ping"', "",
            '{"type":"sub","thread":"' + thread + '","after":0,"after":1}', "\ufeff{}", '{"type":"ping"}garbage',
            '{"type":"sub","thread":"' + thread + '","after":1e3}',
            '{"type":"sub","thread":"' + thread + '","after":-0}',
        ]),
    )  # fmt: skip
    return st.one_of(texts.map(lambda t: (t, None)), st.binary(max_size=64).map(lambda b: (None, b)))


def _field(scene: Scene, name: str) -> st.SearchStrategy[Any]:
    """Plausible and implausible values for one field of a frame or signed object."""
    fr, de = scene.world.fr, scene.world.de
    ids = st.sampled_from([scene.thread, scene.other_thread, str(uuid.uuid4()), scene.thread.upper(), ""])
    devices = st.sampled_from([fr.device.id, de.device.id]) | st.binary(min_size=16, max_size=16).map(b64u)
    users = st.sampled_from([str(p.user.pk) for p in (fr, de, scene.world.liaison, scene.world.outsider)])
    specific: dict[str, st.SearchStrategy[Any]] = {
        "thread": ids,
        "case": st.just(str(scene.world.case.pk)),
        "after": st.integers(min_value=-3, max_value=MAX_SAFE),
        "seq": st.integers(min_value=-3, max_value=MAX_SAFE),
        "epoch": st.integers(min_value=-1, max_value=6),
        "v": st.sampled_from([1, 2, 0, True, "1"]),
        "sender_device": devices,
        "device": devices,
        "user": users,
        "client_id": st.uuids().map(str),
        "kind": st.sampled_from(["text", "assurance", "document", "clarification", "answer", "note", "shout"]),
        "action": st.sampled_from(["add", "remove", "leave", "ban"]),
        "reason": st.sampled_from(["create", "rotate", "history", "because"]),
        "history": st.sampled_from(["shared", "from_join", "all"]),
        "expires": st.none() | st.sampled_from(["2999-01-01T00:00:00Z", "2000-01-01T00:00:00+00:00", "tomorrow"]),
        "type": st.sampled_from(["keys", "send", "torture", "requested"]),
        "meta": st.just({}) | st.dictionaries(st.sampled_from(["due", "type", "status", "doc_type"]), LEAVES),
        "members": st.lists(
            st.fixed_dictionaries({"user": users, "devices": st.lists(devices, max_size=2)}), max_size=3
        ),
        "recipients": st.lists(
            st.fixed_dictionaries({
                "id": devices | st.sampled_from(["records:FR-MJ", "records:DE-BFJ", "backup:x"]),
                "kind": st.sampled_from(["device", "records", "backup", "other"]),
                "iv": B64, "ct": B64,
            }),
            max_size=4,
        ),
    }  # fmt: skip
    return st.one_of(specific.get(name, B64), JSON_VALUES)


SHAPES = {
    "envelope": {"header": None, "iv": None, "ct": None, "sig": None},
    "header": {"v", "thread", "epoch", "sender_device", "client_id", "kind", "meta"},
    "package": {"v", "type", "thread", "epoch", "reason", "prev", "history", "members", "sender_device", "eph",
                "recipients", "sig"},
    "change": {"v", "thread", "action", "user", "expires", "sender_device", "sig"},
    "receipt": {"v", "thread", "seq", "hash", "device", "sig"},
}  # fmt: skip
FRAME_FIELDS = {
    "sub": {"thread", "after"},
    "send": {"thread", "envelope"},
    "keys": {"thread", "package"},
    "member": {"thread", "change"},
    "acknowledge": {"thread", "receipt"},
    "typing": {"thread"},
    "read": {"thread", "seq"},
    "ping": set(),
}


def _shaped(scene: Scene, name: str) -> st.SearchStrategy[Any]:
    """An object with the right (or nearly right) fields and random values."""
    if name == "envelope":
        fields = {"header": _shaped(scene, "header"), "iv": B64, "ct": B64, "sig": B64}
    elif name in SHAPES:
        fields = {f: _field(scene, f) for f in SHAPES[name]}
    else:
        return _field(scene, name)
    return st.fixed_dictionaries(fields).flatmap(lambda obj: _reshape(obj))


def _reshape(obj: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Keep, drop a field from, or add a field to ``obj``."""
    keys = sorted(obj)
    return st.one_of(
        st.just(obj),
        st.sampled_from(keys).map(lambda k: {key: v for key, v in obj.items() if key != k}) if keys else st.just(obj),
        st.tuples(st.text(min_size=1, max_size=8), JSON_VALUES).map(lambda kv: {**obj, kv[0]: kv[1]}),
    )


def typed_frames(scene: Scene) -> st.SearchStrategy[dict[str, Any]]:
    """Frames of every type with random, plausible or missing fields (and now and then a junk type)."""
    return st.sampled_from(sorted(FRAME_FIELDS)).flatmap(
        lambda kind: st.fixed_dictionaries(
            {"type": st.just(kind) | JSON_VALUES, **{f: _shaped(scene, f) for f in FRAME_FIELDS[kind]}}
        ).flatmap(_reshape)
    )


# --- mutating valid frames ---------------------------------------------------------

Path = tuple[str | int, ...]


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def replaced(value: Any, path: Path, new: Any) -> Any:
    value = copy.deepcopy(value)
    if not path:
        return new
    at(value, path[:-1])[path[-1]] = new
    return value


def json_type(value: Any) -> str:
    return {bool: "bool", int: "int", str: "str", list: "list", dict: "dict", type(None): "null"}[type(value)]


def canonical_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@st.composite
def mutation(draw: st.DrawFn, frame: dict[str, Any], scene: Scene) -> dict[str, Any]:
    """One structural or value change somewhere in ``frame``."""
    every = [p for p in paths(frame) if p]
    where = {
        "flip": [p for p in every if isinstance(at(frame, p), str) and at(frame, p)],
        "drop": [p for p in paths(frame) if isinstance(at(frame, p), dict) and at(frame, p)],
        "add": [p for p in paths(frame) if isinstance(at(frame, p), dict)],
        "retype": every,
        "huge": every,
        "junk": every,
        "thread": [p for p in every if at(frame, p) == scene.thread],
    }
    how = draw(st.sampled_from([name for name, places in where.items() if places]))
    path = draw(st.sampled_from(where[how]))
    old = at(frame, path)
    if how == "flip":
        index = draw(st.integers(min_value=0, max_value=len(old) - 1))
        char = draw(FLIP_TO.filter(lambda c: c != old[index]))
        return replaced(frame, path, old[:index] + char + old[index + 1 :])
    if how == "drop":
        gone = draw(st.sampled_from(sorted(old)))
        return replaced(frame, path, {k: v for k, v in old.items() if k != gone})
    if how == "add":
        new_key = draw(st.text(max_size=8).filter(lambda k: k not in old))
        return replaced(frame, path, {**old, new_key: draw(JSON_VALUES)})
    if how == "retype":
        return replaced(frame, path, draw(JSON_VALUES.filter(lambda v: json_type(v) != json_type(old))))
    if how == "huge":
        return replaced(frame, path, draw(HUGE_INTS))
    if how == "junk":
        return replaced(frame, path, draw(nested_junk()))
    other = st.sampled_from([scene.other_thread, str(uuid.uuid4()), scene.thread.upper(), scene.thread + " "])
    return replaced(frame, path, draw(other))


@st.composite
def mutated_frames(draw: st.DrawFn, scene: Scene) -> dict[str, Any]:
    """A valid, signed frame changed in one to three places (never back into itself)."""
    base = scene.bases[draw(st.sampled_from(sorted(scene.bases)))]
    frame = base
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        frame = draw(mutation(frame, scene))
    if canonical_text(frame) == canonical_text(base):
        frame = replaced(frame, ("type",), "send" if base["type"] != "send" else "keys")  # still never valid
    return frame


def _resign_envelope(scene: Scene, **header: Any) -> dict[str, Any]:
    envelope = copy.deepcopy(scene.bases["send text"]["envelope"])
    envelope["header"].update(header)
    envelope["sig"] = scene.world.fr.device.sign(envelope_signed_bytes(envelope))
    thread = envelope["header"]["thread"]
    return {"type": "send", "thread": thread, "envelope": envelope}


def _resign(scene: Scene, base: str, inner: str, **changes: Any) -> dict[str, Any]:
    frame = copy.deepcopy(scene.bases[base])
    frame[inner] = sign_object(scene.world.fr.device, {**frame[inner], **changes})
    return frame


def _package_without(scene: Scene, recipient: str | None = None, member: str | None = None) -> dict[str, Any]:
    package = scene.bases["keys"]["package"]
    recipients = [r for r in package["recipients"] if r["id"] != recipient]
    members = [m for m in package["members"] if m["user"] != member]
    return _resign(scene, "keys", "package", recipients=recipients, members=members)


def _extra_backup(scene: Scene) -> dict[str, Any]:
    package = scene.bases["keys"]["package"]
    outsider = f"backup:{scene.world.outsider.user.pk}"
    extra = {"id": outsider, "kind": "backup", "iv": b64u(b"i" * 12), "ct": b64u(b"c" * 48)}
    return _resign(scene, "keys", "package", recipients=[*package["recipients"], extra])


def _from_another_device(scene: Scene) -> dict[str, Any]:
    """Correctly signed, by a device that is not this socket's (a second device of fr)."""
    other = ClientDevice.generate(str(scene.world.fr.user.pk))
    frame = copy.deepcopy(scene.bases["send text"])
    frame["envelope"] = seal_envelope(
        other, b"k" * 32, thread=scene.thread, epoch=3, kind="text", payload=make_payload("x")
    )
    return frame


def resigned_frames(scene: Scene) -> st.SearchStrategy[tuple[str, dict[str, Any], str]]:
    """Frames whose signature verifies but whose content the server must refuse, with the code it must use."""
    world, thread = scene.world, scene.thread
    past = (timezone.now() - timedelta(minutes=1)).isoformat()  # never a future expiry: that would be valid
    other_seq_hash = b64u(bytes(Entry.objects.get(thread_id=thread, seq=1).hash))
    head = Thread.objects.get(pk=thread).head_seq
    user = {name: str(getattr(world, name).user.pk) for name in ("fr", "de", "liaison", "outsider", "fr_supervisor")}
    cases: list[tuple[str, Callable[[], dict[str, Any]] | st.SearchStrategy[dict[str, Any]], str]] = [
        ("future epoch", st.integers(min_value=4, max_value=MAX_SAFE).map(lambda e: _resign_envelope(scene, epoch=e)),
         "conflict"),
        ("closed epoch", st.sampled_from([1, 2]).map(lambda e: _resign_envelope(scene, epoch=e)), "stale_epoch"),
        ("a thread I am not in", lambda: _resign_envelope(scene, thread=scene.other_thread), "not_found"),
        ("missing thread", st.uuids(version=4).map(lambda u: _resign_envelope(scene, thread=str(u))), "not_found"),
        ("another device's id", lambda: _resign_envelope(scene, sender_device=world.de.device.id), "bad_frame"),
        ("a second device's signature", lambda: _from_another_device(scene), "bad_frame"),
        ("client id not v4", lambda: _resign_envelope(scene, client_id=str(uuid.uuid1())), "bad_frame"),
        ("unknown kind", st.text(min_size=1, max_size=12).filter(lambda k: k not in SEND_KINDS).map(
            lambda k: _resign_envelope(scene, kind=k)), "bad_frame"),
        ("assurance without type", lambda: _resign_envelope(scene, kind="assurance", meta={"status": "offered"}),
         "bad_frame"),
        ("impossible due date", lambda: _resign_envelope(scene, kind="clarification", meta={"due": "2026-02-30"}),
         "bad_frame"),
        ("package epoch taken", st.sampled_from([1, 2, 3]).map(
            lambda e: _resign(scene, "keys", "package", epoch=e)), "conflict"),
        ("package epoch skipped", st.sampled_from([5, MAX_SAFE]).map(
            lambda e: _resign(scene, "keys", "package", epoch=e)), "bad_frame"),
        ("package reason create", lambda: _resign(scene, "keys", "package", reason="create"), "bad_frame"),
        ("package as history", lambda: _resign(scene, "keys", "package", reason="history"), "bad_frame"),
        ("package prev", lambda: _resign(scene, "keys", "package", prev=other_seq_hash), "bad_frame"),
        ("package history policy", lambda: _resign(scene, "keys", "package", history="from_join"), "bad_frame"),
        ("package skips a member", lambda: _package_without(scene, world.de.device.id, user["de"]), "bad_frame"),
        ("package skips a device", lambda: _package_without(scene, world.de.device.id), "bad_frame"),
        ("package skips a records key", lambda: _package_without(scene, "records:DE-BFJ"), "bad_frame"),
        ("package backup to an outsider", lambda: _extra_backup(scene), "bad_frame"),
        ("add a member again", lambda: _resign(scene, "add member", "change", user=user["de"]), "conflict"),
        ("add a third authority", lambda: _resign(scene, "add member", "change", user=user["outsider"]), "not_found"),
        ("add a stranger", st.uuids().map(lambda u: _resign(scene, "add member", "change", user=str(u))), "not_found"),
        ("liaison without expiry", lambda: _resign(scene, "add member", "change", user=user["liaison"]), "bad_frame"),
        ("liaison expired", lambda: _resign(scene, "add member", "change", user=user["liaison"], expires=past),
         "bad_frame"),
        ("remove a non-member", lambda: _resign(scene, "remove member", "change", user=user["fr_supervisor"]),
         "not_found"),
        ("remove myself", lambda: _resign(scene, "remove member", "change", user=user["fr"]), "bad_frame"),
        ("leave for someone", lambda: _resign(scene, "remove member", "change", action="leave"), "bad_frame"),
        ("change for another thread", lambda: {**_resign(scene, "add member", "change", thread=scene.other_thread),
                                               "thread": scene.other_thread}, "not_found"),
        ("receipt past the head", st.integers(min_value=head + 1, max_value=MAX_SAFE).map(
            lambda s: _resign(scene, "acknowledge", "receipt", seq=s)), "bad_frame"),
        ("receipt with another hash", lambda: _resign(scene, "acknowledge", "receipt", hash=other_seq_hash),
         "bad_frame"),
        ("receipt of another device", lambda: _resign(scene, "acknowledge", "receipt", device=world.de.device.id),
         "bad_frame"),
    ]  # fmt: skip
    return st.one_of(
        *[
            (build if isinstance(build, st.SearchStrategy) else st.builds(build)).map(
                lambda frame, name=name, code=code: (name, frame, code)
            )
            for name, build, code in cases
        ]
    )


# --- the tests ------------------------------------------------------------------------


def test_fuzz__random_json_and_non_json_frames_each_get_one_error(scene: Scene) -> None:
    """Any text or binary frame: one ``bad_frame``-like error, no crash, nothing stored."""

    @hypothesis.settings(FUZZ, max_examples=60)
    @given(frames=st.lists(raw_frames(scene), min_size=1, max_size=4))
    def run(frames: list[tuple[str | None, bytes | None]]) -> None:
        throw_all(scene, frames)

    run()
    still_usable(scene)


def test_fuzz__random_frames_of_every_type_each_get_one_error(scene: Scene) -> None:
    """Frames of each type with random, missing or extra fields: one error each, nothing stored."""

    @hypothesis.settings(FUZZ, max_examples=70)
    @given(frames=st.lists(typed_frames(scene), min_size=1, max_size=4))
    def run(frames: list[dict[str, Any]]) -> None:
        throw_all(scene, [(json.dumps(f), None) for f in frames])

    run()
    still_usable(scene)


def test_fuzz__mutated_valid_frames_each_get_one_error(scene: Scene) -> None:
    """Envelopes, key packages, membership changes and receipts with flipped base64, dropped or
    added keys, changed types, huge integers, nested junk or wrong thread ids: refused, nothing stored."""

    @hypothesis.settings(FUZZ, max_examples=100)
    @given(frames=st.lists(mutated_frames(scene), min_size=1, max_size=3))
    def run(frames: list[dict[str, Any]]) -> None:
        throw_all(scene, [(json.dumps(f), None) for f in frames])

    run()
    still_usable(scene)


def test_fuzz__correctly_signed_but_invalid_frames_get_the_right_error(scene: Scene) -> None:
    """Past the signature check, wrong epochs, threads, members and receipts get their own codes."""

    @hypothesis.settings(FUZZ, max_examples=50)
    @given(case=resigned_frames(scene))
    def run(case: tuple[str, dict[str, Any], str]) -> None:
        name, frame, code = case
        before = snapshot()
        throw(scene, json.dumps(frame), code=code)
        assert snapshot() == before, name

    run()
    still_usable(scene)


def test_fuzz__the_unmutated_frames_are_accepted(scene: Scene) -> None:
    """Control: the frames the fuzzers mutate are valid, so their mutations probe the deep checks."""
    entries = Entry.objects.count()
    order = ["send text", "send assurance", "send document", "send clarification", "acknowledge", "keys"]
    order += ["add member", "remove member"]
    for name in order:
        replies = scene.socket.exchange(json.dumps(scene.bases[name]))
        assert [r["type"] for r in replies] == ["ack"], (name, replies)
    assert Entry.objects.count() == entries + len(order)
    assert Thread.objects.get(pk=scene.thread).epoch == 4


def _unhashable(scene: Scene, where: str, value: Any) -> dict[str, Any]:
    if where == "type":
        return {**scene.bases["send text"], "type": value}
    base, field_ = where.split(".")
    frame = copy.deepcopy(scene.bases[base])
    target = frame["envelope"]["header"]
    (target if field_ == "kind" else target["meta"])[field_] = value
    return frame


UNHASHABLE = {
    "frame type a list": ("type", []),
    "frame type an object": ("type", {"send": 1}),
    "header kind a list": ("send text.kind", ["text"]),
    "assurance type a list": ("send assurance.type", []),
    "assurance status an object": ("send assurance.status", {}),
    "document type a list": ("send document.doc_type", ["warrant"]),
}


@pytest.mark.parametrize(("where", "value"), UNHASHABLE.values(), ids=UNHASHABLE.keys())
def test_fuzz_findings__a_list_or_object_where_a_name_belongs_is_a_bad_frame(
    scene: Scene, where: str, value: Any
) -> None:
    """Found by the fuzzers: an unhashable value in a field checked against a set of names."""
    frame = _unhashable(scene, where, value)
    before = snapshot()
    throw(scene, json.dumps(frame), code="bad_frame")
    assert snapshot() == before
    still_usable(scene)


def _frame_of(size: int, char: str = "x") -> str:
    """A ping with padding whose UTF-8 encoding is exactly ``size`` bytes."""
    shell = json.dumps({"type": "ping", "pad": ""})
    room = size - len(shell.encode())
    width = len(char.encode())
    text = shell[:-2] + char * (room // width) + "x" * (room % width) + shell[-2:]
    assert len(text.encode()) == size
    return text


def test_too_large__frames_over_256_kib_are_refused_and_the_socket_stays_usable(scene: Scene) -> None:
    """Over 256 KiB (counted in UTF-8 bytes): ``too_large`` with no ref; at the limit it is parsed."""
    at_limit = scene.socket.exchange(_frame_of(LIMIT))
    assert [(r["type"], r["code"]) for r in at_limit] == [("error", "bad_frame")]  # read, and refused: "pad"

    @hypothesis.settings(FUZZ, max_examples=20)
    @given(over=st.integers(min_value=1, max_value=64 * 1024), char=st.sampled_from(["x", "é", "€", "𝄞"]))
    def run(over: int, char: str) -> None:
        before = snapshot()
        replies = scene.socket.exchange(_frame_of(LIMIT + over, char))
        assert [(r["type"], r["code"], r["ref"]) for r in replies] == [("error", "too_large", None)]
        assert snapshot() == before

    run()
    envelope = copy.deepcopy(scene.bases["send text"]["envelope"])
    envelope["ct"] = b64u(b"c" * LIMIT)  # a would-be valid message, but too big a frame
    too_big = scene.socket.exchange(json.dumps({"type": "send", "thread": scene.thread, "envelope": envelope}))
    assert [(r["code"], r["ref"]) for r in too_big] == [("too_large", None)]
    wide = "é" * (LIMIT // 2 + 1)  # fewer characters than the limit, more bytes
    assert len(wide) < LIMIT < len(wide.encode())
    assert scene.socket.exchange(json.dumps({"type": "ping", "pad": wide}, ensure_ascii=False))[0]["code"] == (
        "too_large"
    )
    still_usable(scene)
