"""``record open``: several records keys, and what a member can send that must not stop it (DESIGN §5)."""

import io
import os
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command

from consult.actions.messages import check_send_message
from consult.client import RecordsKey, make_payload, seal_envelope
from consult.models import Thread
from tests.realtime import World, make_records_key, make_world, open_thread, rotate
from tests.record_helpers import Story, attach, build, export_data, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def _pem(key: RecordsKey, path: Path) -> Path:
    path.write_bytes(
        key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def _sealed_export(world: World, thread_id: str, blobs: dict[str, bytes], path: Path) -> Path:
    """A ciphertext-only bundle exported by the French supervisor, written to ``path``."""
    story = Story(thread_id, [], {}, blobs)
    path.write_bytes(build(world, world.fr_supervisor, export_data(world, world.fr_supervisor, story), blobs,
                           plaintext=False))  # fmt: skip
    return path


def _open(source: Path, out: Path, *keys: Path) -> str:
    """Run ``record open`` with each key; return what it warned about."""
    warnings = io.StringIO()
    arguments = [a for key in keys for a in ("--key", str(key))]
    call_command("record", "open", str(source), *arguments, "--out", str(out), stdout=io.StringIO(), stderr=warnings)
    return warnings.getvalue()


def test_record_open__with_the_retired_and_the_current_key_opens_every_epoch(world: World, tmp_path: Path) -> None:
    """After a records-key rotation, the packages before it are wrapped to the retired key."""
    retired = world.records["FR-MJ"]
    thread_id, key = open_thread(world.fr, world.case)
    say(world.fr, thread_id, key, "Written under the retired records key.")
    current = make_records_key(world.fr_supervisor)
    key = rotate(world.fr, thread_id)
    say(world.fr, thread_id, key, "Written under the current records key.")
    source = _sealed_export(world, thread_id, {}, tmp_path / "record.zip")

    warnings = _open(
        source, tmp_path / "both", _pem(retired, tmp_path / "old.pem"), _pem(current, tmp_path / "new.pem")
    )
    html = (tmp_path / "both" / "record.html").read_text()
    assert "retired records key" in html and "current records key" in html
    assert warnings == ""

    warnings = _open(source, tmp_path / "current", tmp_path / "new.pem")
    html = (tmp_path / "current" / "record.html").read_text()
    assert "current records key" in html and "retired records key" not in html
    assert "entry 2: none of the records keys given opens the keys of epoch 1" in warnings
    assert "entry 3: no records key opened epoch 1; left encrypted" in warnings


def test_record_open__hostile_content_is_named_and_the_rest_rendered(world: World, tmp_path: Path) -> None:
    """A member's client can put anything in a payload: odd names, odd numbers, blobs that are not there."""
    thread_id, key = open_thread(world.fr, world.case)
    blobs: dict[str, bytes] = {}
    seqs: dict[str, int] = {}

    def attached(name: str, **changes: object) -> dict[str, object]:
        ref, blob_id, blob = attach(world.fr, thread_id, name, os.urandom(100))
        blobs[blob_id] = blob
        return {**ref, **changes}

    seqs["dots"] = say(world.fr, thread_id, key, "Named dot dot.", files=[attached(".."), attached(".")])
    seqs["climb"] = say(world.fr, thread_id, key, "Climbing.", files=[attached("../../escape.txt")])
    seqs["reply"] = say(world.fr, thread_id, key, "Replying to seven.", reply_to="seven")
    seqs["edits"] = say(world.fr, thread_id, key, "Editing an object.", edits={"seq": 1})
    seqs["unknown"] = say(
        world.fr, thread_id, key, "A blob nobody has.", files=[attached("a.pdf", blob=str(uuid.uuid4()))]
    )
    seqs["path blob"] = say(world.fr, thread_id, key, "A path for a blob.", files=[attached("b.pdf", blob="../../etc")])
    seqs["size"] = say(world.fr, thread_id, key, "A size in words.", files=[attached("c.pdf", size="big")])
    seqs["key"] = say(world.fr, thread_id, key, "A wrong file key.", files=[attached("d.pdf", key="AAAA")])
    seqs["text"] = say(world.fr, thread_id, key, 42)  # type: ignore[arg-type]
    odd = seal_envelope(world.fr.device, key, thread=thread_id, epoch=Thread.objects.get(pk=thread_id).epoch,
                        kind="text", payload={**make_payload("Files as text."), "files": "warrant.pdf"})  # fmt: skip
    seqs["not a list"] = check_send_message(world.fr.user, world.fr.server_device(), thread_id, odd).seq
    say(world.fr, thread_id, key, "Everything after still shows.")
    source = _sealed_export(world, thread_id, blobs, tmp_path / "record.zip")
    out = tmp_path / "open"

    warnings = _open(source, out, _pem(world.records["FR-MJ"], tmp_path / "records.pem"))

    html = (out / "record.html").read_text()
    for text in ("Named dot dot.", "Replying to seven.", "Editing an object.", "A blob nobody has.", "42",
                 "Everything after still shows.", "Files as text."):  # fmt: skip
        assert text in html, text
    assert (out / "record.pdf").read_bytes().startswith(b"%PDF")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.startswith("open/") or p in ("record.zip", "records.pem") for p in written), written
    names = sorted(p.name for p in (out / "files").rglob("*") if p.is_file())
    assert names == sorted(["file", "file", "_.._escape.txt", "c.pdf"]), names
    for what, seq in seqs.items():
        assert (f"entry {seq}: " in warnings) == (what not in ("dots", "climb", "size")), (what, warnings)
    assert "'seven'" in warnings and "../../etc" in warnings
