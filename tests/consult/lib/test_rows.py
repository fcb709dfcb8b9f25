"""The send path's row writer stores and reads exactly what the ORM would (consult.lib.rows)."""

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from cases.models import Item
from consult.lib.rows import from_row, insert_row, select_columns, update_row
from consult.models import Entry, Thread
from tests.realtime import World, make_world, open_thread


@pytest.fixture
def world() -> World:
    return make_world()


def entry_fields(thread: Thread, seq: int, **changes: Any) -> dict[str, Any]:
    fields = {
        "thread": thread, "seq": seq, "at": dt.datetime(2026, 11, 22, 10, 0, 5, 123000, tzinfo=dt.UTC),
        "kind": "message", "actor_user": None, "actor_device": "dev-1", "epoch": 3, "client_id": None,
        "canonical": '{"kind":"message"}', "digest": b"\x01" * 32, "hash": b"\x02" * 32, "server_sig": b"\x03" * 64,
    }  # fmt: skip
    return {**fields, **changes}


def stored(model: type[Entry] | type[Item] | type[Thread], pk: Any, *leave_out: str) -> dict[str, Any]:
    values = model_to_dict(model.objects.get(pk=pk))
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in values.items() if k not in {"id", *leave_out}}


@pytest.mark.django_db
@pytest.mark.parametrize("filled", [False, True])
def test_insert_row__stores_what_create_stores(world: World, filled: bool) -> None:
    thread = Thread.objects.get(pk=open_thread(world.fr, world.case)[0])
    ours_client, theirs_client = (uuid.uuid4(), uuid.uuid4()) if filled else (None, None)
    user = world.fr.user if filled else None
    ours = insert_row(Entry(**entry_fields(thread, 100, actor_user=user, client_id=ours_client)))
    theirs = Entry.objects.create(**entry_fields(thread, 101, actor_user=user, client_id=theirs_client))

    assert isinstance(ours.pk, int) and ours.pk != theirs.pk
    assert not ours._state.adding and ours._state.db == "default"
    assert stored(Entry, ours.pk, "seq", "client_id") == stored(Entry, theirs.pk, "seq", "client_id")
    assert Entry.objects.get(pk=ours.pk).client_id == ours_client


@pytest.mark.django_db
def test_insert_row__fills_defaults_and_automatic_dates_as_save_does(world: World) -> None:
    before = dt.datetime.now(dt.UTC)
    thread = insert_row(Thread(case=world.case, subject="Dual criminality", history="shared", created_by=world.fr.user))
    row = Thread.objects.get(pk=thread.pk)  # the primary key is the model's default, a UUID chosen here
    assert (row.head_seq, row.min_epoch, row.epoch, row.subject) == (0, 1, 0, "Dual criminality")
    assert before <= row.created_at <= dt.datetime.now(dt.UTC)


@pytest.mark.django_db
def test_update_row__writes_only_the_named_fields(world: World) -> None:
    thread = Thread.objects.get(pk=open_thread(world.fr, world.case)[0])
    thread.head_seq, thread.head_hash, thread.subject = 41, b"\x07" * 32, "changed only in memory"
    update_row(thread, ("head_seq", "head_hash"))
    row = Thread.objects.get(pk=thread.pk)
    assert (row.head_seq, bytes(row.head_hash)) == (41, b"\x07" * 32)
    assert row.subject != "changed only in memory"


@pytest.mark.django_db
def test_from_row__reads_the_instance_the_orm_reads_and_hands_back_the_rest(world: World) -> None:
    thread_id = open_thread(world.fr, world.case)[0]
    columns = select_columns(Thread, "t", connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}, 7, 'x' FROM consult_thread AS t")  # noqa: S608 - column names only
        row = cursor.fetchone()
    thread, rest = from_row(Thread, row, connection.alias)
    assert rest == (7, "x")
    assert model_to_dict(thread) == model_to_dict(Thread.objects.get(pk=thread_id))
    assert isinstance(thread.pk, uuid.UUID) and isinstance(thread.created_at, dt.datetime)


@pytest.mark.django_db
def test_statement_cursor__prepares_the_send_path_statements_on_postgresql(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    thread = Thread.objects.get(pk=open_thread(world.fr, world.case)[0])
    for seq in range(200, 205):
        insert_row(Entry(**entry_fields(thread, seq)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any(statement.startswith('INSERT INTO "consult_entry"') for statement in prepared)
