"""What the message tests share: a sealed text, the reference client's chain check, an entry from elsewhere."""

from typing import Any

from django.db import transaction

from consult.actions.records import do_append_entry
from consult.actions.threads import locked_thread
from consult.client import make_payload, seal_envelope
from consult.client import verify_chain as reference_verify_chain
from consult.lib.entries import entry_item
from consult.lib.server_key import server_private_key
from consult.models import Entry
from tests.realtime import Peer


def sealed(peer: Peer, thread_id: str, key: bytes, epoch: int = 1) -> dict[str, Any]:
    """A text message under ``epoch``, the thread's first unless told."""
    return seal_envelope(
        peer.device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload("Received?")
    )


def verify_chain(thread_id: str) -> None:
    """The thread's whole record verifies with the reference client (every link and signature)."""
    items = [entry_item(e) for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
    reference_verify_chain(thread_id, items, server_private_key().public_key())


def append_elsewhere(thread_id: str) -> Entry:
    """An entry appended as another worker would: this process learns nothing of the new head."""
    with transaction.atomic():
        return do_append_entry(locked_thread(thread_id), "receipt", {"note": "elsewhere"}, user=None, device=None)
