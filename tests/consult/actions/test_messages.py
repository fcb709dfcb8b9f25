"""Accepting a message: the round trips of the hot path, and retries racing for the lock (DESIGN §4, §5)."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.actions.assurances import check_set_thread_handling
from cases.models import Item
from consult.actions.messages import Ack, check_send_message
from consult.actions.records import do_append_entry
from consult.actions.threads import check_membership_change, locked_thread
from consult.client import build_membership_change, make_payload, seal_envelope
from consult.client import verify_chain as reference_verify_chain
from consult.conf import comity_settings
from consult.exceptions import BadInput, NotFound, StaleEpoch
from consult.lib.entries import entry_frame, entry_item
from consult.lib.events import notify_entry
from consult.lib.hub import Hub
from consult.lib.server_key import server_private_key
from consult.models import Entry, Thread
from tests.realtime import Peer, World, make_world, open_thread, rotate


@pytest.fixture
def world() -> World:
    return make_world()


def sealed(peer: Peer, thread_id: str, key: bytes) -> dict[str, Any]:
    return seal_envelope(peer.device, key, thread=thread_id, epoch=1, kind="text", payload=make_payload("Received?"))


def statements(peer: Peer, thread_id: str, envelope: dict[str, Any]) -> list[str]:
    """The first word of each statement one send makes (the test's transaction turns BEGIN into SAVEPOINT)."""
    device = peer.server_device()
    with CaptureQueriesContext(connection) as queries:
        check_send_message(peer.user, device, thread_id, envelope)
    return [query["sql"].split()[0] for query in queries.captured_queries]


def verify_chain(thread_id: str) -> None:
    """The thread's whole record verifies with the reference client (every link and signature)."""
    items = [entry_item(e) for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
    reference_verify_chain(thread_id, items, server_private_key().public_key())


def append_elsewhere(thread_id: str) -> Entry:
    """An entry appended as another worker would: this process learns nothing of the new head."""
    with transaction.atomic():
        return do_append_entry(locked_thread(thread_id), "receipt", {"note": "elsewhere"}, user=None, device=None)


def locked_path(*writes: str) -> list[str]:
    return ["SAVEPOINT", "SELECT", *writes, "RELEASE"]


ON_POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement append is PostgreSQL's")


@pytest.mark.django_db
def test_send__one_query_reads_all_before_the_writes(world: World) -> None:
    # Lock, membership, earlier copy, the case's parties and the default
    # handling: one SELECT. A new round trip here costs every message.
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    assert statements(world.fr, thread_id, envelope) == locked_path("INSERT", "UPDATE", "INSERT")


@pytest.mark.django_db
def test_send__on_a_known_head_is_one_statement_on_postgresql(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    first = check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key))
    expected = ["WITH"] if connection.vendor == "postgresql" else locked_path("INSERT", "UPDATE", "INSERT")
    assert statements(world.fr, thread_id, sealed(world.fr, thread_id, key)) == expected
    entries = list(Entry.objects.filter(thread_id=thread_id, seq__gte=first.seq).order_by("seq"))
    assert [e.seq for e in entries] == [first.seq, first.seq + 1]
    thread = Thread.objects.get(pk=thread_id)
    assert (thread.head_seq, bytes(thread.head_hash)) == (entries[-1].seq, bytes(entries[-1].hash))
    verify_chain(thread_id)


@pytest.mark.django_db
def test_send__a_retry_reads_the_first_copy_and_writes_nothing(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, envelope)
    before = Entry.objects.count()
    tried = ["WITH"] if connection.vendor == "postgresql" else []  # the one statement matches nothing
    assert statements(world.fr, thread_id, envelope) == [*tried, *locked_path("SELECT")]
    assert Entry.objects.count() == before


@ON_POSTGRESQL
@pytest.mark.django_db
def test_send__a_head_moved_elsewhere_sends_the_message_through_the_lock(world: World) -> None:
    # Another worker appended (here: a receipt written without this process's
    # knowledge of the head); the one statement matches nothing and the
    # locked path appends after the real head.
    thread_id, key = open_thread(world.fr, world.case)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key))
    append_elsewhere(thread_id)
    assert statements(world.fr, thread_id, sealed(world.fr, thread_id, key)) == [
        "WITH",
        *locked_path("INSERT", "UPDATE", "INSERT"),
    ]
    verify_chain(thread_id)


@ON_POSTGRESQL
@pytest.mark.django_db
def test_send__after_another_workers_entry_announced_by_the_hub_is_one_statement(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key))
    elsewhere = append_elsewhere(thread_id)
    Hub()._dispatch(notify_entry(thread_id, elsewhere.seq, bytes(elsewhere.hash), entry_frame(elsewhere)))
    assert statements(world.fr, thread_id, sealed(world.fr, thread_id, key)) == ["WITH"]
    verify_chain(thread_id)


@ON_POSTGRESQL
@pytest.mark.django_db
@pytest.mark.parametrize("change", ["left", "epoch_closed", "epoch_full"])
def test_send__on_a_known_head_makes_every_check_of_the_locked_path(world: World, change: str) -> None:
    # Changes made behind the head's back (no entry appended): the one
    # statement must still refuse, and the locked path gives the error.
    thread_id, key = open_thread(world.fr, world.case)
    device = world.fr.server_device()
    check_send_message(world.fr.user, device, thread_id, sealed(world.fr, thread_id, key))
    thread = Thread.objects.filter(pk=thread_id)
    if change == "left":
        thread.get().memberships.update(ended_at=timezone.now())
    elif change == "epoch_closed":
        thread.update(min_epoch=2)
    else:
        thread.update(epoch_messages=comity_settings.COMITY_EPOCH_MAX_MESSAGES)
    before = Entry.objects.count()
    with pytest.raises(NotFound if change == "left" else StaleEpoch):
        check_send_message(world.fr.user, device, thread_id, sealed(world.fr, thread_id, key))
    assert Entry.objects.count() == before


@ON_POSTGRESQL
@pytest.mark.django_db
@pytest.mark.parametrize("who", ["officer", "liaison"])
@pytest.mark.parametrize("handling", [None, "no_onward_transmission"])
def test_send__the_one_statement_records_the_item_the_locked_path_records(
    world: World, who: str, handling: str | None
) -> None:
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
    device = peer.server_device()
    meta = {"handling": handling} if handling else {}

    def send() -> Item:
        envelope = seal_envelope(
            peer.device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload("x"), meta=meta
        )
        return Item.objects.get(thread_id=thread_id, seq=check_send_message(peer.user, device, thread_id, envelope).seq)

    locked, fast = send(), send()
    fields = ["case_id", "kind", "sender_id", "sender_authority_id", "side", "handling", "handling_inherited", "month"]
    assert [getattr(fast, f) for f in fields] == [getattr(locked, f) for f in fields]
    assert (fast.seq, fast.entry.seq, fast.at) == (locked.seq + 1, locked.seq + 1, fast.entry.at)


@pytest.mark.django_db
def test_send__the_item_gets_the_side_and_the_default_handling_read_with_the_lock(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    check_set_thread_handling(world.fr.user, Thread.objects.get(pk=thread_id), "information_only")
    seq = check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key)).seq
    item = Item.objects.get(thread_id=thread_id, seq=seq)
    assert (item.case_id, item.side, item.handling, item.handling_inherited) == (
        world.case.pk, "requesting", "information_only", True,
    )  # fmt: skip


@pytest.mark.django_db
def test_send__a_member_who_left_gets_not_found_and_nothing_is_stored(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    Thread.objects.get(pk=thread_id).memberships.update(ended_at=timezone.now())
    before = Entry.objects.count()
    with pytest.raises(NotFound):
        check_send_message(world.fr.user, world.fr.server_device(), thread_id, envelope)
    assert Entry.objects.count() == before


def wait_for_a_lock_wait() -> None:
    """Return once some transaction waits for a lock (``pg_locks`` is read afresh each time)."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the second send never waited for the thread's lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_send__copy_stored_while_a_retry_waits_for_the_lock_gets_the_same_ack(world: World) -> None:
    # The retry's locking query starts before the first copy commits, so the
    # snapshot it reads "is there a copy?" in cannot see it.
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    device = world.fr.server_device()

    def retry() -> Ack:
        try:
            return check_send_message(world.fr.user, device, thread_id, envelope)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            locked_thread(thread_id)
            later = pool.submit(retry)
            wait_for_a_lock_wait()
            first = check_send_message(world.fr.user, device, thread_id, envelope)
        assert later.result(timeout=10) == first
    client_id = uuid.UUID(envelope["header"]["client_id"])
    assert Entry.objects.filter(thread_id=thread_id, client_id=client_id).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_send__a_rolled_back_send_leaves_the_prepared_send_path_working(world: World) -> None:
    # An answer to a clarification that does not exist fails after its entry
    # is written. psycopg drops a connection's prepared statements on every
    # rollback (PostgreSQL may have to plan them afresh): the next sends must
    # still be accepted, in order, and prepare the one-statement append again.
    thread_id, key = open_thread(world.fr, world.case)
    device = world.fr.server_device()

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()]

    def send() -> int:
        return check_send_message(world.fr.user, device, thread_id, sealed(world.fr, thread_id, key)).seq

    def append_is_prepared() -> bool:
        return any("WITH head AS" in statement for statement in prepared())

    first = [send() for _ in range(5)]  # the lock, then four on the known head: prepared on the third
    assert append_is_prepared()
    stray_answer = seal_envelope(
        world.fr.device, key, thread=thread_id, epoch=1, kind="answer", payload=make_payload("As asked."),
        meta={"clarification": 999},
    )  # fmt: skip
    with pytest.raises(BadInput):
        check_send_message(world.fr.user, device, thread_id, stray_answer)
    assert prepared() == []
    after = [send() for _ in range(4)]
    assert first + after == list(range(first[0], first[0] + 9))
    assert append_is_prepared()
    verify_chain(thread_id)
