"""The WebSocket endpoint, in process (DESIGN §7): frames, errors, delivery order."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from consult.asgi import application
from consult.client import make_payload, seal_envelope
from consult.models import Entry, Thread
from tests.helpers import verified_client
from tests.realtime import Peer, World, make_world, open_thread

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


async def connect(peer: Peer, device_index: int = 0, client: Client | None = None) -> WebsocketCommunicator:
    """A socket of ``peer``'s, on a session of its own or on ``client``'s."""

    def cookie() -> bytes:
        return f"sessionid={(client or verified_client(peer.user)).cookies['sessionid'].value}".encode()

    headers = [ORIGIN, HOST, (b"cookie", await database_sync_to_async(cookie)())]
    ws = WebsocketCommunicator(application, f"/ws/?device={peer.devices[device_index].id}", headers=headers)
    connected, _ = await ws.connect()
    assert connected
    hello = await ws.receive_json_from()
    assert hello == {"type": "hello", "user": str(peer.user.pk), "device": peer.devices[device_index].id}
    return ws


async def until(ws: WebsocketCommunicator, kind: str, timeout: float = 3, **match: Any) -> dict[str, Any]:
    """The next frame of ``kind`` whose fields equal ``match``, skipping others."""
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


@pytest.fixture
async def world() -> AsyncIterator[World]:
    yield await database_sync_to_async(make_world)()


async def opened(world: World) -> tuple[str, bytes]:
    return await database_sync_to_async(open_thread)(world.fr, world.case)


def envelope(peer: Peer, thread_id: str, key: bytes, text: str = "hello", **kw: Any) -> dict[str, Any]:
    epoch = Thread.objects.get(pk=thread_id).epoch
    return seal_envelope(peer.device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload(text), **kw)


async def test_socket__refused_without_a_certified_device(world: World) -> None:
    def cookie() -> bytes:
        return f"sessionid={verified_client(world.fr.user).cookies['sessionid'].value}".encode()

    for query in ("", "?device=AAAAAAAAAAAAAAAAAAAAAA", f"?device={world.de.device.id}"):
        ws = WebsocketCommunicator(
            application, f"/ws/{query}", headers=[ORIGIN, HOST, (b"cookie", await database_sync_to_async(cookie)())]
        )
        connected, _ = await ws.connect()
        assert not connected, query
        await ws.disconnect()


async def test_socket__wrong_origin_refused(world: World) -> None:
    def cookie() -> bytes:
        return f"sessionid={verified_client(world.fr.user).cookies['sessionid'].value}".encode()

    headers = [(b"origin", b"https://evil.example"), (b"cookie", await database_sync_to_async(cookie)())]
    ws = WebsocketCommunicator(application, f"/ws/?device={world.fr.device.id}", headers=headers)
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "trusted", "opens"),
    [
        (b"http://127.0.0.1:8000", b"127.0.0.1:8000", [], True),  # the page's own origin
        (b"http://127.0.0.1:8443", b"127.0.0.1:8000", [], False),  # another port: another site's page
        (b"https://127.0.0.1:8000", b"127.0.0.1:8000", [], False),  # another scheme
        (b"http://localhost:8000", b"127.0.0.1:8000", [], False),  # another allowed host's page
        (b"https://127.0.0.1", b"127.0.0.1", ["https://127.0.0.1"], True),  # TLS ended by the proxy: trusted
        (b"http://127.0.0.1:8000", b"evil.example", [], False),  # a host that is not ours
    ],
)
async def test_socket__only_the_sites_own_pages_may_open_one(
    world: World, settings: Any, origin: bytes, host: bytes, trusted: list[str], opens: bool
) -> None:
    """Origin is the socket's own scheme, host and port, or a CSRF-trusted origin, as for forms (DESIGN §7)."""
    settings.CSRF_TRUSTED_ORIGINS = trusted

    def cookie() -> bytes:
        return f"sessionid={verified_client(world.fr.user).cookies['sessionid'].value}".encode()

    headers = [(b"origin", origin), (b"host", host), (b"cookie", await database_sync_to_async(cookie)())]
    ws = WebsocketCommunicator(application, f"/ws/?device={world.fr.device.id}", headers=headers)
    connected, _ = await ws.connect()
    assert connected is opens
    await ws.disconnect()


async def test_sub__catch_up_then_synced_then_live(world: World) -> None:
    thread_id, key = await opened(world)
    ws = await connect(world.fr)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    first, second = await ws.receive_json_from(), await ws.receive_json_from()
    assert (first["seq"], first["entry"]["kind"]) == (1, "create")
    assert (second["seq"], second["entry"]["kind"]) == (2, "keys")
    assert await ws.receive_json_from() == {"type": "synced", "thread": thread_id, "head": 2}
    sent = await database_sync_to_async(envelope)(world.fr, thread_id, key)
    await ws.send_json_to({"type": "send", "thread": thread_id, "envelope": sent})
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < 2:
        frame = await ws.receive_json_from()
        if frame["type"] in ("ack", "entry"):
            seen[frame["type"]] = frame
    ack, live = seen["ack"], seen["entry"]
    assert ack["client_id"] == sent["header"]["client_id"] and ack["seq"] == 3
    assert live["seq"] == 3 and live["entry"]["body"] == sent and live["hash"] == ack["hash"]
    await ws.disconnect()


async def test_send__replayed_client_id_gets_the_first_ack(world: World) -> None:
    thread_id, key = await opened(world)
    ws = await connect(world.fr)
    sent = await database_sync_to_async(envelope)(world.fr, thread_id, key)
    acks = []
    for _ in range(3):
        await ws.send_json_to({"type": "send", "thread": thread_id, "envelope": sent})
        acks.append(await until(ws, "ack"))
    assert acks[0] == acks[1] == acks[2]
    assert await database_sync_to_async(Entry.objects.filter(kind="message").count)() == 1
    await ws.disconnect()


async def test_sub__third_authority_gets_not_found_like_a_missing_thread(world: World) -> None:
    thread_id, _ = await opened(world)
    ws = await connect(world.outsider)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    existing = await ws.receive_json_from()
    await ws.send_json_to({"type": "sub", "thread": str(uuid.uuid4()), "after": 0})
    missing = await ws.receive_json_from()
    assert existing == missing == {"type": "error", "code": "not_found", "detail": "Not found.", "ref": "sub"}
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


BAD_FRAMES = [
    ("not json", "{nope", "bad_frame"),
    ("float", '{"type":"ping","x":1.5}', "bad_frame"),
    ("duplicate key", '{"type":"ping","type":"ping"}', "bad_frame"),
    ("unknown type", '{"type":"shout"}', "bad_frame"),
    ("unknown field", '{"type":"ping","extra":1}', "bad_frame"),
    ("array", "[1,2]", "bad_frame"),
    ("bad thread id", '{"type":"sub","thread":"x","after":0}', "bad_frame"),
    ("negative after", '{"type":"sub","thread":"6f1c7d9e-0000-4000-8000-000000000001","after":-1}', "bad_frame"),
]


@pytest.mark.parametrize(("name", "text", "code"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
async def test_bad_frames__error_and_the_socket_stays_usable(world: World, name: str, text: str, code: str) -> None:
    ws = await connect(world.fr)
    await ws.send_to(text_data=text)
    error = await ws.receive_json_from()
    assert error["type"] == "error" and error["code"] == code, error
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


async def test_sub__twice_or_past_the_head_is_a_bad_frame_and_the_socket_goes_on(world: World) -> None:
    thread_id, _ = await opened(world)  # head 2: the creation and the first key package
    ws = await connect(world.fr)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 3})
    past = await until(ws, "error")
    assert (past["code"], past["ref"]) == ("bad_frame", "sub") and "head (2)" in past["detail"]
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 2})
    assert (await until(ws, "synced"))["head"] == 2
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    again = await until(ws, "error")
    assert (again["code"], again["ref"]) == ("bad_frame", "sub")
    await ws.send_json_to({"type": "ping"})
    assert (await until(ws, "pong")) == {"type": "pong"}  # and no entry was sent twice meanwhile
    await ws.disconnect()


async def test_read__past_the_head_is_a_bad_frame_and_not_told_to_anyone(world: World) -> None:
    thread_id, _ = await opened(world)
    ws = await connect(world.fr)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    await until(ws, "synced")
    await ws.send_json_to({"type": "read", "thread": thread_id, "seq": 1_000_000})
    error = await until(ws, "error")
    assert (error["code"], error["ref"]) == ("bad_frame", "read")
    await ws.send_json_to({"type": "read", "thread": thread_id, "seq": 2})
    assert (await until(ws, "read"))["seq"] == 2
    await ws.disconnect()


async def test_too_large__refused_and_socket_usable(world: World) -> None:
    ws = await connect(world.fr)
    await ws.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * (256 * 1024)}))
    assert (await ws.receive_json_from())["code"] == "too_large"
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


async def test_send__errors_carry_the_client_id_and_store_nothing(world: World) -> None:
    thread_id, key = await opened(world)
    ws = await connect(world.fr)
    good = await database_sync_to_async(envelope)(world.fr, thread_id, key)
    cases = {
        "bad_signature": {**good, "sig": good["sig"][:-4] + ("AAAA" if not good["sig"].endswith("AAAA") else "BBBB")},
        "bad_frame": {**good, "iv": "!!notbase64"},
        "stale_epoch": await database_sync_to_async(envelope)(world.fr, thread_id, key),
    }
    await database_sync_to_async(Thread.objects.filter(pk=thread_id).update)(min_epoch=2)
    for code, bad in cases.items():
        await ws.send_json_to({"type": "send", "thread": thread_id, "envelope": bad})
        error = await ws.receive_json_from()
        assert (error["code"], error["ref"]) == (code, bad["header"]["client_id"]), error
    assert await database_sync_to_async(Entry.objects.filter(kind="message").count)() == 0
    await ws.disconnect()


async def test_rate_limit__rate_limited_with_retry_then_abuse_closes(world: World, settings: Any) -> None:
    settings.COMITY_RATE_PER_SECOND, settings.COMITY_RATE_BURST = 1.0, 5
    settings.COMITY_ABUSE_REFUSALS = 10
    ws = await connect(world.fr)
    for _ in range(5):
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from())["type"] == "pong"
    await ws.send_json_to({"type": "ping"})
    limited = await ws.receive_json_from()
    assert limited["code"] == "rate_limited" and limited["retry_after"] > 0
    for _ in range(12):  # ignoring retry_after
        await ws.send_json_to({"type": "ping"})
    closed = False
    for _ in range(20):
        output = await ws.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            closed = output.get("code") == 4429
            break
    assert closed
    await ws.disconnect()


async def test_rate_limit__names_the_refused_frame_and_counts_oversized_ones(world: World, settings: Any) -> None:
    """DESIGN §7: ``ref`` is the refused frame's client_id (else its type); too-large frames are frames too."""
    settings.COMITY_RATE_PER_SECOND, settings.COMITY_RATE_BURST = 0.5, 3
    settings.COMITY_MAX_FRAME_BYTES = 1024
    thread_id, key = await opened(world)
    ws = await connect(world.fr)
    for _ in range(3):
        await ws.send_to(text_data="x" * 2048)
        assert (await ws.receive_json_from())["code"] == "too_large"
    sealed = await database_sync_to_async(envelope)(world.fr, thread_id, key)
    await ws.send_json_to({"type": "send", "thread": thread_id, "envelope": sealed})
    limited = await ws.receive_json_from()
    assert limited["code"] == "rate_limited" and limited["ref"] == sealed["header"]["client_id"]
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from())["ref"] == "ping"
    await ws.disconnect()


async def test_rate_limit__client_that_waits_as_told_is_never_closed(world: World, settings: Any) -> None:
    settings.COMITY_RATE_PER_SECOND, settings.COMITY_RATE_BURST = 20.0, 2
    settings.COMITY_ABUSE_REFUSALS = 3
    ws = await connect(world.fr)
    pongs = refusals = 0
    while pongs < 30:
        await ws.send_json_to({"type": "ping"})
        frame = await ws.receive_json_from()
        if frame["type"] == "pong":
            pongs += 1
        else:
            assert frame["code"] == "rate_limited"
            refusals += 1
            await asyncio.sleep(frame["retry_after"])
    assert refusals >= 3  # refused often, yet still connected
    await ws.send_json_to({"type": "ping"})
    assert (await ws.receive_json_from())["type"] in ("pong", "error")
    await ws.disconnect()


async def test_typing_read_presence__reach_other_members(world: World) -> None:
    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change
    from tests.realtime import rotate

    thread_id, _ = await opened(world)

    def add_de() -> None:
        change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
        check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
        rotate(world.fr, thread_id)

    await database_sync_to_async(add_de)()
    fr, de = await connect(world.fr), await connect(world.de)
    for ws in (fr, de):
        await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
        await until(ws, "synced")
    de_id = str(world.de.user.pk)
    presence = await until(fr, "presence", user=de_id)
    assert presence["online"] is True
    await de.send_json_to({"type": "typing", "thread": thread_id})
    assert (await until(fr, "typing"))["user"] == de_id
    await de.send_json_to({"type": "read", "thread": thread_id, "seq": 4})
    read = await until(fr, "read")
    assert (read["user"], read["seq"]) == (str(world.de.user.pk), 4)
    await de.disconnect()
    gone = await until(fr, "presence", user=de_id, online=False)
    assert gone["thread"] == thread_id
    await fr.disconnect()


async def test_revocation__closes_the_liaison_socket_within_five_seconds(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from consult.actions.threads import check_membership_change, check_revoke_membership
    from consult.client import build_membership_change

    thread_id, _ = await opened(world)

    def invite() -> None:
        expires = (timezone.now() + timedelta(days=2)).isoformat()
        change = build_membership_change(
            world.fr.device, thread=thread_id, action="add", user=str(world.liaison.user.pk), expires=expires
        )
        check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)

    await database_sync_to_async(invite)()
    ws = await connect(world.liaison)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    await until(ws, "synced")
    started = asyncio.get_running_loop().time()
    await database_sync_to_async(check_revoke_membership)(world.fr.user, thread_id, str(world.liaison.user.pk))
    while True:
        output = await ws.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4403
    assert asyncio.get_running_loop().time() - started < 5
    await ws.disconnect()


async def test_expiry__sweep_closes_the_liaison_socket_within_five_seconds(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change

    thread_id, _ = await opened(world)

    def invite() -> None:
        expires = (timezone.now() + timedelta(seconds=2)).isoformat()
        change = build_membership_change(
            world.fr.device, thread=thread_id, action="add", user=str(world.liaison.user.pk), expires=expires
        )
        check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)

    await database_sync_to_async(invite)()
    ws = await connect(world.liaison)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    await until(ws, "synced")
    started = asyncio.get_running_loop().time()
    while True:
        output = await ws.receive_output(timeout=7)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4403
    assert asyncio.get_running_loop().time() - started < 2 + 5
    kinds = await database_sync_to_async(
        lambda: list(Entry.objects.filter(thread_id=thread_id).order_by("seq").values_list("kind", flat=True))
    )()
    assert kinds[-1] == "expiry"
    await ws.disconnect()


async def test_acks__of_keys_members_and_receipts_carry_the_entry_hash(world: World) -> None:
    """DESIGN §7: every ack is {client_id, seq, hash}; a client can chain on from it."""
    from consult.client import build_acknowledgement, build_membership_change
    from consult.lib.crypto import b64u

    thread_id, _ = await opened(world)
    ws = await connect(world.fr)
    change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
    await ws.send_json_to({"type": "member", "thread": thread_id, "change": change})
    member = await until(ws, "ack")
    head = await database_sync_to_async(lambda: Entry.objects.get(thread_id=thread_id, seq=member["seq"]))()
    assert member["hash"] == b64u(bytes(head.hash))
    receipt = build_acknowledgement(world.fr.device, thread=thread_id, seq=head.seq, hash_=bytes(head.hash))
    await ws.send_json_to({"type": "acknowledge", "thread": thread_id, "receipt": receipt})
    acknowledged = await until(ws, "ack")
    stored = await database_sync_to_async(lambda: Entry.objects.get(thread_id=thread_id, seq=acknowledged["seq"]))()
    assert stored.kind == "receipt" and acknowledged["hash"] == b64u(bytes(stored.hash))
    await ws.disconnect()


# --- the session ----------------------------------------------------------------------


async def closed_with(ws: WebsocketCommunicator, timeout: float = 5) -> int:
    """The close code the socket gets next, skipping any frames before it."""
    while True:
        output = await ws.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def test_sign_out__closes_that_sessions_sockets_and_no_other(world: World) -> None:
    browser = await database_sync_to_async(verified_client)(world.fr.user)
    signed_out, other_session = await connect(world.fr, client=browser), await connect(world.fr)
    await database_sync_to_async(browser.post)("/logout/")
    assert await closed_with(signed_out) == 4401
    await other_session.send_json_to({"type": "ping"})
    assert await until(other_session, "pong") == {"type": "pong"}
    await other_session.disconnect()


async def test_device_revocation__signs_out_the_session_whose_socket_used_it(world: World) -> None:
    from consult.actions.devices import check_revoke_device

    laptop = await database_sync_to_async(verified_client)(world.fr.user)
    socket = await connect(world.fr, client=laptop)
    await database_sync_to_async(check_revoke_device)(world.fr.user, world.fr.device.id)
    assert await closed_with(socket) == 4401  # signed out: the browser does not reconnect
    assert (await database_sync_to_async(laptop.get)("/api/v1/me")).status_code == 401


async def test_deactivation__closes_every_socket_of_the_account(world: World) -> None:
    from types import SimpleNamespace

    from django.contrib.admin.sites import site

    from consult.admin import UserAdmin
    from consult.models import User

    sockets = [await connect(world.fr), await connect(world.fr)]
    colleague = await connect(world.de)

    def deactivate() -> None:
        world.fr.user.is_active = False
        form = SimpleNamespace(changed_data=["is_active"])
        UserAdmin(User, site).save_model(None, world.fr.user, form, change=True)  # type: ignore[arg-type]

    await database_sync_to_async(deactivate)()
    for ws in sockets:
        assert await closed_with(ws) == 4401
    await colleague.send_json_to({"type": "ping"})
    assert await until(colleague, "pong") == {"type": "pong"}
    await colleague.disconnect()


async def test_credentials_reset__closes_every_socket_of_the_account(world: World) -> None:
    """An enrolment link resets the password and second factor: sockets of the old sessions end with them."""
    from consult.actions.accounts import do_issue_enrolment_link, do_redeem_enrolment

    sockets = [await connect(world.fr), await connect(world.fr)]
    colleague = await connect(world.de)
    token = await database_sync_to_async(do_issue_enrolment_link)(world.fr.user)
    await database_sync_to_async(do_redeem_enrolment)(token, "a brand new passphrase for the reset")
    for ws in sockets:
        assert await closed_with(ws) == 4401
    await colleague.send_json_to({"type": "ping"})
    assert await until(colleague, "pong") == {"type": "pong"}
    await colleague.disconnect()


async def test_role_change__closes_the_sockets_so_they_reopen_with_the_new_role(world: World) -> None:
    from types import SimpleNamespace

    from django.contrib.admin.sites import site

    from consult.admin import UserAdmin
    from consult.models import User

    ws = await connect(world.fr)

    def make_liaison() -> None:
        world.fr.user.role = User.Role.LIAISON
        UserAdmin(User, site).save_model(None, world.fr.user, SimpleNamespace(changed_data=["role"]), change=True)  # type: ignore[arg-type]

    await database_sync_to_async(make_liaison)()
    assert await closed_with(ws) == 4403  # not signed out: the browser reconnects, as the liaison it now is


@pytest.mark.parametrize("lapse", ["password", "second factor", "role", "device", "membership"])
async def test_socket__looks_again_even_when_no_close_event_comes(world: World, settings: Any, lapse: str) -> None:
    """The database is the truth: a socket whose session, account, device or membership lapsed closes by itself."""
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from consult.models import Device, Membership, User

    settings.COMITY_SOCKET_RECHECK_SECONDS = 0.5
    thread_id, _ = await opened(world)
    ws = await connect(world.fr)
    await ws.send_json_to({"type": "sub", "thread": thread_id, "after": 0})
    await until(ws, "synced")

    def lapse_without_events() -> None:  # straight in the database: no close event is sent
        user = world.fr.user
        if lapse == "password":
            user.set_password("changed behind the socket's back")
            User.objects.filter(pk=user.pk).update(password=user.password)
        elif lapse == "second factor":
            TOTPDevice.objects.filter(user=user).delete()
        elif lapse == "role":
            User.objects.filter(pk=user.pk).update(role=User.Role.LIAISON)
        elif lapse == "device":
            Device.objects.filter(pk=world.fr.device.id).update(revoked_at=timezone.now())
        else:
            Membership.objects.filter(thread_id=thread_id, user=user).update(ended_at=timezone.now())

    await database_sync_to_async(lapse_without_events)()
    signed_out = lapse in ("password", "second factor", "device")  # as when revoked through the API
    assert await closed_with(ws, timeout=3) == (4401 if signed_out else 4403)


async def test_session_expiry__closes_the_socket_when_it_comes(world: World) -> None:
    def expiring_soon() -> Client:
        browser = verified_client(world.fr.user)
        session = browser.session
        session.set_expiry(2)
        session.save()
        return browser

    ws = await connect(world.fr, client=await database_sync_to_async(expiring_soon)())
    started = asyncio.get_running_loop().time()
    assert await closed_with(ws, timeout=6) == 4401
    assert 1.5 < asyncio.get_running_loop().time() - started < 5
