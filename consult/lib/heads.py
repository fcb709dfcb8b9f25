"""The thread heads this worker process has seen: guesses for the one-statement append.

Each entry is a thread's latest (seq, chain hash) as this process last wrote
it, read it under the thread's lock or in a subscriber's catch-up, or heard
of it from the hub (entries appended by other workers). It is never trusted:
the append statement moves the head only if it is still exactly this one
(consult.actions.messages).
A send takes its thread's guess, so two sends of one thread in one process
(on different event loops, as in tests) do not both try it; the loser goes
through the lock.

A worker's sends of one thread also take turns (:func:`turn`): each starts
once the one before it has moved the head, from the head it left. Without
turns, a thread's second concurrent send found the guess taken and queued
for the row lock in the database pool, and so did every send after it while
several members wrote at once.
"""

import asyncio
import threading
import weakref
from collections import OrderedDict

MAX_THREADS = 10_000  # a few hundred kilobytes; the least recently written are forgotten

_heads: "OrderedDict[str, tuple[int, bytes]]" = OrderedDict()
_lock = threading.Lock()  # the hub (event loop) and the database pool threads share it


def remember(thread_id: str, seq: int, chain_hash: bytes) -> None:
    """Note that ``thread_id``'s head reached ``seq`` (an older seq than the one known is ignored)."""
    with _lock:
        known = _heads.get(thread_id)
        if known is not None and known[0] > seq:
            return
        _heads[thread_id] = (seq, chain_hash)
        _heads.move_to_end(thread_id)
        while len(_heads) > MAX_THREADS:
            _heads.popitem(last=False)


def take(thread_id: str) -> tuple[int, bytes] | None:
    """The known head of ``thread_id``, forgotten until someone remembers it again."""
    with _lock:
        return _heads.pop(thread_id, None)


# Held only while a send holds or awaits it: a thread nobody writes to costs nothing.
_turns: "weakref.WeakValueDictionary[tuple[asyncio.AbstractEventLoop, str], asyncio.Lock]" = (
    weakref.WeakValueDictionary()
)


def turn(thread_id: str) -> asyncio.Lock:
    """The running event loop's lock for appending to ``thread_id``, taken around the whole append."""
    key = (asyncio.get_running_loop(), thread_id)
    lock = _turns.get(key)
    if lock is None:
        lock = _turns[key] = asyncio.Lock()
    return lock
