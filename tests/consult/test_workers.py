"""Several daphne workers on PostgreSQL and Redis, as in production (DESIGN §3, §5).

These start real worker processes and talk to them over real sockets with
the reference client; they need PostgreSQL and Redis.
"""

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async

from consult.actions.threads import check_membership_change
from consult.client import (
    build_key_package,
    build_membership_change,
    make_payload,
    new_epoch_key,
    seal_envelope,
    verify_chain,
)
from consult.client.transport import Connection
from consult.lib.server_key import server_private_key
from consult.models import Entry, Thread
from tests.helpers import verified_client
from tests.realtime import Peer, World, make_world, open_thread, package_recipients, rotate
from tests.servers import daphne_workers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def workers(_services: None) -> Iterator[list[str]]:
    with daphne_workers(2) as urls:
        yield urls


def session_cookie(peer: Peer) -> str:
    return str(verified_client(peer.user).cookies["sessionid"].value)


async def connect(url: str, peer: Peer, device_index: int = 0) -> Connection:
    cookie = await database_sync_to_async(session_cookie)(peer)
    return await Connection.open(url, cookie, peer.devices[device_index].id)


def shared_thread(world: World) -> tuple[str, bytes]:
    """A thread with the French and German officers (all their devices) as members."""
    thread_id, _ = open_thread(world.fr, world.case)
    change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    return thread_id, rotate(world.fr, thread_id)


async def send_until_acked(socket: Connection, thread_id: str, sent: dict[str, Any]) -> dict[str, Any]:
    """Send an envelope, waiting out ``rate_limited`` answers as a client should."""
    while True:
        await socket.send({"type": "send", "thread": thread_id, "envelope": sent})
        while (frame := await socket.recv(timeout=30))["type"] not in ("ack", "error"):
            pass
        if frame["type"] == "ack":
            return frame
        assert frame["code"] == "rate_limited", frame
        await asyncio.sleep(frame["retry_after"])


def envelope(device: Any, thread_id: str, key: bytes, epoch: int, text: str) -> dict[str, Any]:
    return seal_envelope(device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload(text))


async def test_workers__message_on_worker_one_reaches_member_on_worker_two(workers: list[str]) -> None:
    world = await database_sync_to_async(make_world)()
    thread_id, key = await database_sync_to_async(shared_thread)(world)
    fr, de = await connect(workers[0], world.fr), await connect(workers[1], world.de)
    for socket in (fr, de):
        await socket.send({"type": "sub", "thread": thread_id, "after": 0})
        await socket.recv_until("synced")
    sent = envelope(world.fr.device, thread_id, key, 2, "Is the request covered by the treaty?")
    await fr.send({"type": "send", "thread": thread_id, "envelope": sent})
    ack = await fr.recv_until("ack")
    delivered = await de.recv_until("entry", seq=ack["seq"])
    assert delivered["entry"]["body"] == sent and delivered["hash"] == ack["hash"]
    await fr.close(), await de.close()


class Epochs:
    """The writers' shared view of the current epoch.

    When the server answers ``stale_epoch`` (an epoch ends after 1,000
    messages), the first writer to notice has a dedicated French device rotate
    the key, as a browser would; the others wait and resend under the new epoch.
    """

    def __init__(self, thread_id: str, epoch: int, key: bytes, rotator: Connection, peer: Peer, index: int) -> None:
        self.thread_id, self.epoch, self.key = thread_id, epoch, key
        self.rotator, self.peer, self.index = rotator, peer, index
        self.lock = asyncio.Lock()

    async def rotate_after(self, stale: int) -> None:
        async with self.lock:
            if self.epoch != stale:
                return  # another writer already rotated
            key = new_epoch_key()
            package = await database_sync_to_async(build_rotation)(self.peer, self.thread_id, self.index, key)
            await self.rotator.send({"type": "keys", "thread": self.thread_id, "package": package})
            await self.rotator.recv_until("ack", ref="keys", timeout=60)
            self.epoch, self.key = package["epoch"], key


def build_rotation(peer: Peer, thread_id: str, device_index: int, key: bytes) -> dict[str, Any]:
    from consult.lib.crypto import b64u

    thread = Thread.objects.get(pk=thread_id)
    members, recipients = package_recipients(thread)
    prev = b64u(bytes(Entry.objects.get(thread=thread, seq=thread.epoch_seq).hash))
    return build_key_package(
        peer.devices[device_index], thread=thread_id, epoch=thread.epoch + 1, reason="rotate",
        history=thread.history, members=members, recipients=recipients, epoch_key=key, prev=prev,
    )  # fmt: skip


async def test_workers__fifty_writers_two_hundred_each_give_a_gapless_verified_chain(workers: list[str]) -> None:
    """10,000 messages from 50 sockets on two workers: one gapless chain, rotating every 1,000 messages."""
    world = await database_sync_to_async(make_world)()
    for peer, extra in ((world.fr, 25), (world.de, 24)):  # 25 writers each, plus one French rotator
        for _ in range(extra):
            await database_sync_to_async(peer.add_device)()
    thread_id, key = await database_sync_to_async(shared_thread)(world)
    writers = [(peer, i) for peer in (world.fr, world.de) for i in range(25)]
    sockets = [await connect(workers[n % 2], peer, i) for n, (peer, i) in enumerate(writers)]
    epochs = Epochs(thread_id, 2, key, await connect(workers[0], world.fr, 25), world.fr, 25)

    async def write(socket: Connection, peer: Peer, index: int, n: int) -> None:
        for m in range(200):
            while True:
                epoch, key = epochs.epoch, epochs.key
                sent = envelope(peer.devices[index], thread_id, key, epoch, f"writer {n} message {m}")
                await socket.send({"type": "send", "thread": thread_id, "envelope": sent})
                frame = await socket.recv(timeout=60)
                if frame["type"] == "ack":
                    break
                if frame.get("code") == "rate_limited":
                    await asyncio.sleep(frame["retry_after"])
                elif frame.get("code") == "stale_epoch":
                    await epochs.rotate_after(epoch)
                else:
                    raise AssertionError(frame)

    await asyncio.gather(*(write(s, peer, i, n) for n, (s, (peer, i)) in enumerate(zip(sockets, writers, strict=True))))

    def chain() -> tuple[Any, int, int]:
        from consult.lib.entries import entry_item

        items = [entry_item(e) for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
        head = verify_chain(thread_id, items, server_private_key().public_key())
        messages = sum(1 for item in items if item["entry"]["kind"] == "message")
        return head, len(items), messages

    head, count, messages = await database_sync_to_async(chain)()
    assert messages == 10_000
    assert head.seq == count  # gapless from 1
    assert await database_sync_to_async(lambda: Thread.objects.get(pk=thread_id).epoch)() >= 11  # rotated every 1,000
    for socket in [*sockets, epochs.rotator]:
        await socket.close()


async def test_workers__same_client_id_a_hundred_times_concurrently_stores_once(workers: list[str]) -> None:
    world = await database_sync_to_async(make_world)()
    thread_id, key = await database_sync_to_async(shared_thread)(world)
    sockets = [await connect(workers[n % 2], world.fr) for n in range(4)]
    sent = envelope(world.fr.device, thread_id, key, 2, "Assurance on prison conditions")

    async def hammer(socket: Connection) -> list[dict[str, Any]]:
        for _ in range(25):
            await socket.send({"type": "send", "thread": thread_id, "envelope": sent})
        return [await socket.recv_until("ack", timeout=30) for _ in range(25)]

    acks = [ack for batch in await asyncio.gather(*(hammer(s) for s in sockets)) for ack in batch]
    assert len(acks) == 100 and all(ack == acks[0] for ack in acks)
    client_id = uuid.UUID(sent["header"]["client_id"])
    assert await database_sync_to_async(Entry.objects.filter(client_id=client_id).count)() == 1
    for socket in sockets:
        await socket.close()


async def test_workers__offline_reader_catches_up_in_order_while_more_arrive(workers: list[str]) -> None:
    world = await database_sync_to_async(make_world)()
    thread_id, key = await database_sync_to_async(shared_thread)(world)
    reader = await connect(workers[1], world.de)
    await reader.send({"type": "sub", "thread": thread_id, "after": 0})
    last = (await reader.recv_until("synced"))["head"]
    await reader.close()  # offline from here

    writer = await connect(workers[0], world.fr)

    async def write(count: int, label: str) -> None:
        for m in range(count):
            await send_until_acked(writer, thread_id, envelope(world.fr.device, thread_id, key, 2, f"{label} {m}"))

    await write(500, "while offline")
    reader = await connect(workers[1], world.de)
    await reader.send({"type": "sub", "thread": thread_id, "after": last})
    more = asyncio.ensure_future(write(100, "during catch-up"))  # entries land while the reader catches up
    seen: list[int] = []
    while len(seen) < 600:
        try:
            frame = await reader.recv(timeout=30)
        except TimeoutError:
            raise AssertionError(f"after {len(seen)} entries (last {seen[-1:]}), nothing more came") from None
        if frame["type"] == "entry":
            seen.append(frame["seq"])
    await more
    assert seen == list(range(last + 1, last + 601))
    await reader.close(), await writer.close()


async def test_workers__idle_socket_still_receives_after_thirty_seconds(workers: list[str]) -> None:
    """The Redis layer must not drop an idle socket (channels_redis#422 with redis-py 8)."""
    world = await database_sync_to_async(make_world)()
    thread_id, key = await database_sync_to_async(shared_thread)(world)
    idle = await connect(workers[0], world.de)
    await idle.send({"type": "sub", "thread": thread_id, "after": 0})
    await idle.recv_until("synced")
    await asyncio.sleep(30)
    writer = await connect(workers[1], world.fr)
    await writer.send({"type": "send", "thread": thread_id,
                       "envelope": envelope(world.fr.device, thread_id, key, 2, "still there?")})  # fmt: skip
    ack = await writer.recv_until("ack")
    assert (await idle.recv_until("entry", seq=ack["seq"]))["hash"] == ack["hash"]
    await idle.close(), await writer.close()
