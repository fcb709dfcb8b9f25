"""Accepting a message under the thread's lock: its round trips, and retries racing for the lock (DESIGN §4, §5).

A socket's send on a known head skips the lock: test_messages_known_head.py.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.actions.assurances import check_set_thread_handling
from cases.models import Item
from consult.actions.messages import Ack, check_send_message
from consult.actions.threads import locked_thread
from consult.client import make_payload, seal_envelope
from consult.exceptions import BadInput, NotFound
from consult.models import Entry, Thread
from tests.consult.actions.sending import sealed, verify_chain
from tests.realtime import Peer, World, make_world, open_thread


@pytest.fixture
def world() -> World:
    return make_world()


def statements(peer: Peer, thread_id: str, envelope: dict[str, Any]) -> list[str]:
    """The first word of each statement one send makes (the test's transaction turns BEGIN into SAVEPOINT)."""
    device = peer.server_device()
    with CaptureQueriesContext(connection) as queries:
        check_send_message(peer.user, device, thread_id, envelope)
    return [query["sql"].split()[0] for query in queries.captured_queries]


def locked_path(*writes: str) -> list[str]:
    return ["SAVEPOINT", "SELECT", *writes, "RELEASE"]


@pytest.mark.django_db
def test_send__one_query_reads_all_before_the_writes(world: World) -> None:
    # Lock, membership, earlier copy, the case's parties and the default
    # handling: one SELECT. A new round trip here costs every message.
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    assert statements(world.fr, thread_id, envelope) == locked_path("INSERT", "UPDATE", "INSERT")


@pytest.mark.django_db
def test_send__a_retry_reads_the_first_copy_and_writes_nothing(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    envelope = sealed(world.fr, thread_id, key)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, envelope)
    before = Entry.objects.count()
    assert statements(world.fr, thread_id, envelope) == locked_path("SELECT")
    assert Entry.objects.count() == before


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
    # still be accepted, in order, and prepare the locking query again.
    thread_id, key = open_thread(world.fr, world.case)
    device = world.fr.server_device()

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()]

    def send() -> int:
        return check_send_message(world.fr.user, device, thread_id, sealed(world.fr, thread_id, key)).seq

    def lock_is_prepared() -> bool:
        return any("FOR UPDATE OF thread" in statement for statement in prepared())

    first = [send() for _ in range(5)]  # prepared on the third
    assert lock_is_prepared()
    stray_answer = seal_envelope(
        world.fr.device, key, thread=thread_id, epoch=1, kind="answer", payload=make_payload("As asked."),
        meta={"clarification": 999},
    )  # fmt: skip
    with pytest.raises(BadInput):
        check_send_message(world.fr.user, device, thread_id, stray_answer)
    assert prepared() == []
    after = [send() for _ in range(4)]
    assert first + after == list(range(first[0], first[0] + 9))
    assert lock_is_prepared()
    verify_chain(thread_id)
