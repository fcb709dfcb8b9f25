"""The heads a worker has seen (consult.lib.heads), and how the hub keeps them current."""

import asyncio
import gc
import uuid

from consult.lib import heads
from consult.lib.events import notify_entry
from consult.lib.hub import Hub


def test_take__gives_the_newest_head_once() -> None:
    thread = str(uuid.uuid4())
    heads.remember(thread, 7, b"\x07" * 32)
    heads.remember(thread, 9, b"\x09" * 32)
    heads.remember(thread, 8, b"\x08" * 32)  # a late event for an older entry changes nothing
    assert heads.take(thread) == (9, b"\x09" * 32)
    assert heads.take(thread) is None


def test_remember__forgets_the_least_recently_written_beyond_the_limit() -> None:
    threads = [str(uuid.uuid4()) for _ in range(heads.MAX_THREADS + 1)]
    for thread in threads:
        heads.remember(thread, 1, b"\x01" * 32)
    assert heads.take(threads[0]) is None
    assert heads.take(threads[-1]) == (1, b"\x01" * 32)


def test_hub__an_entry_event_tells_the_next_send_where_the_head_is() -> None:
    # Entries appended on another worker reach this one as hub events.
    thread = str(uuid.uuid4())
    Hub()._dispatch(notify_entry(thread, 12, b"\x0c" * 32, '{"type":"entry"}'))
    assert heads.take(thread) == (12, b"\x0c" * 32)


def test_hub__an_event_without_a_hash_is_still_delivered() -> None:
    # Events published by a worker of the previous release carry no hash.
    thread, delivered = str(uuid.uuid4()), []

    class Socket:
        user_id, device_id = "u", "d"

        def on_entry(self, thread: str, seq: int, frame: str) -> None:
            delivered.append(seq)

    hub = Hub()
    hub.threads[thread].add(Socket())  # type: ignore[arg-type]
    event = notify_entry(thread, 3, b"\x03" * 32, "{}")
    del event["hash"]
    hub._dispatch(event)
    assert delivered == [3] and heads.take(thread) is None


async def test_turn__one_lock_per_thread_in_a_loop_forgotten_when_unused() -> None:
    thread, other = str(uuid.uuid4()), str(uuid.uuid4())
    lock = heads.turn(thread)
    assert heads.turn(thread) is lock and heads.turn(other) is not lock
    key = (asyncio.get_running_loop(), thread)
    del lock
    gc.collect()
    assert key not in heads._turns
