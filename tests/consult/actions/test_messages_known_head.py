"""A socket's send on a known head: one statement on the worker's own connection (consult.lib.async_db).

Each test counts the sends that took the locked path in the database pool;
the rest went in with the one statement.
"""

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from cases.actions.assurances import check_set_thread_handling
from cases.models import Item
from consult.actions import messages
from consult.actions.messages import Ack, send_message
from consult.actions.threads import check_membership_change, locked_thread
from consult.client import build_membership_change, make_payload, seal_envelope
from consult.conf import comity_settings
from consult.exceptions import NotFound, StaleEpoch
from consult.lib import async_db, heads
from consult.lib.entries import entry_frame, load_frames
from consult.lib.events import notify_entry
from consult.lib.hub import Hub
from consult.models import Device, Entry, Membership, Thread
from tests.consult.actions.sending import append_elsewhere, sealed, verify_chain
from tests.realtime import Peer, World, make_world, open_thread, rotate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def locked_sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads of the sends that went through the locked path, in order."""
    taken: list[str] = []
    locked = messages._append_locked

    def counted(*args: Any) -> Ack:
        taken.append(args[2])
        return locked(*args)

    monkeypatch.setattr(messages, "_append_locked", counted)
    return taken


async def send(peer: Peer, thread_id: str, envelope: dict[str, Any]) -> Ack:
    device = await sync_to_async(peer.server_device)()
    return await send_message(peer.user, device, thread_id, envelope)


async def send_text(peer: Peer, thread_id: str, key: bytes) -> Ack:
    """A freshly sealed text message, sent as a socket sends it."""
    return await send(peer, thread_id, sealed(peer, thread_id, key))


async def opened(world: World) -> tuple[str, bytes]:
    return await sync_to_async(open_thread)(world.fr, world.case)


async def test_socket_send__on_a_known_head_is_one_statement_outside_the_pool(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    first = await send_text(world.fr, thread_id, key)  # learns the head under the lock
    second = await send_text(world.fr, thread_id, key)
    assert locked_sends == [thread_id] and second.seq == first.seq + 1

    def stored() -> None:
        entries = list(Entry.objects.filter(thread_id=thread_id, seq__gte=first.seq).order_by("seq"))
        assert [e.seq for e in entries] == [first.seq, second.seq]
        thread = Thread.objects.get(pk=thread_id)
        assert (thread.head_seq, bytes(thread.head_hash)) == (entries[-1].seq, bytes(entries[-1].hash))
        verify_chain(thread_id)

    await sync_to_async(stored)()


async def test_socket_send__after_a_catch_up_the_first_message_is_one_statement(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    frames = await sync_to_async(load_frames)(thread_id, 0, 500)  # a subscriber catching up reads the head
    ack = await send_text(world.fr, thread_id, key)
    assert locked_sends == [] and ack.seq == frames[-1][0] + 1
    await sync_to_async(verify_chain)(thread_id)


async def test_socket_send__a_retry_on_a_known_head_gets_the_first_ack_and_stores_nothing(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)
    envelope = sealed(world.fr, thread_id, key)
    first = await send(world.fr, thread_id, envelope)
    before = await Entry.objects.acount()
    assert await send(world.fr, thread_id, envelope) == first  # the statement matches nothing; the lock finds it
    assert await Entry.objects.acount() == before and len(locked_sends) == 2


async def test_socket_send__a_head_moved_elsewhere_is_read_again_not_locked(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)
    elsewhere = await sync_to_async(append_elsewhere)(thread_id)
    ack = await send_text(world.fr, thread_id, key)  # misses on the old head, reads the new one, goes in
    assert ack.seq == elsewhere.seq + 1 and len(locked_sends) == 1
    await sync_to_async(verify_chain)(thread_id)


async def test_socket_send__a_head_that_keeps_moving_ends_in_the_lock(
    world: World, locked_sends: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id, key = await opened(world)
    first = await send_text(world.fr, thread_id, key)
    append_on_head = messages._append_on_head

    async def overtaken(*args: Any) -> Ack | None:  # another worker appends just before every attempt
        await sync_to_async(append_elsewhere)(thread_id)
        return await append_on_head(*args)

    monkeypatch.setattr(messages, "_append_on_head", overtaken)
    ack = await send_text(world.fr, thread_id, key)
    assert len(locked_sends) == 2 and ack.seq == first.seq + messages.HEAD_ATTEMPTS + 1  # after every overtaker
    await sync_to_async(verify_chain)(thread_id)


async def test_socket_send__sends_of_one_thread_take_turns_on_the_head(world: World, locked_sends: list[str]) -> None:
    thread_id, key = await opened(world)
    first = await send_text(world.fr, thread_id, key)  # learns the head under the lock
    acks = await asyncio.gather(*(send_text(world.fr, thread_id, key) for _ in range(5)))
    assert len(locked_sends) == 1 and sorted(a.seq for a in acks) == list(range(first.seq + 1, first.seq + 6))
    await sync_to_async(verify_chain)(thread_id)


async def test_socket_send__after_another_workers_entry_announced_by_the_hub_is_one_statement(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)
    elsewhere = await sync_to_async(append_elsewhere)(thread_id)
    Hub()._dispatch(notify_entry(thread_id, elsewhere.seq, bytes(elsewhere.hash), entry_frame(elsewhere)))
    ack = await send_text(world.fr, thread_id, key)
    assert ack.seq == elsewhere.seq + 1 and len(locked_sends) == 1
    await sync_to_async(verify_chain)(thread_id)


@pytest.mark.parametrize("change", ["left", "device_revoked", "epoch_closed", "epoch_full"])
async def test_socket_send__on_a_known_head_makes_every_check_of_the_locked_path(world: World, change: str) -> None:
    # Changes made behind the head's back (no entry appended): the one
    # statement must still refuse, and the locked path gives the error.
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)

    def change_behind_the_heads_back() -> None:
        thread = Thread.objects.filter(pk=thread_id)
        if change == "left":
            thread.get().memberships.update(ended_at=timezone.now())
        elif change == "device_revoked":  # its close event not yet delivered
            Device.objects.filter(user=world.fr.user).update(revoked_at=timezone.now())
        elif change == "epoch_closed":
            thread.update(min_epoch=2)
        else:
            thread.update(epoch_messages=comity_settings.COMITY_EPOCH_MAX_MESSAGES)

    await sync_to_async(change_behind_the_heads_back)()
    before = await Entry.objects.acount()
    with pytest.raises(NotFound if change in ("left", "device_revoked") else StaleEpoch):
        await send_text(world.fr, thread_id, key)
    assert await Entry.objects.acount() == before


async def test_socket_send__a_newcomer_on_a_known_head_waits_for_the_epoch_that_admits_them(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)

    def invite() -> Entry:
        change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
        return check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)

    added = await sync_to_async(invite)()
    heads.remember(thread_id, added.seq, bytes(added.hash))  # as the hub hears of it: the statement's head is right
    before = await Entry.objects.acount()
    with pytest.raises(StaleEpoch):
        await send_text(world.de, thread_id, key)
    assert await Entry.objects.acount() == before
    assert locked_sends == [thread_id, thread_id]  # the one statement refused it, and the locked path said why


async def test_socket_send__an_invitation_due_ends_before_the_message_on_a_known_head(
    world: World, locked_sends: list[str]
) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)

    def invitation_run_out() -> None:  # no sweep has ended it yet
        Membership.objects.create(
            thread_id=thread_id, user=world.liaison.user, joined_seq=1, expires_at=timezone.now() - timedelta(seconds=1)
        )

    await sync_to_async(invitation_run_out)()
    with pytest.raises(StaleEpoch):
        await send_text(world.fr, thread_id, key)
    kinds = [e.kind async for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
    assert kinds[-2:] == ["message", "expiry"] and len(locked_sends) == 2


@pytest.mark.parametrize("who", ["officer", "liaison"])
@pytest.mark.parametrize("handling", [None, "no_onward_transmission"])
async def test_socket_send__the_one_statement_records_the_item_the_locked_path_records(
    world: World, locked_sends: list[str], who: str, handling: str | None
) -> None:
    def prepare() -> tuple[str, Peer, bytes, int]:
        thread_id, key = open_thread(world.fr, world.case)
        peer, epoch = world.fr, 1
        if who == "liaison":
            invite = build_membership_change(
                world.fr.device, thread=thread_id, action="add", user=str(world.liaison.user.pk),
                expires=(timezone.now() + timedelta(hours=1)).isoformat(),
            )  # fmt: skip
            check_membership_change(world.fr.user, world.fr.server_device(), thread_id, invite)
            peer, key, epoch = world.liaison, rotate(world.fr, thread_id), 2
        check_set_thread_handling(world.fr.user, Thread.objects.get(pk=thread_id), "information_only")
        return thread_id, peer, key, epoch

    thread_id, peer, key, epoch = await sync_to_async(prepare)()
    meta = {"handling": handling} if handling else {}

    async def item() -> Item:
        envelope = seal_envelope(
            peer.device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload("x"), meta=meta
        )
        seq = (await send(peer, thread_id, envelope)).seq
        return await Item.objects.select_related("entry").aget(thread_id=thread_id, seq=seq)

    locked, fast = await item(), await item()
    assert locked_sends == [thread_id]
    fields = ["case_id", "kind", "sender_id", "sender_authority_id", "side", "handling", "handling_inherited", "month"]
    assert [getattr(fast, f) for f in fields] == [getattr(locked, f) for f in fields]
    assert (fast.seq, fast.entry.seq, fast.at) == (locked.seq + 1, locked.seq + 1, fast.entry.at)


async def test_socket_send__waits_out_a_long_lock_in_the_pool_not_on_the_shared_connection(
    world: World, locked_sends: list[str]
) -> None:
    # A transaction holds the thread's row lock far longer than the shared
    # connection's lock timeout: the one statement gives up, and the locked
    # path waits for the lock and appends after it.
    thread_id, key = await opened(world)
    first = await send_text(world.fr, thread_id, key)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        try:
            with transaction.atomic():
                locked_thread(thread_id)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    await sync_to_async(holding.wait)(10)
    started = time.monotonic()
    sending = asyncio.ensure_future(send_text(world.fr, thread_id, key))
    await asyncio.sleep(0.5)
    assert not sending.done()  # still waiting, in the pool
    release.set()
    ack = await sending
    holder.join(10)
    assert time.monotonic() - started >= 0.5 and len(locked_sends) == 2 and ack.seq == first.seq + 1
    await sync_to_async(verify_chain)(thread_id)


async def test_socket_send__a_lost_connection_falls_back_then_reconnects(world: World, locked_sends: list[str]) -> None:
    thread_id, key = await opened(world)
    await send_text(world.fr, thread_id, key)
    await send_text(world.fr, thread_id, key)  # opens the worker's connection
    assert len(locked_sends) == 1

    def terminate_the_workers_connection() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE %s AND pid <> pg_backend_pid()",
                ["%WITH head AS%"],
            )
            assert cursor.fetchone() is not None

    await sync_to_async(terminate_the_workers_connection)()
    third = await send_text(world.fr, thread_id, key)  # the statement fails: the lock decides
    fourth = await send_text(world.fr, thread_id, key)  # a new connection, one statement
    assert len(locked_sends) == 2 and fourth.seq == third.seq + 1
    await sync_to_async(verify_chain)(thread_id)
    await async_db.close()
