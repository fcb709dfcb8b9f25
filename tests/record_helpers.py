"""Building real threads with messages, files, members and receipts, and exporting them."""

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import RequestFactory
from django.utils import timezone

from consult.actions.exports import check_export
from consult.actions.messages import check_acknowledgement, check_send_message
from consult.actions.threads import check_membership_change
from consult.client import build_acknowledgement, build_membership_change, make_payload, seal_envelope
from consult.client.record import build_bundle
from consult.lib.crypto import b64u, unb64u
from consult.lib.protocol import encrypt_file
from consult.models import Thread
from consult.models.blobs import Blob
from tests.helpers import add_totp, totp_now
from tests.realtime import Peer, World, open_thread, rotate


@dataclass
class Story:
    thread_id: str
    plaintexts: list[str]
    files: dict[str, bytes]  # name -> plaintext
    blobs: dict[str, bytes]  # blob id -> ciphertext


def _store_blob(peer: Peer, thread_id: str, ciphertext: bytes) -> str:
    """Store a ciphertext blob as the upload API does (file named by id, SHA-256 recorded)."""
    import hashlib

    from consult.actions.blobs import blob_path

    blob = Blob.objects.create(
        thread_id=thread_id, uploaded_by=peer.user, size=len(ciphertext),
        sha256=b64u(hashlib.sha256(ciphertext).digest()),
    )  # fmt: skip
    path = blob_path(blob.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ciphertext)
    return str(blob.pk)


def say(peer: Peer, thread_id: str, key: bytes, text: str, kind: str = "text", meta: Any = None, **payload: Any) -> int:
    epoch = Thread.objects.get(pk=thread_id).epoch
    envelope = seal_envelope(
        peer.device, key, thread=thread_id, epoch=epoch, kind=kind,  # type: ignore[arg-type]
        payload=make_payload(text, **payload), meta=meta,
    )  # fmt: skip
    return check_send_message(peer.user, peer.server_device(), thread_id, envelope).seq


def change(actor: Peer, thread_id: str, action: str, target: Peer, expires: str | None = None) -> int:
    signed = build_membership_change(
        actor.device, thread=thread_id, action=action, user=str(target.user.pk), expires=expires
    )  # type: ignore[arg-type]
    return check_membership_change(actor.user, actor.server_device(), thread_id, signed).seq


def attach(peer: Peer, thread_id: str, name: str, content: bytes) -> tuple[dict[str, Any], str, bytes]:
    key = os.urandom(32)
    blob = encrypt_file(key, content)
    blob_id = _store_blob(peer, thread_id, blob)
    import hashlib

    return (
        {
            "blob": blob_id,
            "name": name,
            "mime": "application/pdf",
            "size": len(content),
            "key": b64u(key),
            "sha256": b64u(hashlib.sha256(blob).digest()),
        },
        blob_id,
        blob,
    )


def full_story(world: World) -> Story:
    """Messages, an edit, a clarification and answer, an assurance, two files, a liaison who
    joined and left, key rotations and an acknowledgement."""
    thread_id, _ = open_thread(world.fr, world.case)
    change(world.fr, thread_id, "add", world.de)
    key = rotate(world.fr, thread_id)
    texts = ["Does the offence carry **at least one year**?", "Yes: article 7, up to *three years*."]
    first = say(world.fr, thread_id, key, texts[0])
    say(world.de, thread_id, key, texts[1], reply_to=first)
    texts.append("Correction: up to **five** years.")
    say(world.de, thread_id, key, texts[2], edits=first + 1)
    files, blobs = {}, {}
    for name, size in (("warrant.pdf", 70_000), ("translation.pdf", 1024 * 1024 + 5)):
        content = os.urandom(size)
        ref, blob_id, blob = attach(world.fr, thread_id, name, content)
        files[name], blobs[blob_id] = content, blob
        texts.append(f"Attached {name}")
        say(world.fr, thread_id, key, texts[-1], kind="document", meta={"doc_type": "warrant"}, files=[ref])
    expires = (timezone.now() + timedelta(days=3)).isoformat()
    change(world.fr, thread_id, "add", world.liaison, expires=expires)
    key = rotate(world.fr, thread_id)
    texts.append("Liaison: the hearing is on Monday.")
    say(world.liaison, thread_id, key, texts[-1])
    change(world.liaison, thread_id, "leave", world.liaison)
    key = rotate(world.de, thread_id)
    texts.append("Please confirm receipt.")
    head = say(world.fr, thread_id, key, texts[-1])
    entry_hash = Thread.objects.get(pk=thread_id).head_hash
    receipt = build_acknowledgement(world.de.device, thread=thread_id, seq=head, hash_=bytes(entry_hash))
    check_acknowledgement(world.de.user, world.de.server_device(), thread_id, receipt)
    return Story(thread_id, texts, files, blobs)


def export_data(world: World, supervisor: Peer, story: Story) -> dict[str, Any]:
    """Export through the API's action (fresh OTP): the record's raw material, ending with the export entry."""
    device = add_totp(supervisor.user)
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    return check_export(request, supervisor.user, story.thread_id, totp_now(device))


def build(world: World, supervisor: Peer, data: dict[str, Any], blobs: dict[str, bytes], *, plaintext: bool) -> bytes:
    """The ZIP ``supervisor``'s browser would make from ``data``: readable with the records key, or not."""
    authority = supervisor.user.authority
    assert authority is not None
    records = world.records[authority.code] if plaintext else None
    return build_bundle(data, exporter=supervisor.device, exporter_authority=authority.code,
                        blobs=blobs, records_key=records)  # fmt: skip


def export(world: World, supervisor: Peer, story: Story, *, plaintext: bool = True) -> bytes:
    """Export through the API's action (fresh OTP) and build the ZIP as the browser does."""
    return build(world, supervisor, export_data(world, supervisor, story), story.blobs, plaintext=plaintext)


__all__ = ["Story", "build", "export", "export_data", "full_story", "unb64u"]
